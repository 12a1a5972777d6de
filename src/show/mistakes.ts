import { PIXELS } from '../data/index.js';
import { CLASSES } from '../net/input.js';
import { capHeight, type Canvas } from './canvas.js';
import { AXIS, BAD, GOOD, MUTED, TEXT } from './colors.js';
import { textWidth } from './font.js';
import { baseName, MARGIN, Sketch, type Box } from './layout.js';

export interface MistakesInput {
  /** All the file's pixels, n × 784. */
  pixels: Uint8Array;
  /** True and predicted digits of every image, and the n × 10 probabilities. */
  labels: Uint8Array;
  predicted: Uint8Array;
  probs: Float32Array;
  file: string;
  weightsFile: string;
  arch: string;
  /** Most mistakes to draw (the first ones in file order). */
  limit: number;
}

export interface MistakesLayout {
  /** Rows of the file that are misclassified, all of them, in file order. */
  mistakes: number[];
  /** The cells drawn (at most `limit`): the row and its digit's box. */
  cells: { row: number; digit: Box; scale: number }[];
}

const COLUMNS = 10;
const SCALE = 3;
const CELL_W = 112;
const CELL_H = 28 * SCALE + 60;

/** The rows where the prediction differs from the label, in file order. */
export function findMistakes(labels: Uint8Array, predicted: Uint8Array): number[] {
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] !== predicted[i]) rows.push(i);
  return rows;
}

/**
 * A grid of misclassified digits, ten to a line in file order, each enlarged 3× with
 * "true → predicted" (green → red), the predicted digit's probability and its row.
 * With no mistakes the picture is just the heading, saying so.
 */
export function renderMistakes(v: MistakesInput): { canvas: Canvas; layout: MistakesLayout } {
  const n = v.labels.length;
  const mistakes = findMistakes(v.labels, v.predicted);
  const shown = mistakes.slice(0, v.limit);
  const s = new Sketch();
  let y = MARGIN;
  s.text('mistakes', MARGIN, y, { color: TEXT, scale: 3 });
  y += capHeight(3) + 14;
  const accuracy = ((n - mistakes.length) / n) * 100;
  s.text(`${mistakes.length} of ${n} images of ${baseName(v.file)} misclassified, accuracy ${accuracy.toFixed(2)}%`, MARGIN, y, { color: TEXT });
  y += capHeight(2) + 8;
  s.text(`model ${baseName(v.weightsFile)}: ${v.arch}`, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 8;
  if (mistakes.length === 0) {
    s.text('no mistakes: every image is classified correctly', MARGIN, y, { color: GOOD });
    return { canvas: s.render(), layout: { mistakes, cells: [] } };
  }
  const more = mistakes.length > shown.length ? `; the first ${shown.length} shown (--limit)` : '';
  s.text(`each: true → predicted, p(predicted), row (0-based); in file order${more}`, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 24;

  const cells: MistakesLayout['cells'] = [];
  shown.forEach((row, i) => {
    const cx = MARGIN + (i % COLUMNS) * CELL_W;
    const cy = y + Math.floor(i / COLUMNS) * CELL_H;
    const side = 28 * SCALE;
    const digit = { x: cx + Math.floor((CELL_W - 12 - side) / 2), y: cy, w: side, h: side };
    cells.push({ row, digit, scale: SCALE });
    const image = { width: 28, height: 28, data: v.pixels, offset: row * PIXELS };
    s.add({ x: digit.x - 1, y: digit.y - 1, w: side + 2, h: side + 2 }, (c) => {
      c.drawGrey(image, digit.x, digit.y, SCALE);
      c.frame(digit.x, digit.y, side, side, AXIS);
    });
    const mid = digit.x + side / 2;
    const t = String(v.labels[row]);
    const p = String(v.predicted[row]);
    const prob = v.probs[row * CLASSES + v.predicted[row]];
    // A mistake is never certain: no "100%" for 0.996.
    const pct = prob >= 0.995 ? ' >99%' : ` ${Math.round(prob * 100)}%`;
    const total = textWidth(`${t}→${p}${pct}`, 2);
    let tx = Math.round(mid - total / 2);
    const ty = digit.y + side + 8;
    tx += s.text(t, tx, ty, { color: GOOD }) + 2;
    tx += s.text('→', tx, ty, { color: MUTED }) + 2;
    tx += s.text(p, tx, ty, { color: BAD }) + 2;
    s.text(pct, tx, ty, { color: MUTED });
    s.text(`row ${row}`, mid + 1, ty + capHeight(2) + 8, { color: MUTED, align: 'center' });
  });
  return { canvas: s.render(), layout: { mistakes, cells } };
}
