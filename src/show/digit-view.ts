import { CLASSES, type InputSpec } from '../net/input.js';
import type { Conv2d } from '../layers/conv2d.js';
import { kindOfLayer } from '../layers/registry.js';
import type { Sequential } from '../net/sequential.js';
import { argMax } from '../tensor/tensor.js';
import { activations, convLayers, type Activations } from './activations.js';
import { capHeight, type Canvas } from './canvas.js';
import { AXIS, BAD, BAR, diverging, GOOD, GRID, MUTED, sequential, TEXT, TILE_FRAME, TRAIN, type Rgb } from './colors.js';
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
 */
export function renderDigitView(v: DigitViewInput): DigitView {
  const own = activations(v.net, v.input, v.pixels);
  const acts = v.probs ? { ...own, probs: v.probs, predicted: argMax(v.probs) } : own;
  const rows = mapRows(v.net, acts);
  const s = new Sketch();
  const correct = v.label === null ? null : v.label === acts.predicted;
  const pPred = acts.probs[acts.predicted];

  // Header.
  let y = MARGIN;
  const verdict = v.label === null ? `predicted ${acts.predicted}` : `true ${v.label}, predicted ${acts.predicted}`;
  const verdictWidth = s.text(verdict, MARGIN, y, { color: correct === null ? TEXT : correct ? GOOD : BAD, scale: 3 });
  s.text(`p = ${(pPred * 100).toFixed(1)}%`, MARGIN + verdictWidth + 18, y + 7, { color: MUTED });
  y += capHeight(3) + 14;
  const where = v.where ?? `row ${v.row} of ${baseName(v.file)}${v.id === null ? '' : `, id ${v.id}`}`;
  s.text(where, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 8;
  s.text(`model ${baseName(v.weightsFile)}: ${v.arch}`, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 26;
  const top = y;

  // Left column: the input, then the probabilities, then the colour keys.
  const left = MARGIN;
  const columnWidth = 240;
  s.text('input', left, y, { color: TEXT });
  s.text(`28×28, ×${INPUT_SCALE}`, left + columnWidth, y, { color: MUTED, align: 'right' });
  y += capHeight(2) + 8;
  const inputBox = { x: left + columnWidth - 28 * INPUT_SCALE, y, w: 28 * INPUT_SCALE, h: 28 * INPUT_SCALE };
  s.add({ ...inputBox, x: inputBox.x - 1, y: inputBox.y - 1, w: inputBox.w + 2, h: inputBox.h + 2 }, (c) => {
    c.drawGrey({ width: 28, height: 28, data: v.pixels }, inputBox.x, inputBox.y, INPUT_SCALE);
    c.frame(inputBox.x, inputBox.y, inputBox.w, inputBox.h, AXIS);
  });
  y += inputBox.h + 30;

  s.text('p(digit)', left, y, { color: TEXT });
  s.text(`${acts.predicted}: ${(pPred * 100).toFixed(1)}%`, left + columnWidth, y, { color: MUTED, align: 'right' });
  y += capHeight(2) + 14;
  const chart = { x: left + 40, y, w: 200, h: 120 };
  const pitch = chart.w / CLASSES;
  const barWidth = 14;
  const predictedColor = correct === null ? TRAIN : correct ? GOOD : BAD;
  const bars: Box[] = [];
  for (let k = 0; k < CLASSES; k++) {
    const h = Math.max(1, Math.round(acts.probs[k] * chart.h));
    bars.push({ x: Math.round(chart.x + k * pitch + (pitch - barWidth) / 2), y: chart.y + chart.h - h, w: barWidth, h });
  }
  s.add(chart, (c) => {
    for (const [t, label] of [[0, '0'], [0.5, '0.5'], [1, '1']] as const) {
      const gy = Math.round(chart.y + chart.h - t * chart.h);
      if (t > 0) c.fillRect(chart.x, gy, chart.w, 1, GRID);
      c.drawText(label, chart.x - 8, gy - 7, { color: MUTED, align: 'right' });
    }
    bars.forEach((b, k) => c.fillRect(b.x, b.y, b.w, b.h, k === acts.predicted ? predictedColor : k === v.label ? GOOD : BAR));
    c.fillRect(chart.x, chart.y + chart.h, chart.w, 1, AXIS);
  });
  y += chart.h + 8;
  for (let k = 0; k < CLASSES; k++) {
    const cx = bars[k].x + barWidth / 2;
    const color = k === acts.predicted ? predictedColor : k === v.label ? GOOD : TEXT;
    s.text(String(k), cx + 1, y, { color, align: 'center' });
    if (k === v.label) s.text('▲', cx + 1, y + capHeight(2) + 6, { color: GOOD, align: 'center' });
  }
  y += capHeight(2) + 6;
  if (v.label !== null) {
    y += capHeight(2) + 12;
    s.text('▲ true label', left + columnWidth, y, { color: MUTED, align: 'right' });
  }
  y += capHeight(2) + 30;

  // Colour keys (only when there are maps to read them on).
  if (rows.length > 0) {
    s.text('colour scales', left, y, { color: TEXT });
    y += capHeight(2) + 10;
    y = divergingKey(s, left, y, columnWidth) + 6;
    s.text('filters, signed maps', left, y, { color: MUTED });
    y += capHeight(2) + 18;
    const seqBox = { x: left, y, w: columnWidth, h: 12 };
    s.add(seqBox, (c) => c.colorBar(seqBox.x, seqBox.y, seqBox.w, seqBox.h, (t) => sequential(t, 1)));
    y += seqBox.h + 6;
    s.text('0', seqBox.x, y, { color: MUTED });
    s.text('max', seqBox.x + seqBox.w, y, { color: MUTED, align: 'right' });
    y += capHeight(2) + 6;
    s.text('after relu, pool', left, y, { color: MUTED });
    y += capHeight(2) + 12;
    s.text('each row: its own max', left, y, { color: MUTED });
  }

  // Right: the rows of maps, one column per channel.
  const rx = left + columnWidth + 48;
  y = top;
  const laidOut: DigitViewLayout['rows'] = [];
  // Each row's enlargement fills the stage's cell (at least 2×); a stage's columns share
  // one pitch, the widest of its rows, so a channel stays in one column down the stage.
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
    laidOut.push({ row, scale, tiles });
    y += Math.ceil(row.channels / PER_LINE) * (cell + TILE_GAP) - TILE_GAP + 22;
  }
  if (rows.length === 0) s.text('no conv layers: no filters or feature maps to show', rx, y, { color: MUTED });

  return { canvas: s.render(), layout: { input: { x: inputBox.x, y: inputBox.y, scale: INPUT_SCALE }, bars, chart, rows: laidOut }, acts };
}
