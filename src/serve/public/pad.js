// @ts-check
// The drawing pad: the canvas, and painting on it (strokes, a blank pad, a picture fitted).
import { $ } from './dom.js';

export const pad = /** @type {HTMLCanvasElement} */ ($('pad'));
const canvas = pad;
export const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));

const INK = '#111';

/** Paints the pad white. */
export function blankPad() {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/** The pad's pixels, as preprocessImage takes them. */
export function padImage() {
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: image.width, height: image.height, channels: /** @type {const} */ (4), data: image.data };
}

/**
 * Where a pointer event is, in the pad's pixels.
 * @param {{ clientX: number, clientY: number }} e
 */
export function at(e) {
  const r = canvas.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * canvas.width) / r.width, y: ((e.clientY - r.top) * canvas.height) / r.height };
}

/**
 * A line of the pen's width from one point to the next (a dot when they are the same).
 * @param {{ x: number, y: number }} from
 * @param {{ x: number, y: number }} to
 */
export function stroke(from, to) {
  const width = Number(/** @type {HTMLInputElement} */ ($('pen')).value);
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

/**
 * A picture on the pad, fitted, so that drawing goes on from it.
 * @param {ImageBitmap} bitmap
 */
export function showPicture(bitmap) {
  const f = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
  blankPad();
  ctx.drawImage(bitmap, (canvas.width - bitmap.width * f) / 2, (canvas.height - bitmap.height * f) / 2, bitmap.width * f, bitmap.height * f);
}
