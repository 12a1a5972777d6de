import { ModelFileError } from '../errors.js';
import type { TrainingRecord } from '../model/weights-file.js';
import { capHeight, type Canvas } from './canvas.js';
import { AXIS, GRID, MUTED, TEXT, TRAIN, VAL, type Rgb } from './colors.js';
import { textWidth } from './font.js';
import { baseName, MARGIN, Sketch, type Box } from './layout.js';

/** One epoch of the history, as the curves need it (accuracies as fractions, 0..1). */
export interface CurvePoint {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
}

/**
 * The per-epoch history of a weights file's `training` record (validated when the file
 * was read): a clear ModelFileError when there is none, so nothing to plot.
 */
export function historyOf(training: TrainingRecord | undefined, file: string): CurvePoint[] {
  const history = training?.history ?? [];
  if (history.length === 0) {
    throw new ModelFileError(`${file}: has no training history to plot (no "training.history" epochs): train it with kconv train, which records one`);
  }
  return history.map(({ epoch, loss, acc, valLoss, valAcc }) => ({ epoch, loss, acc, valLoss, valAcc }));
}

/** About `count` round tick values (1, 2 or 5 × 10ⁿ apart) covering lo..hi. */
export function niceStep(lo: number, hi: number, count: number): number {
  const raw = (hi - lo) / Math.max(1, count);
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Tick values from lo to hi, `step` apart, without floating-point fuzz. */
export function ticks(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  for (let i = first; i <= last; i++) out.push(Number((i * step).toFixed(decimals + 1)));
  return out;
}

function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

interface Series {
  color: Rgb;
  points: { x: number; y: number | null }[];
}

export interface PanelLayout {
  /** The plot area. */
  plot: Box;
  /** Data → pixel coordinates. */
  px: (x: number) => number;
  py: (y: number) => number;
  yTicks: number[];
  xTicks: number[];
}

/** A line plot with axes, grid, ticks and axis labels; draws into the sketch. */
function panel(
  s: Sketch, plot: Box, title: string, yLabel: string, series: Series[],
  x: { lo: number; hi: number }, y: { lo: number; hi: number; step: number }, xStep: number, marker: number | null,
): PanelLayout {
  const px = (v: number) => plot.x + ((v - x.lo) / (x.hi - x.lo)) * plot.w;
  const py = (v: number) => plot.y + plot.h - ((v - y.lo) / (y.hi - y.lo)) * plot.h;
  const yTicks = ticks(y.lo, y.hi, y.step);
  const xTicks = ticks(Math.ceil(x.lo), Math.floor(x.hi), xStep).filter((t) => t >= 1);
  s.text(title, plot.x, plot.y - capHeight(2) - 14, { color: TEXT });
  s.add(plot, (c) => {
    for (const t of yTicks) c.fillRect(plot.x, Math.round(py(t)), plot.w, 1, GRID);
    for (const t of xTicks) c.fillRect(Math.round(px(t)), plot.y, 1, plot.h, GRID);
    if (marker !== null) c.dashed(Math.round(px(marker)), plot.y, Math.round(px(marker)), plot.y + plot.h, MUTED, 5, 4);
    for (const { color, points } of series) {
      for (let i = 1; i < points.length; i++) {
        const a = points[i - 1];
        const b = points[i];
        if (a.y !== null && b.y !== null) c.line(px(a.x), py(a.y), px(b.x), py(b.y), color, 2.5);
      }
      for (const p of points) if (p.y !== null) c.disc(px(p.x), py(p.y), 3.5, color);
    }
    // Axes: left and bottom.
    c.fillRect(plot.x - 1, plot.y, 1, plot.h + 1, AXIS);
    c.fillRect(plot.x - 1, plot.y + plot.h, plot.w + 1, 1, AXIS);
    for (const t of yTicks) c.fillRect(plot.x - 6, Math.round(py(t)), 5, 1, AXIS);
    for (const t of xTicks) c.fillRect(Math.round(px(t)), plot.y + plot.h + 1, 1, 5, AXIS);
  });
  let labelsWidth = 0;
  for (const t of yTicks) labelsWidth = Math.max(labelsWidth, s.text(tickLabel(t, y.step), plot.x - 12, Math.round(py(t)) - 7, { color: MUTED, align: 'right' }));
  for (const t of xTicks) s.text(String(t), Math.round(px(t)) + 1, plot.y + plot.h + 12, { color: MUTED, align: 'center' });
  s.text('epoch', plot.x + plot.w / 2, plot.y + plot.h + 12 + capHeight(2) + 12, { color: TEXT, align: 'center' });
  s.text(yLabel, plot.x - 12 - labelsWidth - 14 - capHeight(2), plot.y + plot.h / 2, { color: TEXT, align: 'center', vertical: true });
  return { plot, px, py, yTicks, xTicks };
}

export interface CurvesInput {
  history: CurvePoint[];
  weightsFile: string;
  arch: string;
  /** Index into history of the epoch --save-best kept, when it did. */
  bestEpoch?: number;
}

export interface CurvesLayout {
  loss: PanelLayout;
  accuracy: PanelLayout;
  /** Where the legend's two line samples are. */
  legend: { train: Box; val: Box | null };
}

const PLOT_W = 440;

function sampleLine(c: Canvas, box: Box, color: Rgb): void {
  c.line(box.x + 2, box.y + 5, box.x + box.w - 2, box.y + 5, color, 2.5);
  c.disc(box.x + box.w / 2, box.y + 5, 3.5, color);
}
const PLOT_H = 280;

/**
 * Two panels, loss and accuracy (%) against the epoch, for the training data (blue)
 * and the validation data (orange; left out where the history has none), with a legend
 * below; a dashed line marks the epoch --save-best kept, when it did.
 */
export function renderCurves(v: CurvesInput): { canvas: Canvas; layout: CurvesLayout } {
  const h = v.history;
  const s = new Sketch();
  let y = MARGIN;
  s.text('training curves', MARGIN, y, { color: TEXT, scale: 3 });
  y += capHeight(3) + 14;
  s.text(`model ${baseName(v.weightsFile)}: ${v.arch}, ${h.length} epoch${h.length === 1 ? '' : 's'}`, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 40 + capHeight(2);

  const epochs = h.map((r) => r.epoch);
  const e0 = Math.min(...epochs);
  const e1 = Math.max(...epochs);
  const pad = Math.max(0.3, (e1 - e0) * 0.04);
  const x = { lo: e0 - pad, hi: e1 + pad };
  const xStep = Math.max(1, niceStep(e0, e1, 8));
  const hasVal = h.some((r) => r.valLoss !== null || r.valAcc !== null);
  const marker = v.bestEpoch !== undefined && h[v.bestEpoch] ? h[v.bestEpoch].epoch : null;

  const losses = h.flatMap((r) => (r.valLoss === null ? [r.loss] : [r.loss, r.valLoss]));
  const lossMax = Math.max(...losses);
  const lossStep = niceStep(0, lossMax, 5);
  const lossY = { lo: 0, hi: Math.max(lossStep, Math.ceil(lossMax / lossStep - 1e-9) * lossStep), step: lossStep };

  const accs = h.flatMap((r) => (r.valAcc === null ? [r.acc] : [r.acc, r.valAcc])).map((a) => a * 100);
  let accLo = Math.min(...accs);
  let accHi = Math.max(...accs);
  if (accHi - accLo < 1) {
    accLo -= 0.5;
    accHi += 0.5;
  }
  const accStep = niceStep(accLo, accHi, 5);
  const accY = {
    lo: Math.max(0, Math.floor(accLo / accStep + 1e-9) * accStep),
    hi: Math.min(100, Math.ceil(accHi / accStep - 1e-9) * accStep),
    step: accStep,
  };
  if (accY.hi <= accY.lo) accY.hi = accY.lo + accStep;

  const left = MARGIN + 100;
  const lossPlot = { x: left, y, w: PLOT_W, h: PLOT_H };
  const accPlot = { x: left + PLOT_W + 140, y, w: PLOT_W, h: PLOT_H };
  const lossPanel = panel(s, lossPlot, 'loss (cross-entropy)', 'loss', [
    { color: TRAIN, points: h.map((r) => ({ x: r.epoch, y: r.loss })) },
    ...(hasVal ? [{ color: VAL, points: h.map((r) => ({ x: r.epoch, y: r.valLoss })) }] : []),
  ], x, lossY, xStep, marker);
  const accPanel = panel(s, accPlot, 'accuracy', 'accuracy (%)', [
    { color: TRAIN, points: h.map((r) => ({ x: r.epoch, y: r.acc * 100 })) },
    ...(hasVal ? [{ color: VAL, points: h.map((r) => ({ x: r.epoch, y: r.valAcc === null ? null : r.valAcc * 100 })) }] : []),
  ], x, accY, xStep, marker);

  // Legend, centred under the two panels.
  y += PLOT_H + 12 + capHeight(2) + 12 + capHeight(2) + 30;
  type Entry = { label: string; draw: ((c: Canvas, box: Box) => void) | null };
  const entries: Entry[] = [{ label: 'train', draw: (c, b) => sampleLine(c, b, TRAIN) }];
  entries.push(hasVal ? { label: 'validation', draw: (c, b) => sampleLine(c, b, VAL) } : { label: '(no validation data in this history)', draw: null });
  if (marker !== null) entries.push({ label: `epoch ${marker}, kept by --save-best`, draw: (c, b) => c.dashed(Math.round(b.x + b.w / 2), b.y - 8, Math.round(b.x + b.w / 2), b.y + b.h + 8, MUTED, 5, 4) });
  const sample = 36;
  const widths = entries.map((e) => (e.draw ? sample + 10 : 0) + textWidth(e.label, 2));
  const total = widths.reduce((a, b) => a + b, 0) + 40 * (entries.length - 1);
  let lx = Math.round((lossPlot.x + accPlot.x + accPlot.w) / 2 - total / 2);
  const boxes: Box[] = [];
  entries.forEach((e, i) => {
    const start = lx;
    const draw = e.draw;
    if (draw) {
      const box = { x: lx, y: y + 2, w: sample, h: 10 };
      boxes.push(box);
      s.add(box, (c) => draw(c, box));
      lx += sample + 10;
    }
    s.text(e.label, lx, y, { color: draw ? TEXT : MUTED });
    lx = start + widths[i] + 40;
  });
  return { canvas: s.render(), layout: { loss: lossPanel, accuracy: accPanel, legend: { train: boxes[0], val: hasVal ? boxes[1] : null } } };
}
