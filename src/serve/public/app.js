// The page of `kconv serve`. Plain JavaScript, no framework, no bundle: it imports kconv's
// own compiled modules, so the drawing is preprocessed by exactly the code the CLI and the
// server use (dist/image/preprocess.js) and the maps have kconv show's colours
// (dist/show/colors.js). The network runs in the server, the same code as `kconv predict`:
// while you draw, the page sends the 784 pixels to POST /api/predict?maps=1, one request
// at a time, always the newest drawing (latest wins).
import { preprocessImage } from './preprocess.js';
import { diverging, sequential, TILE_FRAME } from './colors.js';
import { initTeach } from './teach.js';

const KANNADA = '೦೧೨೩೪೫೬೭೮೯';
const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true });

/** For tests and the curious: stroke-to-bars latencies (ms), updates shown, the last result. */
const stats = {
  latencies: [], updates: 0, label: null, input: null, maps: null, source: null, uploadError: null,
  idle: () => !uploading && !lane.bars.busy && !lane.maps.busy && lane.bars.shown === version && (lane.maps.shown === sent.version || sent.pixels === null),
};
window.kconv = stats;

// ---- drawing -----------------------------------------------------------------------------

const INK = '#111';
let drawing = false;
let last = null;

function clearPad() {
  reset();
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, pad.width, pad.height);
  showBlank();
  say('Draw with a mouse, a finger or a pen; the prediction follows every stroke.');
}

/** The line under the tools: what is shown, or (in red) why an upload failed. */
function say(text, error = false) {
  $('source').textContent = text;
  $('source').classList.toggle('error', error);
  $('source').classList.toggle('muted', !error);
  stats.uploadError = error ? text : null;
}

function at(e) {
  const r = pad.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * pad.width) / r.width, y: ((e.clientY - r.top) * pad.height) / r.height };
}

function stroke(from, to) {
  const width = Number($('pen').value);
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.beginPath();
  if (from.x === to.x && from.y === to.y) {
    // A dot: canvases draw nothing for a line of length 0, round caps or not.
    ctx.arc(from.x, from.y, width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.lineWidth = width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

pad.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = true;
  last = at(e);
  stroke(last, last);
  changed(e.timeStamp);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const c of events.length ? events : [e]) {
    const p = at(c);
    stroke(last, p);
    last = p;
  }
  changed(e.timeStamp);
});
const stop = () => {
  drawing = false;
};
pad.addEventListener('pointerup', stop);
pad.addEventListener('pointercancel', stop);
$('clear').addEventListener('click', clearPad);

// ---- predicting while drawing ------------------------------------------------------------
//
// Two lanes, each with at most one request in flight and always the newest drawing next
// (latest wins): the bars lane asks for labels and probabilities only (a small, fast
// answer); the maps lane asks for the feature maps (?maps=1, ~50 kB) whenever the bars
// lane is idle, so the maps never hold the bars up. The 28×28 input is the page's own
// preprocessing, drawn at once.

let version = 0; // the drawing changes: version counts them
/** The version of the last Clear or upload: answers for older drawings are dropped. */
let resetAt = 0;
const lane = { bars: { busy: false, shown: 0 }, maps: { busy: false, shown: 0 } };
/** When the oldest change not yet in the bars happened (its event's time). */
let oldest = null;
/** The preprocessed pixels of the newest drawing sent, and its version. */
let sent = { version: 0, pixels: null };

/** A new start (Clear, an upload): nothing in flight may show any more. */
function reset() {
  resetAt = ++version;
  lane.bars.shown = version;
  sent = { version, pixels: null };
  oldest = null;
}

function changed(time) {
  version++;
  if (stats.uploadError) say('Draw with a mouse, a finger or a pen; the prediction follows every stroke.');
  if (oldest === null) oldest = Number.isFinite(time) && time > 0 ? time : performance.now();
  pumpBars();
}

async function pumpBars() {
  const l = lane.bars;
  if (l.busy || l.shown === version) return;
  l.busy = true;
  const v = version;
  const since = oldest;
  oldest = null;
  try {
    const image = ctx.getImageData(0, 0, pad.width, pad.height);
    const pre = preprocessImage({ width: image.width, height: image.height, channels: 4, data: image.data });
    if (!pre.ink) {
      showBlank();
      lane.maps.shown = v;
    } else {
      drawInput(pre.pixels);
      sent = { version: v, pixels: Array.from(pre.pixels) };
      const result = shown(await ask(JSON.stringify({ pixels: sent.pixels }), false));
      if (result && v > resetAt) {
        stats.source = 'drawing';
        stats.input = sent.pixels;
        showPrediction(result, since);
      }
    }
  } finally {
    l.shown = v;
    l.busy = false;
  }
  if (lane.bars.shown !== version) pumpBars();
  else pumpMaps();
}

async function pumpMaps() {
  const l = lane.maps;
  if (l.busy || lane.bars.busy || l.shown === sent.version || sent.pixels === null) return;
  l.busy = true;
  const v = sent.version;
  try {
    const result = shown(await ask(JSON.stringify({ pixels: sent.pixels }), true));
    if (result && v === sent.version && v > resetAt) {
      stats.maps = result.maps;
      drawMaps(result.maps);
    }
  } finally {
    l.shown = v;
    l.busy = false;
  }
  pumpMaps();
}

/**
 * POST /api/predict with JSON, or a form with the uploaded file (the server then names
 * the file in its error); { prediction } or { error }, the server's one line.
 */
async function ask(body, maps) {
  let response;
  try {
    const headers = body instanceof FormData ? {} : { 'content-type': 'application/json' };
    response = await fetch(maps ? '/api/predict?maps=1' : '/api/predict', { method: 'POST', headers, body });
  } catch (error) {
    return { error: `cannot reach kconv serve: ${error.message}` };
  }
  const json = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) return { error: json.error ?? `HTTP ${response.status}` };
  return { prediction: json.predictions[0] };
}

/** A drawing's answer: the prediction, or null after showing the error under the bars. */
function shown(answer) {
  status(answer.error ?? '', answer.error !== undefined);
  return answer.prediction ?? null;
}

// ---- upload ------------------------------------------------------------------------------

let uploading = false;
$('upload').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  uploading = true;
  try {
    await upload(file);
  } finally {
    uploading = false;
  }
});

async function upload(file) {
  reset();
  const since = performance.now();
  // The server decodes and preprocesses the file, as `kconv predict file.png` does.
  const form = new FormData();
  form.append('file', file, file.name);
  const answer = await ask(form, true);
  if (answer.error) {
    // Nothing of the last picture may stay: it would read as this file's answer.
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, pad.width, pad.height);
    showBlank();
    status('');
    stats.source = null;
    const why = answer.error.startsWith(`${file.name}:`) ? answer.error : `${file.name}: ${answer.error}`;
    say(`Upload failed: ${why}`, true);
    return;
  }
  const result = answer.prediction;
  status('');
  stats.source = file.name;
  stats.input = result.input;
  stats.maps = result.maps;
  drawInput(result.input);
  showPrediction(result, since);
  drawMaps(result.maps);
  say(`${file.name}: decoded and preprocessed by the server, as kconv predict does. Draw to start again.`);
  try {
    // Show the picture on the pad, fitted, so that drawing goes on from it.
    const bitmap = await createImageBitmap(file);
    const f = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.drawImage(bitmap, (pad.width - bitmap.width * f) / 2, (pad.height - bitmap.height * f) / 2, bitmap.width * f, bitmap.height * f);
  } catch {
    // The browser cannot show it; the prediction stands.
  }
}

// ---- what each digit looks like: pictures, not a font -------------------------------------
//
// /assets/digit-shapes.png holds the mean of train.csv's images of each digit (made by
// src/serve/make-digit-shapes.mjs), 0…9 left to right, 28×28 each: it shows the shapes
// where no Kannada font is installed. Each is drawn as ink (alpha) on the page, its
// strongest pixel full ink.

const shapeInk = [];
const shapeCanvases = [];

function shapeCanvas(k, className) {
  const c = document.createElement('canvas');
  c.width = c.height = 28;
  c.className = className;
  c.dataset.digit = String(k);
  shapeCanvases.push(c);
  return c;
}

/** Paints digit k's shape in a canvas (k = -1: none), in its CSS colour. */
function paintShape(canvas, k) {
  const c = canvas.getContext('2d');
  c.clearRect(0, 0, 28, 28);
  canvas.dataset.digit = String(k);
  if (k < 0 || !shapeInk[k]) return;
  const [r, g, b] = getComputedStyle(canvas).color.match(/\d+/g).map(Number);
  const img = c.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([r, g, b, shapeInk[k][i]], i * 4);
  c.putImageData(img, 0, 0);
}

async function loadShapes() {
  const picture = new Image();
  picture.src = '/assets/digit-shapes.png';
  await picture.decode();
  const c = document.createElement('canvas');
  c.width = 280;
  c.height = 28;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(picture, 0, 0);
  const strip = g.getImageData(0, 0, 280, 28).data;
  for (let k = 0; k < 10; k++) {
    const ink = new Uint8ClampedArray(784);
    let max = 1;
    for (let i = 0; i < 784; i++) max = Math.max(max, strip[((i / 28 | 0) * 280 + k * 28 + (i % 28)) * 4]);
    for (let i = 0; i < 784; i++) ink[i] = (strip[((i / 28 | 0) * 280 + k * 28 + (i % 28)) * 4] * 255) / max;
    shapeInk.push(ink);
  }
  for (const canvas of shapeCanvases) paintShape(canvas, Number(canvas.dataset.digit));
  paintShape($('label-shape'), stats.label ?? -1);
}

// The header: each digit's shape over its number (and its numeral, where a font has it).
for (let k = 0; k < 10; k++) {
  const item = document.createElement('span');
  item.className = 'shape-item';
  const name = document.createElement('span');
  name.innerHTML = `${k}<span class="kn"> ${KANNADA[k]}</span>`;
  item.append(shapeCanvas(k, 'shape-head'), name);
  $('shapes').append(item);
}

// ---- showing a prediction ----------------------------------------------------------------

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

const bars = $('bars');
const barLabels = document.createElement('div');
barLabels.className = 'bar-labels';
const columns = [];
for (let k = 0; k < 10; k++) {
  const bar = document.createElement('div');
  bar.className = 'bar';
  bar.innerHTML = '<div class="fill"></div><span class="pct"></span>';
  bars.append(bar);
  const label = document.createElement('span');
  label.innerHTML = `${k}<span class="kn">${KANNADA[k]}</span>`;
  label.append(shapeCanvas(k, 'shape-small'));
  barLabels.append(label);
  columns.push({ bar, fill: bar.firstChild, pct: bar.lastChild, label });
}
bars.after(barLabels);

function showBars(probs, label) {
  columns.forEach((c, k) => {
    c.fill.style.height = `${Math.max(1, probs[k] * 134)}px`;
    c.bar.classList.toggle('top', k === label);
    c.label.classList.toggle('top', k === label);
    c.pct.textContent = probs[k] >= 0.005 ? `${Math.round(probs[k] * 100)}%` : '';
  });
  $('label').textContent = String(label);
  $('kannada').textContent = KANNADA[label] ?? '';
  paintShape($('label-shape'), label);
  $('confidence').textContent = `p = ${(probs[label] * 100).toFixed(1)}%`;
}

function showBlank() {
  showBars(new Array(10).fill(0), -1);
  $('label').textContent = '–';
  $('kannada').textContent = '';
  $('confidence').textContent = '';
  drawInput(new Uint8Array(784));
  drawMaps(null);
  stats.label = stats.input = stats.maps = null;
}

function drawInput(pixels) {
  const c = $('input28').getContext('2d');
  const img = c.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], i * 4);
  c.putImageData(img, 0, 0);
}

function showPrediction(p, since) {
  showBars(p.probs, p.label);
  stats.updates++;
  stats.label = p.label;
  // The bars are in the DOM now; they reach the screen with the next frame.
  requestAnimationFrame(() => {
    const ms = performance.now() - since;
    stats.latencies.push(ms);
    $('status').dataset.latency = ms.toFixed(1);
  });
}

// ---- maps: the rows kconv show draws, with its layout and colours --------------------------

const PER_LINE = 16;
const GAP = 8;
/** The width the rows may take: the panel's, as wide as kconv show's (888) at most. */
const rowWidth = () => Math.min(888, $('maps').clientWidth || 840);

function placeholder(text) {
  const p = document.createElement('p');
  p.className = 'placeholder';
  p.textContent = text;
  return p;
}

/** The smallest tile the page draws while it can: smaller ones are hard to read on a phone. */
const MIN_CELL = 40;

/**
 * kconv show's tile size for a row of `channels`: as large as fits up to 16 a line (framed),
 * 24 to 96 pixels; on a narrow panel, the row takes more lines of equal length so that
 * tiles stay MIN_CELL wide.
 */
function cellSize(channels) {
  const fit = Math.max(1, Math.floor((rowWidth() + GAP) / (MIN_CELL + 2 + GAP)));
  const lines = Math.ceil(channels / Math.min(channels, PER_LINE, fit));
  const perLine = Math.ceil(channels / lines);
  return Math.max(24, Math.min(96, Math.floor((rowWidth() - (perLine - 1) * GAP) / perLine) - 2));
}
const scaleOf = (row) => Math.max(2, Math.floor(cellSize(row.channels) / Math.max(row.height, row.width)));

/** kconv show's colour scales in 1024 steps, as RGBA words, so painting a map is a lookup a pixel. */
const STEPS = 1024;
function table(colour) {
  const t = new Uint32Array(STEPS);
  const bytes = new Uint8Array(t.buffer);
  for (let i = 0; i < STEPS; i++) bytes.set([...colour(i / (STEPS - 1)), 255], i * 4);
  return t;
}
const DIVERGING = table((t) => diverging(2 * t - 1, 1));
const SEQUENTIAL = table((t) => sequential(t, 1));

/** Paints channel `ch` of a row into its tile's canvas. */
function paint(tile, row, ch) {
  const plane = row.height * row.width;
  const words = new Uint32Array(tile.image.data.buffer);
  const m = row.scaleMax > 0 ? row.scaleMax : 1;
  const activation = row.kind === 'activation';
  const lut = activation ? SEQUENTIAL : DIVERGING;
  for (let i = 0; i < plane; i++) {
    const v = row.data[ch * plane + i];
    const t = activation ? v / m : 0.5 + v / (2 * m);
    words[i] = lut[Math.round(Math.min(1, Math.max(0, t)) * (STEPS - 1))];
  }
  tile.ctx.putImageData(tile.image, 0, 0);
}

/** The tiles of one row, built once for a row shape and painted on every update. */
function buildRow(row, cell, firstOfStage) {
  const box = document.createElement('div');
  box.className = `map-row${firstOfStage ? ' stage-start' : ''}`;
  const h = document.createElement('h3');
  h.textContent = row.title;
  const detail = document.createElement('span');
  detail.className = 'muted';
  h.append(detail);
  const tiles = document.createElement('div');
  tiles.className = 'tiles';
  const scale = scaleOf(row);
  const built = [];
  for (let ch = 0; ch < row.channels; ch++) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    tile.style.width = tile.style.height = `${cell + 2}px`;
    const canvas = document.createElement('canvas');
    canvas.width = row.width;
    canvas.height = row.height;
    canvas.style.width = `${row.width * scale}px`;
    canvas.style.height = `${row.height * scale}px`;
    const ctx2 = canvas.getContext('2d');
    built.push({ ctx: ctx2, image: ctx2.createImageData(row.width, row.height) });
    tile.append(canvas);
    tiles.append(tile);
  }
  box.append(h, tiles);
  return { box, detail, tiles: built };
}

/** Tile cells per stage: the widest row's, so a channel stays in one column down the stage. */
function cellsOf(rows) {
  const cells = new Map();
  for (const r of rows) cells.set(r.stage, Math.max(cells.get(r.stage) ?? 0, scaleOf(r) * Math.max(r.height, r.width)));
  return cells;
}

let filtersRow = null;
let layout = { key: '', rows: [], note: null };

/** The first layer's filters, then the maps of the image shown (null: none yet). */
function drawMaps(rows) {
  const all = [...(filtersRow ? [filtersRow] : []), ...(rows ?? [])];
  const key = `${rowWidth()}|` + all.map((r) => `${r.title}:${r.channels}×${r.height}×${r.width}`).join('|') + (rows === null ? '|none' : '');
  if (key !== layout.key) {
    const cells = cellsOf(all);
    const built = all.map((row, i) => buildRow(row, cells.get(row.stage), i > 0 && row.stage !== all[i - 1].stage));
    const note = rows === null ? placeholder('Draw a digit, or upload an image, to see the feature maps.')
      : rows.length === 0 ? placeholder('This network has no conv layers: no feature maps to show.') : null;
    $('maps').replaceChildren(...built.map((b) => b.box), ...(note ? [note] : []));
    layout = { key, rows: built };
  }
  all.forEach((row, i) => {
    const b = layout.rows[i];
    b.detail.textContent = row.detail;
    for (let ch = 0; ch < row.channels; ch++) paint(b.tiles[ch], row, ch);
  });
}

function drawKeys() {
  for (const [id, f] of [['key-diverging', (t) => diverging(2 * t - 1, 1)], ['key-sequential', (t) => sequential(t, 1)]]) {
    const c = $(id).getContext('2d');
    const img = c.createImageData(200, 1);
    for (let x = 0; x < 200; x++) img.data.set([...f(x / 199), 255], x * 4);
    c.putImageData(img, 0, 0);
  }
  document.documentElement.style.setProperty('--frame', `rgb(${TILE_FRAME.join(', ')})`);
}

// ---- the model ---------------------------------------------------------------------------

async function loadModel() {
  const response = await fetch('/api/model');
  const m = await response.json();
  const last = m.training?.history?.at(-1);
  const val = last && last.valAcc != null ? `, validation accuracy ${(last.valAcc * 100).toFixed(1)}%` : '';
  const about = `${m.arch}, ${m.params.toLocaleString('en')} parameters${m.training ? `, ${m.training.history.length} epochs` : ''}${val}`;
  // An ensemble: the bars are the mean of its models; the maps, layers and curves its first model's.
  const ensemble = m.members?.length > 1;
  // May break after each comma of an architecture, so a phone wraps it between layers.
  const line = ensemble
    ? `ensemble ${m.file}: ${m.members.length} models (${m.members.map((x) => x.file).join(', ')}; ${m.totalParams.toLocaleString('en')} parameters), probabilities averaged; filters, maps, layers and curves of model 1, ${m.members[0].file}: ${about}`
    : `model ${m.file}: ${about}`;
  $('model-line').replaceChildren(...line.split(/(?<=,)/).flatMap((part, i) => (i ? [document.createElement('wbr'), part] : [part])));
  const body = $('layers').tBodies[0];
  for (const l of m.layers) {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[l.index + 1, ''], [l.spec, ''], [l.outShape.join('×'), ''], [l.params ? l.params.toLocaleString('en') : '–', 'num']]) {
      const td = document.createElement('td');
      td.textContent = String(text);
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
  $('layers').querySelector('th:last-child').className = 'num';
  const foot = $('layers').createTFoot().insertRow();
  foot.innerHTML = `<td></td><td>input 1×28×28</td><td>total</td><td class="num">${m.params.toLocaleString('en')}</td>`;
  if (m.filters) {
    filtersRow = m.filters;
    drawMaps(stats.maps);
  }
  const curves = $('curves');
  if (m.training?.history?.length) {
    curves.src = '/api/model/curves.png';
    $('curves-note').textContent = `Training curves${ensemble ? ` of model 1, ${m.members[0].file}` : ''}, as kconv show --curves draws them.`;
  } else {
    curves.hidden = true;
    $('curves-note').textContent = 'This weights file has no training history.';
  }
}

/** Without a Kannada font the numerals would show as empty boxes: then leave them out. */
function kannadaFont() {
  const c = document.createElement('canvas').getContext('2d');
  c.font = '20px sans-serif';
  return c.measureText('೮೩').width !== c.measureText('\u0cff\u0cfe').width;
}
if (!kannadaFont()) document.body.classList.add('no-kannada');

let resizing = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => drawMaps(stats.maps), 100);
});

drawKeys();
clearPad();
loadShapes().catch((error) => status(`cannot load the digits' pictures: ${error.message}`, true));
loadModel().catch((error) => status(`cannot load the model: ${error.message}`, true));
// The teach panel (teach.js), shown with kconv serve --collect DIR.
void initTeach({ input: () => stats.input, predicted: () => stats.label, clear: clearPad, repredict: () => changed(performance.now()) });
