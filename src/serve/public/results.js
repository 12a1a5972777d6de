// @ts-check
// Showing a prediction: the bars of the ten probabilities, the verdict, the 28×28 input the
// network saw, and the lines that say what is shown or what went wrong.
import { $, KANNADA, stats } from './dom.js';
import { drawMaps } from './maps.js';
import { paintShape, shapeCanvas } from './shapes.js';

/** What the line under the tools says until something is shown. */
export const DRAW_HINT = 'Draw with a mouse, a finger or a pen; the prediction follows every stroke.';

/**
 * The line under the bars: a drawing's answer, or (in red) its error.
 * @param {string} text
 */
export function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

/**
 * The line under the tools: what is shown, or (in red) why an upload failed.
 * @param {string} text
 */
export function say(text, error = false) {
  $('source').textContent = text;
  $('source').classList.toggle('error', error);
  $('source').classList.toggle('muted', !error);
  stats.uploadError = error ? text : null;
}

/** @type {{ bar: HTMLDivElement, fill: HTMLElement, pct: HTMLElement, label: HTMLSpanElement }[]} */
const columns = [];

/** The ten bars, each over its digit (number, numeral, shape). */
export function buildBars() {
  const bars = $('bars');
  const barLabels = document.createElement('div');
  barLabels.className = 'bar-labels';
  for (let k = 0; k < 10; k++) {
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.innerHTML = '<div class="fill"></div><span class="pct"></span>';
    bars.append(bar);
    const label = document.createElement('span');
    label.innerHTML = `${k}<span class="kn">${KANNADA[k]}</span>`;
    label.append(shapeCanvas(k, 'shape-small'));
    barLabels.append(label);
    columns.push({ bar, fill: /** @type {HTMLElement} */ (bar.firstChild), pct: /** @type {HTMLElement} */ (bar.lastChild), label });
  }
  bars.after(barLabels);
}

/**
 * @param {number[]} probs
 * @param {number} label
 */
function showBars(probs, label) {
  columns.forEach((c, k) => {
    c.fill.style.height = `${Math.max(1, probs[k] * 134)}px`;
    c.bar.classList.toggle('top', k === label);
    c.label.classList.toggle('top', k === label);
    c.pct.textContent = probs[k] >= 0.005 ? `${Math.round(probs[k] * 100)}%` : '';
  });
  $('label').textContent = String(label);
  $('kannada').textContent = KANNADA[label] ?? '';
  paintShape(/** @type {HTMLCanvasElement} */ ($('label-shape')), label);
  $('confidence').textContent = `p = ${(probs[label] * 100).toFixed(1)}%`;
}

/** Nothing to show: empty bars, a blank input, no maps. */
export function showBlank() {
  showBars(new Array(10).fill(0), -1);
  $('label').textContent = '–';
  $('kannada').textContent = '';
  $('confidence').textContent = '';
  drawInput(new Uint8Array(784));
  drawMaps(null);
  stats.label = stats.input = stats.maps = null;
}

/**
 * What the network sees: 784 pixels 0–255, grey.
 * @param {ArrayLike<number>} pixels
 */
export function drawInput(pixels) {
  const c = /** @type {CanvasRenderingContext2D} */ (/** @type {HTMLCanvasElement} */ ($('input28')).getContext('2d'));
  const img = c.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], i * 4);
  c.putImageData(img, 0, 0);
}

/**
 * A prediction's bars and verdict; `since`: when the change it answers happened (for the latency).
 * @param {import('./dom.js').Prediction} p
 * @param {number} since
 */
export function showPrediction(p, since) {
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
