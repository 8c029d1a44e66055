import * as THREE from 'three';
import { OrbitControls } from '/vendor/OrbitControls.js';

const $ = (id) => document.getElementById(id);
let current = null; // { file, id, depth: Float32Array, width, height, kind, inverse, focal }

fetch('/api/model').then((r) => r.json()).then((m) => {
  $('model').textContent = `model: ${m.name} (${m.model_type})`;
  // The prompt picker is shown only for a model that takes a prompt depth (Prompt Depth Anything).
  $('prompt-row').hidden = !m.takes_prompt_depth;
});

// The depth picture is the server's own (/api/results/{id}/color): coloured by the library's policy for the model's
// family and depth kind, exactly as the command line colours it.
async function drawDepth() {
  if (!current) return;
  const { id, width, height } = current;
  const response = await fetch(`/api/results/${id}/color?colormap=${$('colormap').value}`);
  if (!response.ok) { $('status').textContent = `error ${response.status}: ${(await response.json()).error}`; return; }
  const picture = await createImageBitmap(await response.blob());
  const canvas = $('depth');
  canvas.width = width; canvas.height = height;
  canvas.getContext('2d').drawImage(picture, 0, 0);
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
  const response = await fetch('/api/depth', { method: 'POST', body, headers: { Accept: 'application/octet-stream' } });
  if (!response.ok) { $('status').textContent = `error ${response.status}: ${(await response.json()).error}`; return; }
  const h = (name) => response.headers.get(name);
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
  draw3d(scratch.getImageData(0, 0, current.width, current.height).data);
  // The outputs the server offers for this result (a point cloud only where the library's policy gives one).
  const formats = h('X-Depth-Outputs').split(',');
  const stem = file.name.replace(/\.[^.]+$/, '');
  $('downloads').replaceChildren(...formats.map((format) => {
    const a = document.createElement('a');
    a.textContent = format;
    a.href = `/api/results/${current.id}/${format}?colormap=${$('colormap').value}`;
    a.download = `${stem}.${{ png16: '16bit.png', gray8: 'gray.png', color: 'png', 'side-by-side': 'side.png', raw: 'f32' }[format] ?? format}`;
    return a;
  }));
  $('status').textContent = `done: ${current.width}×${current.height}, ${current.kind} depth`;
}

$('file').addEventListener('change', (e) => { if (e.target.files[0]) estimate(e.target.files[0]); });
$('colormap').addEventListener('change', drawDepth);
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) estimate(e.dataTransfer.files[0]); });
$('depth').addEventListener('mousemove', (e) => {
  if (!current) return;
  const rect = e.target.getBoundingClientRect();
  const u = Math.floor((e.clientX - rect.left) / rect.width * current.width), v = Math.floor((e.clientY - rect.top) / rect.height * current.height);
  const d = current.depth[v * current.width + u];
  $('hover').textContent = current.kind === 'metric' ? `depth ${d.toFixed(3)} m` : `relative ${d.toFixed(4)}`;
});
