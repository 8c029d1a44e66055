import * as THREE from 'three';
import { OrbitControls } from './vendor/OrbitControls.js';

const $ = (id) => document.getElementById(id);
// URLs are relative to the page, so it works under the path prefix a proxy serves it at (X-Forwarded-Prefix).
let current = null; // { file, id, depth: Float32Array, width, height, kind, inverse, focal, outputs: { format: link } }
let depthPicture = null; // the server's colour picture of the current result
let box = null; // the region being measured, in depth pixels: { x, y, w, h }
let known = []; // calibration points: { x, y, metres }

fetch('api/model').then((r) => r.json()).then((m) => {
  $('model').textContent = `model: ${m.name} (${m.model_type})`;
  // The prompt picker is shown only for a model that takes a prompt depth (Prompt Depth Anything).
  $('prompt-row').hidden = !m.takes_prompt_depth;
});

// The depth picture is the server's own (/api/results/{id}/color): coloured by the library's policy for the model's
// family and depth kind, exactly as the command line colours it.
async function drawDepth() {
  if (!current) return;
  const { id, width, height } = current;
  const response = await fetch(`api/results/${id}/color?colormap=${$('colormap').value}`);
  if (!response.ok) { $('status').textContent = `error ${response.status}: ${(await response.json()).error}`; return; }
  depthPicture = await createImageBitmap(await response.blob());
  const canvas = $('depth');
  canvas.width = width; canvas.height = height;
  drawMarks();
}

// The depth picture with the calibration points and the measured box drawn over it.
function drawMarks() {
  const ctx = $('depth').getContext('2d');
  ctx.drawImage(depthPicture, 0, 0);
  const line = Math.max(1, current.width / 300);
  ctx.lineWidth = line;
  ctx.strokeStyle = '#fff';
  for (const p of known) { ctx.beginPath(); ctx.arc(p.x + 0.5, p.y + 0.5, 3 * line, 0, 2 * Math.PI); ctx.stroke(); }
  if (box) { ctx.strokeStyle = '#0f0'; ctx.strokeRect(box.x, box.y, box.w, box.h); }
}

const unit = () => (current.kind === 'metric' ? ' m' : ' (relative)');
const fmt = (v) => v.toFixed(current.kind === 'metric' ? 2 : 4);

// Region statistics are the library's (GET /api/results/{id}/regions), in the result's units.
async function measure() {
  if (!box) return;
  const response = await fetch(`api/results/${current.id}/regions?region=${box.x},${box.y},${box.w},${box.h}`);
  const answer = await response.json();
  if (!response.ok) { $('region').textContent = `region: ${answer.error}`; return; }
  const s = answer.regions[0];
  $('region').textContent = `box ${box.x},${box.y} ${box.w}×${box.h}: median ${fmt(s.median)}${unit()} · min ${fmt(s.min)} · mean ${fmt(s.mean)} · 10th–90th percentile ${fmt(s.p10)}–${fmt(s.p90)}`;
}

// Calibration is the library's too: POST /api/results/{id}/calibrate gives a new, metric result.
async function calibrate() {
  const query = known.map((p) => `known=${p.x},${p.y}=${p.metres}`).join('&');
  const response = await fetch(`api/results/${current.id}/calibrate?${query}`, { method: 'POST' });
  const summary = await response.json();
  if (!response.ok) { $('status').textContent = `calibration refused: ${summary.error}`; return; }
  const raw = await fetch(summary.outputs.raw);
  current = {
    ...current, id: summary.id, depth: new Float32Array(await raw.arrayBuffer()), kind: summary.depth_kind, inverse: summary.depth_is_inverse,
    outputs: summary.outputs,
  };
  const fit = summary.calibration;
  showDownloads();
  await drawDepth();
  await measure();
  draw3d(current.photoPixels);
  $('status').textContent = `calibrated: scale ${fit.scale.toPrecision(4)}, shift ${fit.shift.toPrecision(4)}, rms ${fit.rms.toFixed(3)} m over ${fit.points.length} point(s)`;
}

// The current result's downloads: the outputs the server offers for it (a point cloud only where the library's policy
// gives one, so calibrated depth may add one), in the chosen colour map.
function showDownloads() {
  const stem = current.file.name.replace(/\.[^.]+$/, '');
  $('downloads').replaceChildren(...Object.entries(current.outputs).map(([format, link]) => {
    const a = document.createElement('a');
    a.textContent = format;
    a.href = `${link}?colormap=${$('colormap').value}`;
    a.download = `${stem}.${{ png16: '16bit.png', gray8: 'gray.png', color: 'png', 'side-by-side': 'side.png', raw: 'f32' }[format] ?? format}`;
    return a;
  }));
}

function showPoints() {
  $('points').textContent = known.map((p) => `(${p.x}, ${p.y}) = ${p.metres} m`).join(', ');
  $('calibrate').disabled = known.length === 0;
}

function draw3d(photoPixels) {
  const { depth, width, height, inverse, focal } = current;
  const host = $('view3d');
  host.replaceChildren();
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setSize(host.clientWidth, host.clientHeight);
  renderer.domElement.id = 'canvas3d';
  host.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(60, host.clientWidth / host.clientHeight, 0.01, 1000);
  // Pinhole lift: metric depth in metres through the focal length; relative depth (inverted first if inverse depth) on an arbitrary scale.
  const f = focal || 0.5 * width / Math.tan(Math.PI / 6);
  const step = Math.max(1, Math.round(Math.sqrt(width * height / 150000)));
  const positions = [], colors = [];
  let sum = 0, n = 0;
  for (let v = 0; v < height; v += step) for (let u = 0; u < width; u += step) {
    const raw = depth[v * width + u];
    const z = inverse ? (raw > 0 ? 1 / raw : 0) : raw;
    if (!(z > 0) || !Number.isFinite(z)) continue;
    positions.push((u + 0.5 - width / 2) * z / f, -(v + 0.5 - height / 2) * z / f, -z);
    const p = (v * width + u) * 4;
    colors.push(photoPixels[p] / 255, photoPixels[p + 1] / 255, photoPixels[p + 2] / 255);
    sum += z; n++;
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
  geometry.setAttribute('color', new THREE.Float32BufferAttribute(colors, 3));
  const mean = n ? sum / n : 1;
  scene.add(new THREE.Points(geometry, new THREE.PointsMaterial({ size: mean / f * step * 1.5, vertexColors: true })));
  camera.position.set(0, 0, mean * 0.3);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.set(0, 0, -mean);
  controls.update();
  renderer.setAnimationLoop(() => { controls.update(); renderer.render(scene, camera); });
}

async function estimate(file) {
  $('status').textContent = `estimating ${file.name}…`;
  $('photo').src = URL.createObjectURL(file);
  // With a prompt depth the picture and the prompt go as two multipart parts; without one, the picture is the body.
  const prompt = $('prompt-row').hidden ? null : $('prompt').files[0];
  let body = file;
  if (prompt) {
    body = new FormData();
    body.append('image', file);
    body.append('prompt_depth', prompt);
  }
  const response = await fetch('api/depth', { method: 'POST', body, headers: { Accept: 'application/octet-stream' } });
  if (!response.ok) { $('status').textContent = `error ${response.status}: ${(await response.json()).error}`; return; }
  const h = (name) => response.headers.get(name);
  known = []; box = null; showPoints(); $('region').textContent = '';
  current = {
    file, id: h('X-Result-Id'), depth: new Float32Array(await response.arrayBuffer()),
    width: +h('X-Depth-Width'), height: +h('X-Depth-Height'), kind: h('X-Depth-Kind'), inverse: h('X-Depth-Inverse') === 'true',
    focal: h('X-Focal-Length') ? +h('X-Focal-Length') : null,
  };
  $('fov').textContent = h('X-Field-Of-View') ? `field of view ${(+h('X-Field-Of-View')).toFixed(1)}°` : '';
  $('focal').textContent = current.focal ? `focal length ${current.focal.toFixed(1)} px (${h('X-Focal-Length-Source')})` : '';
  await drawDepth();
  const photo = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scratch = new OffscreenCanvas(current.width, current.height).getContext('2d');
  scratch.drawImage(photo, 0, 0, current.width, current.height);
  current.photoPixels = scratch.getImageData(0, 0, current.width, current.height).data;
  draw3d(current.photoPixels);
  current.outputs = Object.fromEntries(h('X-Depth-Outputs').split(',').map((format) => [format, `api/results/${current.id}/${format}`]));
  showDownloads();
  $('status').textContent = `done: ${current.width}×${current.height}, ${current.kind} depth`;
}

$('file').addEventListener('change', (e) => { if (e.target.files[0]) estimate(e.target.files[0]); });
$('colormap').addEventListener('change', () => { if (current?.outputs) showDownloads(); drawDepth(); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) estimate(e.dataTransfer.files[0]); });
const pixel = (e) => {
  const rect = $('depth').getBoundingClientRect();
  return {
    x: Math.min(current.width - 1, Math.max(0, Math.floor((e.clientX - rect.left) / rect.width * current.width))),
    y: Math.min(current.height - 1, Math.max(0, Math.floor((e.clientY - rect.top) / rect.height * current.height))),
  };
};
let dragFrom = null;
$('depth').addEventListener('mousedown', (e) => { if (current) dragFrom = pixel(e); });
$('depth').addEventListener('mousemove', (e) => {
  if (!current) return;
  const { x, y } = pixel(e);
  const d = current.depth[y * current.width + x];
  $('hover').textContent = current.kind === 'metric' ? `depth ${d.toFixed(3)} m` : `relative ${d.toFixed(4)}`;
  if (dragFrom) {
    box = { x: Math.min(x, dragFrom.x), y: Math.min(y, dragFrom.y), w: Math.abs(x - dragFrom.x) + 1, h: Math.abs(y - dragFrom.y) + 1 };
    drawMarks();
  }
});
// A click places a known distance; a drag measures the box it spans.
window.addEventListener('mouseup', (e) => {
  if (!dragFrom) return;
  const to = pixel(e), from = dragFrom;
  dragFrom = null;
  if (Math.abs(to.x - from.x) < 2 && Math.abs(to.y - from.y) < 2) {
    box = null;
    const metres = parseFloat($('metres').value);
    if (!(metres > 0)) { $('status').textContent = 'type the known distance in metres first, then click where it is true'; drawMarks(); return; }
    known.push({ x: from.x, y: from.y, metres });
    showPoints();
    drawMarks();
    return;
  }
  measure();
});
$('calibrate').addEventListener('click', calibrate);
$('clear').addEventListener('click', () => { known = []; showPoints(); drawMarks(); });
