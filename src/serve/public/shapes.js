// @ts-check
// What each digit looks like: pictures, not a font.
//
// /assets/digit-shapes.png holds the mean of train.csv's images of each digit (made by
// src/serve/make-digit-shapes.mjs), 0…9 left to right, 28×28 each: it shows the shapes
// where no Kannada font is installed. Each is drawn as ink (alpha) on the page, its
// strongest pixel full ink.
import { $, KANNADA, stats } from './dom.js';

/** @type {Uint8ClampedArray[]} */
const shapeInk = [];
/** @type {HTMLCanvasElement[]} */
const shapeCanvases = [];

/**
 * A canvas for digit k's shape, painted when the shapes are loaded.
 * @param {number} k
 * @param {string} className
 */
export function shapeCanvas(k, className) {
  const c = document.createElement('canvas');
  c.width = c.height = 28;
  c.className = className;
  c.dataset.digit = String(k);
  shapeCanvases.push(c);
  return c;
}

/**
 * Paints digit k's shape in a canvas (k = -1: none), in its CSS colour.
 * @param {HTMLCanvasElement} canvas
 * @param {number} k
 */
export function paintShape(canvas, k) {
  const c = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  c.clearRect(0, 0, 28, 28);
  canvas.dataset.digit = String(k);
  if (k < 0 || !shapeInk[k]) return;
  const [r, g, b] = (getComputedStyle(canvas).color.match(/\d+/g) ?? []).map(Number);
  const img = c.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([r, g, b, shapeInk[k][i]], i * 4);
  c.putImageData(img, 0, 0);
}

export async function loadShapes() {
  const picture = new Image();
  picture.src = '/assets/digit-shapes.png';
  await picture.decode();
  const c = document.createElement('canvas');
  c.width = 280;
  c.height = 28;
  const g = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d', { willReadFrequently: true }));
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
  paintShape(/** @type {HTMLCanvasElement} */ ($('label-shape')), stats.label ?? -1);
}

/** The header: each digit's shape over its number (and its numeral, where a font has it). */
export function buildHeader() {
  for (let k = 0; k < 10; k++) {
    const item = document.createElement('span');
    item.className = 'shape-item';
    const name = document.createElement('span');
    name.innerHTML = `${k}<span class="kn"> ${KANNADA[k]}</span>`;
    item.append(shapeCanvas(k, 'shape-head'), name);
    $('shapes').append(item);
  }
}
