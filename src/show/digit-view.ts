import { CLASSES, type InputSpec } from '../net/input.js';
import type { Conv2d } from '../layers/conv2d.js';
import { kindOfLayer } from '../layers/registry.js';
import type { Sequential } from '../net/sequential.js';
import { argMax } from '../tensor/tensor.js';
import { activations, convLayers, type Activations } from './activations.js';
import { capHeight, type Canvas } from './canvas.js';
import { AXIS, BAD, BAR, GOOD, GRID, MUTED, sequential, TEXT, TILE_FRAME, TRAIN } from './colors.js';
import { absMax, baseName, divergingKey, MARGIN, short, Sketch, type Box } from './layout.js';

/** What the digit view shows: one image of a data file and the model that looks at it. */
export interface DigitViewInput {
  /** The image's 784 pixels (0 background … 255 ink). */
  pixels: Uint8Array;
  /** The true digit, or null when the file has no labels. */
  label: number | null;
  /** 0-based row in the file, and the file (for the titles). */
  row: number;
  file: string;
  /** The file's id of the row, when it has an id column. */
  id: number | null;
  /** Says where the image is from, instead of "row N of file" (an image file's name). */
  where?: string;
  net: Sequential;
  input: InputSpec;
  arch: string;
  weightsFile: string;
  /** The probabilities the bars show, when not the net's own (an ensemble's mean); the maps stay the net's. */
  probs?: Float32Array;
}

/** A row of maps in the picture: one tile per channel. */
export interface MapRow {
  title: string;
  detail: string;
  /** filters and signed values: blue–white–red around 0; activations (≥ 0): black to yellow. */
  kind: 'filters' | 'signed' | 'activation';
  channels: number;
  height: number;
  width: number;
  /** channels × height × width. */
  data: Float32Array;
  /** The value drawn at full colour: ±scaleMax for the diverging scale, scaleMax for activations. */
  scaleMax: number;
  /** Which conv layer's stage the row belongs to (0 = the first). */
  stage: number;
}

export interface DigitViewLayout {
  /** The input digit: its top-left corner and enlargement. */
  input: { x: number; y: number; scale: number };
  /** The probability bars, digit 0 to 9 (the drawn bar, at least 1 pixel tall). */
  bars: Box[];
  /** The bar chart's plot area (bars grow up from its bottom edge). */
  chart: Box;
  /** Each map row, its tiles' boxes and their enlargement. */
  rows: { row: MapRow; scale: number; tiles: Box[] }[];
}

export interface DigitView {
  canvas: Canvas;
  layout: DigitViewLayout;
  acts: Activations;
}

const INPUT_SCALE = 8;
/** Widest row of tiles the layout aims for, and most tiles on one line. */
const ROW_WIDTH = 888;
const PER_LINE = 16;
const TILE_GAP = 8;

function hasNegative(values: Float32Array): boolean {
  for (const v of values) if (v < 0) return true;
  return false;
}

/**
 * The first conv layer's filters as a row of k×k tiles, one per filter: the digit view's
 * "conv1 filters", which the server sends as the model's filters too. A filter with several
 * input channels shows its first, on the colour range of all its weights (kconv's input has
 * one channel, so the first layer's filters are whole).
 */
export function filterRow(conv: Conv2d): MapRow {
  const k = conv.kernel;
  const scaleMax = absMax(conv.weight);
  const perChannel = conv.inChannels === 1 ? '' : ` (input channel 1 of ${conv.inChannels})`;
  const data = new Float32Array(conv.outChannels * k * k);
  for (let f = 0; f < conv.outChannels; f++) data.set(conv.weight.subarray(f * conv.inChannels * k * k, f * conv.inChannels * k * k + k * k), f * k * k);
  return { title: 'conv1 filters', detail: `${conv.outChannels} of ${k}×${k}${perChannel}, ±${short(scaleMax)}`, kind: 'filters', channels: conv.outChannels, height: k, width: k, data, scaleMax, stage: 0 };
}

/**
 * The rows of maps for one image: the first conv layer's filters, its raw output
 * (signed), and its output after each layer that follows it on the same maps (batch
 * normalization, ReLU, pooling: those with a `mapLabel` in the registry; dropout is seen
 * through); then, for every deeper conv layer, its output after those (or raw, when
 * nothing follows it).
 */
export function mapRows(net: Sequential, acts: Activations): MapRow[] {
  const rows: MapRow[] = [];
  const layers = net.layers;
  convLayers(net).forEach(({ index, conv }, stage) => {
    const name = `conv${stage + 1}`;
    const [c, h, w] = acts.outputs[index].shape;
    if (stage === 0) rows.push(filterRow(conv));
    const after: { out: Activations['outputs'][number]; label: string }[] = [];
    for (let j = index + 1; j < layers.length; j++) {
      const label = kindOfLayer(layers[j]).mapLabel;
      if (label === undefined) break;
      if (label !== null) after.push({ out: acts.outputs[j], label });
    }
    if (stage === 0 || after.length === 0) {
      const data = acts.outputs[index].data;
      const m = absMax(data);
      rows.push({ title: `${name} output`, detail: `${c}×${h}×${w}, ±${short(m)}`, kind: 'signed', channels: c, height: h, width: w, data, scaleMax: m, stage });
    }
    for (const { out, label } of after) {
      const [oc, oh, ow] = out.shape;
      const what = `after ${label}`;
      const signed = hasNegative(out.data);
      const m = absMax(out.data);
      rows.push({
        title: stage === 0 ? what : `${name} ${what}`,
        detail: `${oc}×${oh}×${ow}, ${signed ? '±' : '0 to '}${short(m)}`,
        kind: signed ? 'signed' : 'activation',
        channels: oc, height: oh, width: ow, data: out.data, scaleMax: m, stage,
      });
    }
  });
  return rows;
}

/** The tile size a stage aims for: as large as fits ROW_WIDTH, 40 to 96 pixels. */
function cellSize(channels: number): number {
  const perLine = Math.min(channels, PER_LINE);
  return Math.max(40, Math.min(96, Math.floor((ROW_WIDTH - (perLine - 1) * TILE_GAP) / perLine)));
}

/**
 * The digit view: the input enlarged, the predicted probabilities as bars (true label
 * marked), and beside them every map row (see mapRows), each tile enlarged to a whole
 * number of pixels, each row on its own colour range (written in its title).
 *
 * Drawn in steps, top to bottom: the header; the left column (the input, the bars, the
 * colour keys); the map rows on the right, from the header's foot.
 */
export function renderDigitView(v: DigitViewInput): DigitView {
  const own = activations(v.net, v.input, v.pixels);
  const acts = v.probs ? { ...own, probs: v.probs, predicted: argMax(v.probs) } : own;
  const rows = mapRows(v.net, acts);
  const s = new Sketch();
  const verdict: Verdict = { label: v.label, predicted: acts.predicted, correct: v.label === null ? null : v.label === acts.predicted, probs: acts.probs };
  const top = drawHeader(s, v, verdict);
  const input = drawInput(s, v.pixels, top);
  const chart = drawProbabilities(s, verdict, input.bottom);
  if (rows.length > 0) drawColourKeys(s, chart.bottom);
  const laidOut = drawMapRows(s, rows, LEFT + COLUMN_WIDTH + 48, top);
  return { canvas: s.render(), layout: { input: { x: input.box.x, y: input.box.y, scale: INPUT_SCALE }, bars: chart.bars, chart: chart.box, rows: laidOut }, acts };
}

/** What the header and the bars say: the true label (null when unknown), the prediction and every probability. */
interface Verdict {
  label: number | null;
  predicted: number;
  /** null without a label. */
  correct: boolean | null;
  probs: Float32Array;
}

/** The left column's edge and width (the input, the bars and the keys are right-aligned to it). */
const LEFT = MARGIN;
const COLUMN_WIDTH = 240;

/** The verdict in large type, the probability beside it, where the image is from and the model; returns where the body starts. */
function drawHeader(s: Sketch, v: DigitViewInput, verdict: Verdict): number {
  const { label, predicted, correct } = verdict;
  let y = MARGIN;
  const text = label === null ? `predicted ${predicted}` : `true ${label}, predicted ${predicted}`;
  const width = s.text(text, MARGIN, y, { color: correct === null ? TEXT : correct ? GOOD : BAD, scale: 3 });
  s.text(`p = ${(verdict.probs[predicted] * 100).toFixed(1)}%`, MARGIN + width + 18, y + 7, { color: MUTED });
  y += capHeight(3) + 14;
  const where = v.where ?? `row ${v.row} of ${baseName(v.file)}${v.id === null ? '' : `, id ${v.id}`}`;
  s.text(where, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 8;
  s.text(`model ${baseName(v.weightsFile)}: ${v.arch}`, MARGIN, y, { color: MUTED });
  return y + capHeight(2) + 26;
}

/** The 28×28 input at ×INPUT_SCALE, titled, from `y`: its box, and where the next part starts. */
function drawInput(s: Sketch, pixels: Uint8Array, y: number): { box: Box; bottom: number } {
  s.text('input', LEFT, y, { color: TEXT });
  s.text(`28×28, ×${INPUT_SCALE}`, LEFT + COLUMN_WIDTH, y, { color: MUTED, align: 'right' });
  y += capHeight(2) + 8;
  const box = { x: LEFT + COLUMN_WIDTH - 28 * INPUT_SCALE, y, w: 28 * INPUT_SCALE, h: 28 * INPUT_SCALE };
  s.add({ ...box, x: box.x - 1, y: box.y - 1, w: box.w + 2, h: box.h + 2 }, (c) => {
    c.drawGrey({ width: 28, height: 28, data: pixels }, box.x, box.y, INPUT_SCALE);
    c.frame(box.x, box.y, box.w, box.h, AXIS);
  });
  return { box, bottom: y + box.h + 30 };
}

/**
 * The bar chart of p(digit) from `y`: the predicted digit's bar green or red (blue without
 * a label), the true digit's green and marked ▲ under its number. Returns each bar's box,
 * the plot area, and where the next part starts.
 */
function drawProbabilities(s: Sketch, verdict: Verdict, y: number): { bars: Box[]; box: Box; bottom: number } {
  const { label, predicted, correct, probs } = verdict;
  s.text('p(digit)', LEFT, y, { color: TEXT });
  s.text(`${predicted}: ${(probs[predicted] * 100).toFixed(1)}%`, LEFT + COLUMN_WIDTH, y, { color: MUTED, align: 'right' });
  y += capHeight(2) + 14;
  const chart = { x: LEFT + 40, y, w: 200, h: 120 };
  const pitch = chart.w / CLASSES;
  const barWidth = 14;
  const predictedColor = correct === null ? TRAIN : correct ? GOOD : BAD;
  const bars: Box[] = [];
  for (let k = 0; k < CLASSES; k++) {
    const h = Math.max(1, Math.round(probs[k] * chart.h));
    bars.push({ x: Math.round(chart.x + k * pitch + (pitch - barWidth) / 2), y: chart.y + chart.h - h, w: barWidth, h });
  }
  s.add(chart, (c) => {
    for (const [t, text] of [[0, '0'], [0.5, '0.5'], [1, '1']] as const) {
      const gy = Math.round(chart.y + chart.h - t * chart.h);
      if (t > 0) c.fillRect(chart.x, gy, chart.w, 1, GRID);
      c.drawText(text, chart.x - 8, gy - 7, { color: MUTED, align: 'right' });
    }
    bars.forEach((b, k) => c.fillRect(b.x, b.y, b.w, b.h, k === predicted ? predictedColor : k === label ? GOOD : BAR));
    c.fillRect(chart.x, chart.y + chart.h, chart.w, 1, AXIS);
  });
  y += chart.h + 8;
  for (let k = 0; k < CLASSES; k++) {
    const cx = bars[k].x + barWidth / 2;
    const color = k === predicted ? predictedColor : k === label ? GOOD : TEXT;
    s.text(String(k), cx + 1, y, { color, align: 'center' });
    if (k === label) s.text('▲', cx + 1, y + capHeight(2) + 6, { color: GOOD, align: 'center' });
  }
  y += capHeight(2) + 6;
  if (label !== null) {
    y += capHeight(2) + 12;
    s.text('▲ true label', LEFT + COLUMN_WIDTH, y, { color: MUTED, align: 'right' });
  }
  return { bars, box: chart, bottom: y + capHeight(2) + 30 };
}

/** The two colour scales the map rows use (signed maps and filters; activations), from `y`. */
function drawColourKeys(s: Sketch, y: number): void {
  s.text('colour scales', LEFT, y, { color: TEXT });
  y += capHeight(2) + 10;
  y = divergingKey(s, LEFT, y, COLUMN_WIDTH) + 6;
  s.text('filters, signed maps', LEFT, y, { color: MUTED });
  y += capHeight(2) + 18;
  const seqBox = { x: LEFT, y, w: COLUMN_WIDTH, h: 12 };
  s.add(seqBox, (c) => c.colorBar(seqBox.x, seqBox.y, seqBox.w, seqBox.h, (t) => sequential(t, 1)));
  y += seqBox.h + 6;
  s.text('0', seqBox.x, y, { color: MUTED });
  s.text('max', seqBox.x + seqBox.w, y, { color: MUTED, align: 'right' });
  y += capHeight(2) + 6;
  s.text('after relu, pool', LEFT, y, { color: MUTED });
  y += capHeight(2) + 12;
  s.text('each row: its own max', LEFT, y, { color: MUTED });
}

/**
 * The map rows at (rx, y) down, one column per channel (PER_LINE to a line), or a note
 * that there are none. Each row's enlargement fills its stage's cell (at least 2×); a
 * stage's columns share one pitch, the widest of its rows, so a channel stays in one
 * column down the stage.
 */
function drawMapRows(s: Sketch, rows: MapRow[], rx: number, y: number): DigitViewLayout['rows'] {
  if (rows.length === 0) s.text('no conv layers: no filters or feature maps to show', rx, y, { color: MUTED });
  const laidOut: DigitViewLayout['rows'] = [];
  const scaleOf = (row: MapRow) => Math.max(2, Math.floor(cellSize(row.channels) / Math.max(row.height, row.width)));
  const cellOf = new Map<number, number>();
  for (const row of rows) cellOf.set(row.stage, Math.max(cellOf.get(row.stage) ?? 0, scaleOf(row) * Math.max(row.height, row.width)));
  let lastStage = 0;
  for (const row of rows) {
    if (row.stage !== lastStage) y += 14;
    lastStage = row.stage;
    const titleWidth = s.text(row.title, rx, y, { color: TEXT });
    s.text(row.detail, rx + titleWidth + 14, y, { color: MUTED });
    y += capHeight(2) + 10;
    const cell = cellOf.get(row.stage)!;
    const scale = scaleOf(row);
    laidOut.push({ row, scale, tiles: drawTiles(s, row, scale, cell, rx, y) });
    y += Math.ceil(row.channels / PER_LINE) * (cell + TILE_GAP) - TILE_GAP + 22;
  }
  return laidOut;
}

/** One map row's tiles from (rx, y), each centred in a cell×cell square, framed: their boxes. */
function drawTiles(s: Sketch, row: MapRow, scale: number, cell: number, rx: number, y: number): Box[] {
  const tw = row.width * scale;
  const th = row.height * scale;
  const inset = Math.floor((cell - Math.max(tw, th)) / 2);
  const tiles: Box[] = [];
  const plane = row.height * row.width;
  for (let ch = 0; ch < row.channels; ch++) {
    const tx = rx + (ch % PER_LINE) * (cell + TILE_GAP) + inset;
    const ty = y + Math.floor(ch / PER_LINE) * (cell + TILE_GAP) + inset;
    tiles.push({ x: tx, y: ty, w: tw, h: th });
    const image = { width: row.width, height: row.height, data: row.data, offset: ch * plane };
    s.add({ x: tx - 1, y: ty - 1, w: tw + 2, h: th + 2 }, (c) => {
      if (row.kind === 'activation') c.drawActivation(image, tx, ty, scale, row.scaleMax);
      else c.drawHeatmap(image, tx, ty, scale, row.scaleMax);
      c.frame(tx, ty, tw, th, TILE_FRAME);
    });
  }
  return tiles;
}
