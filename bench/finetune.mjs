/**
 * Teaching the model one "user's" handwriting: the first 300 rows of Dig-MNIST (30 per
 * digit, digits by other writers than train.csv's), each prepared as the page prepares a
 * drawing (grey, crop to the ink, fit 20×20, centre by mass in 28×28: image/preprocess.ts,
 * the page's own code). The model fine-tunes on rows 1–200 (20 per digit) with a replay
 * of train.csv, and is measured on rows 201–300 (10 per digit, never seen) and on
 * val.csv, before and after; the fine-tune's time is its wall-clock time. Targets: the
 * user's digits +5 points or more, val.csv −0.3 points at most, under 30 s on 2 threads.
 * Needs `npm run build` first.
 *
 *   node bench/finetune.mjs [--model best.json] [--threads 2] [--epochs N --lr X --freeze N --ratio R]
 *   node bench/finetune.mjs --tune   # the settings grid, measured on a held-out quarter of the 200 only
 *   node bench/finetune.mjs --ratio 0   # no replay
 *
 * Without --model it trains the best recipe's model first (kconv train train.csv --recipe
 * best --no-val --seed 1 --out /tmp/kconv-best.json), unless that file exists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readDataset } from '../dist/data/index.js';
import { preprocess } from '../dist/image/preprocess.js';
import { loadModel } from '../dist/model/weights-file.js';
import { evaluate } from '../dist/batch/evaluate.js';
import { defaultFreeze, FINETUNE_DEFAULTS, fineTune, subsetImages } from '../dist/train/finetune.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const DATA = process.env.KCONV_DATA ?? here('../../shared/data/kannada');

/** The first `n` images of Dig-MNIST, each as the page would send it. */
export async function userDigits(n = 300) {
  const dig = await readDataset(`${DATA}/Dig-MNIST.csv`, { requireLabels: true });
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) {
    const raster = { width: 28, height: 28, channels: 1, data: dig.images.pixels.subarray(i * 784, (i + 1) * 784) };
    pixels.set(preprocess(raster), i * 784);
  }
  return { n, pixels, labels: dig.images.labels.slice(0, n), ids: null };
}

const rows = (from, to) => Int32Array.from({ length: to - from }, (_, i) => from + i);
const pct = (x) => (x === null ? '  -   ' : `${(100 * x).toFixed(2)}%`);
const points = (a, b) => `${b - a >= 0 ? '+' : '−'}${Math.abs(100 * (b - a)).toFixed(2)}`;

/**
 * Fine-tunes `model` on the 200 and measures it on the 100 and val.csv. Returns the
 * figures; `heldOut` 'none' trains on all 200 (the measurement), a split holds a quarter
 * of them out (tuning).
 */
export async function benchFineTune({ model, user, train, val, threads = 2, settings = {}, tune = false }) {
  const teach = subsetImages(user, rows(0, 200));
  const test = subsetImages(user, rows(200, 300));
  const heldOut = tune ? { kind: 'split', fraction: 0.25 } : { kind: 'none' };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  // --ratio 0: no replay at all (to see what it is worth).
  const replay = settings.replayRatio === 0 ? null : train;
  const { replayRatio, ...rest } = settings;
  const r = await fineTune(model, teach, { replay, replayVal: tune ? null : val, threads, heldOut, seed: 1, ...rest, ...(replay ? { replayRatio } : {}) });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const on = (m, set) => evaluate(m.net, m.input, set, null).acc;
  return {
    seconds,
    /** CPU time of every thread (the main one and the workers): what the run cost, whatever else the machine was doing. */
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    tuning: tune ? { before: r.before.user, after: r.after.user, replayBefore: r.before.replay, replayAfter: r.after.replay } : null,
    user: tune ? null : { before: on(model, test), after: on(r.model, test) },
    val: tune ? null : { before: r.before.replay, after: r.after.replay },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, threads: { type: 'string', default: '2' }, tune: { type: 'boolean', default: false },
      epochs: { type: 'string' }, lr: { type: 'string' }, freeze: { type: 'string' }, ratio: { type: 'string' },
    },
  });
  let modelPath = values.model;
  if (!modelPath) {
    modelPath = '/tmp/kconv-best.json';
    if (!existsSync(modelPath)) {
      process.stderr.write(`training the best recipe's model into ${modelPath} (a few minutes)…\n`);
      execFileSync(process.execPath, [here('../bin/kconv.js'), 'train', `${DATA}/train.csv`, '--recipe', 'best', '--no-val', '--seed', '1', '--out', modelPath], { stdio: 'inherit' });
    }
  }
  const model = await loadModel(modelPath);
  const user = await userDigits();
  const train = (await readDataset(`${DATA}/train.csv`, { requireLabels: true })).images;
  const val = (await readDataset(`${DATA}/val.csv`, { requireLabels: true })).images;
  const threads = Number(values.threads);
  const settings = {};
  if (values.epochs) settings.epochs = Number(values.epochs);
  if (values.lr) settings.lr = Number(values.lr);
  if (values.freeze) settings.freeze = Number(values.freeze);
  if (values.ratio) settings.replayRatio = Number(values.ratio);
  const load = () => os.loadavg()[0].toFixed(1);

  if (values.tune) {
    // Chosen on a held-out quarter of the 200 (stratified), never on the 100.
    const grid = (process.env.TUNE_GRID ? JSON.parse(process.env.TUNE_GRID) : [
      [8, 0.0005, 0, 1], [8, 0.0005, 0, 3], [12, 0.0005, 0, 2], [8, 0.001, 0, 2], [8, 0.0005, 4, 2], [8, 0.0002, 0, 2], [12, 0.001, 4, 2],
    ]).map(([epochs, lr, freeze, replayRatio]) => ({ epochs, lr, freeze, replayRatio }));
    console.log('epochs  lr      freeze ratio  user: 50 of the 200 held out    train.csv: 10% held out       time (CPU)');
    for (const s of grid) {
      const r = await benchFineTune({ model, user, train, val, threads, settings: s, tune: true });
      const t = r.tuning;
      console.log(`${String(s.epochs).padEnd(7)} ${String(s.lr).padEnd(7)} ${String(s.freeze).padEnd(6)} ${String(s.replayRatio).padEnd(6)} ${pct(t.before)} → ${pct(t.after)} (${points(t.before, t.after)})   ${pct(t.replayBefore)} → ${pct(t.replayAfter)} (${points(t.replayBefore, t.replayAfter)})   ${r.seconds.toFixed(1)} s (${r.cpuSeconds.toFixed(1)} s)`);
    }
    return;
  }
  const s = { ...FINETUNE_DEFAULTS, ...settings };
  const r = await benchFineTune({ model, user, train, val, threads, settings });
  console.log(`model ${modelPath} (${model.arch})`);
  console.log(`fine-tune: 200 Dig-MNIST digits (20 per digit, page preprocessing) + ${s.replayRatio === 0 ? 'no replay' : `replay of train.csv ×${s.replayRatio}`}, ${s.epochs} epochs, ${s.optimizer} lr ${s.lr} (${s.schedule}), batch ${s.batchSize}, freeze ${settings.freeze ?? defaultFreeze(model.net)}, ${threads} threads`);
  console.log(`the user's other 100 digits: ${pct(r.user.before)} → ${pct(r.user.after)} (${points(r.user.before, r.user.after)} points; target +5)`);
  console.log(`val.csv:                     ${pct(r.val.before)} → ${pct(r.val.after)} (${points(r.val.before, r.val.after)} points; target ≥ −0.3)`);
  console.log(`time: ${r.seconds.toFixed(1)} s wall (target < 30 s), ${r.cpuSeconds.toFixed(1)} s CPU over ${threads} threads, load average ${load()}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
