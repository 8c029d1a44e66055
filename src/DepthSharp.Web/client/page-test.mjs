// Drives the DepthSharp page in headless Chromium: upload a picture, wait for the depth picture and the 3D view,
// save a screenshot; calibrate from one known distance, check the downloads are then the calibrated result's, and measure
// a dragged box. Usage: node page-test.mjs URL PICTURE SCREENSHOT.png [PROMPT]. With PROMPT (a prompt depth file) the
// page must show its prompt picker and the prompt goes with the picture; without it the picker must stay hidden. Exit 0
// when both rendered and the downloads were right.
import { chromium } from 'playwright-core';

const [url, picture, screenshot, prompt] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
let code = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById('model').textContent.endsWith('…'), null, { timeout: 60000 });
  const promptShown = await page.isVisible('#prompt');
  if (prompt) await page.setInputFiles('#prompt', prompt);
  await page.setInputFiles('#file', picture);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('done'), null, { timeout: 60000 });
  await page.waitForSelector('#canvas3d', { timeout: 30000 });
  // Calibrate from one known distance (a click), then drag a box and read its distance in metres.
  const depthBox = await page.locator('#depth').boundingBox();
  const at = (fx, fy) => [depthBox.x + fx * depthBox.width, depthBox.y + fy * depthBox.height];
  await page.fill('#metres', '2.5');
  await page.mouse.click(...at(0.5, 0.5));
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/calibrate?') && r.request().method() === 'POST', { timeout: 30000 }),
    page.click('#calibrate'),
  ]);
  const calibrated = await answer.json();
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('calibrated'), null, { timeout: 30000 });
  // The downloads are now the calibrated result's outputs, each link its own, and one of them answers.
  const links = await page.evaluate(() => [...document.querySelectorAll('#downloads a')].map((a) => ({ format: a.textContent, href: a.href })));
  const path = (link) => new URL(link, page.url()).pathname;
  const downloads = links.length === Object.keys(calibrated.outputs).length
    && links.every((l) => l.format in calibrated.outputs && path(l.href) === path(calibrated.outputs[l.format]) && path(l.href).includes(`/${calibrated.id}/`));
  const npy = await page.evaluate(async (href) => (href ? (await fetch(href)).status : 0), links.find((l) => l.format === 'npy')?.href);
  await page.mouse.move(...at(0.3, 0.3));
  await page.mouse.down();
  await page.mouse.move(...at(0.5, 0.5), { steps: 5 });
  await page.mouse.move(...at(0.7, 0.75), { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /median [0-9.]+ m/.test(document.getElementById('region').textContent), null, { timeout: 30000 });
  const region = await page.evaluate(() => document.getElementById('region').textContent);
  const status = await page.evaluate(() => document.getElementById('status').textContent);
  await page.waitForTimeout(1500);
  const check = await page.evaluate(() => {
    const lit = (canvas) => {
      const c = document.createElement('canvas');
      c.width = canvas.width; c.height = canvas.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(canvas, 0, 0);
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 30) n++;
      return n;
    };
    return { depth: lit(document.getElementById('depth')), view3d: lit(document.getElementById('canvas3d')) };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...check, region, status, promptShown, errors, downloads, npy, links }));
  code = check.depth > 0 && check.view3d > 0 && errors.length === 0 && promptShown === Boolean(prompt) && downloads && npy === 200 ? 0 : 2;
} finally {
  await browser.close();
}
process.exit(code);
