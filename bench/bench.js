/**
 * kconv's benchmark: training and prediction throughput of the seed, default, wide and bn nets,
 * optionally against PyTorch at its best in the same run; `kconv predict one.png` start-up; and
 * (without --quick) data ingest, checkpoint writing, per-layer convolution times, peak memory and
 * the server (bench/serve.mjs).
 *
 *   npm run bench                      table, then one JSON object as the last line
 *   npm run bench -- --vs-torch        PyTorch too (bench/torch_best.py: its fastest variant), and ratios
 *   npm run bench -- --rounds 5        rounds of measurements (default 3): medians and min–max over them
 *   npm run bench -- --threads 1       kconv and PyTorch on one thread (default: all cores)
 *   npm run bench -- --quick           only training, prediction and start-up, on less data
 *   npm run bench -- --markdown        the table as markdown, ready to paste into README.md
 *   npm run bench -- --limit-3x3 N     the wide and bn nets train on the first N images (default 4,000; 2,000 with --quick)
 *
 * How it measures, so that no side is flattered by when it ran on a shared, noisy machine:
 * each round takes the nets in turn (seed, default, wide, bn), and for each net kconv then
 * PyTorch (PyTorch then kconv in every other round; kconv in a fresh process each time,
 * bench/kconv-measure.mjs, PyTorch in one long-lived bench/torch_best.py) train it (batch 64, SGD momentum 0.9,
 * lr 0.05; the rate is the fastest epoch after the first) and predict with it (batch 256; the
 * fastest of 2 passes after a warm-up one). Each figure is the median over the rounds with its
 * min–max, each ratio the median of the rounds' own ratios; the 1-minute load average is logged
 * before and after every measurement and kept in the JSON. The 3×3 nets (wide, bn) train on the
 * first LIMIT_3X3 images of train.csv and predict the first PREDICT_3X3 of Dig-MNIST.csv.
 * Start-up: `node bin/kconv.js predict one.png --weights model.json` (the default net; one.png is
 * val.csv's first image), process
 * start to exit, 10 times alternating with `node -e 0`, the floor; medians and min–max.
 *
 * Data: $KCONV_DATA, else ../shared/data/kannada. Needs `npm run build` (npm install does it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../dist/data/index.js';
import { kernelInfo } from '../dist/kernels/gemm.js';
import { PRESETS } from '../dist/net/spec.js';
import { encodePng } from '../dist/show/png.js';
import { alternation, formatNumber, formatRange, formatRatio, markdownTable, roundRatios, summarize, textTable } from './stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const positive = (name, fallback) => {
  const n = Number(value(name, fallback));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: ${name} needs a whole number ≥ 1, not ${value(name)}`);
    process.exit(2);
  }
  return n;
};
const dataDir = resolve(process.env.KCONV_DATA ?? join(here, '../../shared/data/kannada'));
const threads = positive('--threads', availableParallelism());
const rounds = positive('--rounds', 3);
const quick = flag('--quick');
const log = (s) => process.stderr.write(s + '\n');
/** Epochs a training measurement runs: the first is warm-up, the fastest of the others is the rate. */
const EPOCHS = quick ? 3 : 4;
/** The 3×3 nets train on the first images of train.csv only: an epoch of all 8,000 takes ~8 s a side. */
const LIMIT_3X3 = positive('--limit-3x3', quick ? 2000 : 4000);
/** …and predict the first images of Dig-MNIST.csv: 2,560 (10 batches of 256), 1,024 with --quick. */
const PREDICT_3X3 = quick ? 1024 : 2560;
const STARTUP_RUNS = 10;
const NETS = ['seed', 'default', 'wide', 'bn'].filter((net) => PRESETS[net]);
const is3x3 = (net) => net === 'wide' || net === 'bn';
/** Today's JSON keys: train_images_per_s for the default net, train_images_per_s_<net> for the others. */
const key = (prefix, net) => (net === 'default' ? prefix : `${prefix}_${net}`);

if (!existsSync(join(dataDir, 'train.csv'))) {
  console.error(`bench: no train.csv in ${dataDir}: set KCONV_DATA to the Kannada-MNIST folder`);
  process.exit(1);
}

/**
 * bench/torch_best.py, started once: it answers one JSON line per request, so python's and
 * torch's start-up never land in a rate.
 */
class TorchProcess {
  static async start() {
    const child = spawn('/usr/bin/python3', [join(here, 'torch_best.py'), '--data', dataDir, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const t = new TorchProcess(child);
    t.env = await t.next();
    return t;
  }
  constructor(child) {
    this.child = child;
    this.waiting = [];
    this.stderr = '';
    child.stderr.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(line));
    child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`torch_best.py exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}`));
    });
    child.on('error', (e) => this.waiting.splice(0).forEach((w) => w.reject(e)));
  }
  async next() {
    const line = await new Promise((res, rej) => this.waiting.push({ resolve: res, reject: rej }));
    const j = JSON.parse(line);
    if (j.error) throw new Error(`torch_best.py: ${j.error}`);
    return j;
  }
  request(req) {
    const answer = this.next();
    this.child.stdin.write(JSON.stringify(req) + '\n');
    return answer;
  }
  close() {
    this.child.stdin.end();
    this.child.kill();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'kconv-bench-'));
const results = { threads, kernels: kernelInfo().backend, rounds, quick, epochs: EPOCHS, limit_3x3: LIMIT_3X3, predict_3x3: PREDICT_3X3 };
let torch = null;
try {
  const digCount = (await readDataset(join(dataDir, 'Dig-MNIST.csv'))).images.n;
  const val = (await readDataset(join(dataDir, 'val.csv'))).images;
  /** How many of Dig-MNIST.csv's images each net predicts. */
  const predictCount = (net) => (is3x3(net) ? Math.min(PREDICT_3X3, digCount) : digCount);

  const sides = ['kconv'];
  if (flag('--vs-torch')) {
    if (spawnSync('/usr/bin/python3', ['-c', 'import torch']).status === 0) {
      log(`starting PyTorch (bench/torch_best.py, ${threads} thread(s))…`);
      torch = await TorchProcess.start();
      results.torch_env = torch.env;
      log(`PyTorch ${torch.env.torch}; ${torch.env.compile}`);
      sides.push('torch');
    } else {
      log('--vs-torch: /usr/bin/python3 has no torch (apt-get install python3-torch); skipped');
    }
  }

  /** kconv's train-then-predict in a process of its own (bench/kconv-measure.mjs says why). */
  function kconvMeasure(net, round) {
    const job = { dataDir, net, epochs: EPOCHS, limit: is3x3(net) ? LIMIT_3X3 : null, threads, predictImages: predictCount(net), out: join(tmp, `${net}-${round}.json`) };
    const p = spawnSync(process.execPath, [join(here, 'kconv-measure.mjs'), JSON.stringify(job)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (p.status !== 0) throw new Error(`kconv-measure.mjs ${net} failed: ${p.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return { ...JSON.parse(p.stdout.trim().split('\n').pop()), out: job.out };
  }

  const measurements = [];
  const models = new Map();
  async function measure(step, task, run) {
    const load_before = loadavg()[0];
    const r = await run();
    return record(step, task, { ...r, load_before, load_after: loadavg()[0] });
  }
  function record(step, task, r) {
    const { load_before, load_after } = r;
    measurements.push({ round: step.round + 1, net: step.net, side: step.side, task, images_per_s: r.rate, load_before, load_after, ...(r.variant ? { variant: r.variant } : {}), ...(r.trial ? { trial: r.trial } : {}) });
    log(`  round ${step.round + 1}/${rounds}  ${step.side.padEnd(5)} ${step.net.padEnd(7)} ${task.padEnd(7)} ${formatNumber(r.rate).padStart(8)} images/s  load ${load_before.toFixed(2)} → ${load_after.toFixed(2)}${r.variant ? `  (${r.variant})` : ''}`);
    return r;
  }
  log(`${rounds} round(s) of ${NETS.join(', ')}: ${sides.join(' and ')}, ${threads} thread(s), ${results.kernels} kernels; training ${EPOCHS} epochs (3×3 nets: the first ${LIMIT_3X3} images)…`);
  for (const step of alternation(NETS, sides, rounds)) {
    const { net, round } = step;
    if (step.side === 'kconv') {
      const r = kconvMeasure(net, round);
      models.set(net, r.out);
      record(step, 'train', r.train);
      record(step, 'predict', r.predict);
    } else {
      const limit = is3x3(net) ? LIMIT_3X3 : 0;
      await measure(step, 'train', async () => {
        const j = await torch.request({ cmd: 'train', arch: net, epochs: EPOCHS, limit });
        return { rate: j.images_per_s, variant: j.variant, trial: j.trial };
      });
      await measure(step, 'predict', async () => {
        const j = await torch.request({ cmd: 'predict', arch: net, images: predictCount(net) });
        return { rate: j.images_per_s, variant: j.variant, trial: j.trial };
      });
    }
  }
  results.measurements = measurements;
  const loads = measurements.flatMap((m) => [m.load_before, m.load_after]);
  results.load_average = summarize(loads);

  // Medians over rounds, and the ratio of each round's two figures.
  const byRound = (side, task, net) => new Map(measurements.filter((m) => m.side === side && m.task === task && m.net === net).map((m) => [m.round, m.images_per_s]));
  results.summary = {};
  for (const task of ['train', 'predict']) {
    for (const net of NETS) {
      const k = byRound('kconv', task, net);
      const s = { kconv: summarize([...k.values()]) };
      results[key(`${task}_images_per_s`, net)] = s.kconv.median;
      if (torch) {
        const t = byRound('torch', task, net);
        s.torch = summarize([...t.values()]);
        s.torch_variant = [...new Set(measurements.filter((m) => m.side === 'torch' && m.task === task && m.net === net).map((m) => m.variant))].join('; ');
        s.ratio = summarize(roundRatios(k, t));
        const prefix = task === 'train' ? `ratio_${net}` : `ratio_predict_${net}`;
        results[`${prefix}_median`] = s.ratio.median;
        results[`${prefix}_min`] = s.ratio.min;
        results[`${prefix}_max`] = s.ratio.max;
        results[`torch_${task}_images_per_s_${net}`] = s.torch.median;
      }
      results.summary[`${task}_${net}`] = s;
    }
  }

  log(`start-up: kconv predict one.png, ${STARTUP_RUNS} runs alternating with node -e 0…`);
  results.startup = startup(val, models.get('default'));
  results.startup_ms = results.startup.kconv.median;
  results.startup_floor_ms = results.startup.node.median;

  if (!quick) {
    log('checkpoint text of the wide net with Adam state…');
    const { benchCheckpoint } = await import(join(here, 'checkpoint.mjs'));
    const ck = benchCheckpoint();
    results.checkpoint_ms_wide = ck.checkpoint_text_ms;
    results.checkpoint = ck;
    log('conv layers of the wide net, one thread, im2col and Winograd…');
    const { benchConvLayers } = await import(join(here, 'conv-layers.mjs'));
    results.conv_layers_wide = benchConvLayers({ batches: [Math.ceil(64 / threads), 64], algorithms: ['im2col', 'winograd4'], minMs: 60, repeats: 4 });
    log('data ingest (a 60,000-row file)…');
    const { benchIngest } = await import(join(here, 'ingest.mjs'));
    const ingest = await benchIngest(dataDir, { log });
    results.ingest_mb_per_s_cold = ingest.ingest_mb_per_s_cold;
    results.ingest = ingest;
  }
  results.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
} finally {
  torch?.close();
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * `node bin/kconv.js predict one.png --weights model.json` and `node -e 0`, alternating,
 * each timed from spawn to exit; one warm-up of each first (the file cache).
 */
function startup(images, modelPath) {
  const png = join(tmp, 'one.png');
  const data = new Uint8ClampedArray(28 * 28 * 4);
  for (let i = 0; i < 784; i++) data.set([images.pixels[i], images.pixels[i], images.pixels[i], 255], i * 4);
  writeFileSync(png, encodePng({ width: 28, height: 28, data }));
  const commands = {
    kconv: [join(here, '../bin/kconv.js'), 'predict', png, '--weights', modelPath],
    node: ['-e', '0'],
  };
  const times = { kconv: [], node: [] };
  for (let run = -1; run < STARTUP_RUNS; run++) {
    for (const [name, argv] of Object.entries(commands)) {
      const t = performance.now();
      const p = spawnSync(process.execPath, argv, { encoding: 'utf8' });
      const ms = performance.now() - t;
      if (p.status !== 0) throw new Error(`start-up run failed: node ${argv.join(' ')}: ${p.stderr.trim().split('\n').pop()}`);
      if (run >= 0) times[name].push(ms);
    }
  }
  return { kconv: summarize(times.kconv), node: summarize(times.node), runs: STARTUP_RUNS };
}

const s = results.summary;
const ms = (x) => `${Math.round(x)}`;
const rows = [];
for (const task of ['train', 'predict']) {
  for (const net of NETS) {
    const what = task === 'train'
      ? `train, ${net} net${is3x3(net) ? `, first ${LIMIT_3X3}` : ''} (images/s)`
      : `predict, ${net} net, Dig-MNIST${is3x3(net) ? ` first ${PREDICT_3X3}` : ''} (images/s)`;
    const x = s[`${task}_${net}`];
    rows.push([what, formatRange(x.kconv), formatRange(x.torch), formatRatio(x.ratio)]);
  }
}
rows.push(['start-up, `kconv predict one.png`, default net (ms)', formatRange(results.startup.kconv, ms), '', '']);
rows.push(['start-up floor, `node -e 0` (ms)', formatRange(results.startup.node, ms), '', '']);
if (results.checkpoint_ms_wide !== undefined) rows.push(['checkpoint text, wide net + Adam (ms)', formatNumber(results.checkpoint_ms_wide), '', '']);
if (results.ingest_mb_per_s_cold !== undefined) {
  rows.push(['ingest, 60k rows, one thread (MB/s)', formatNumber(results.ingest_mb_per_s_cold), '', '']);
}
rows.push(['peak RSS (MB)', formatNumber(results.peak_rss_mb), '', '']);
// Without PyTorch the table has no PyTorch columns.
const columns = results.torch_env ? 4 : 2;
const header = [`${threads} thread(s), median (min–max) of ${rounds} round(s)`, 'kconv', results.torch_env ? `PyTorch ${results.torch_env.torch}, best variant` : 'PyTorch', 'kconv / PyTorch'];
const load = results.load_average;
const notes = [
  `kconv ${results.kernels} kernels, Node ${process.versions.node}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; 1-minute load average ${load.min.toFixed(2)}–${load.max.toFixed(2)} (median ${load.median.toFixed(2)}) over the measurements`,
];
if (results.torch_env) {
  notes.push(`PyTorch's fastest variants (${threads} thread(s) each): ${NETS.map((net) => `${net}: train ${s[`train_${net}`].torch_variant}, predict ${s[`predict_${net}`].torch_variant}`).join('; ')}. ${results.torch_env.compile}.`);
}
header.length = columns;
for (const r of rows) r.length = columns;
if (flag('--markdown')) {
  console.log(markdownTable(header, rows));
  console.log('');
  for (const n of notes) console.log(n);
} else {
  console.log(`kconv benchmark: ${threads} thread(s), ${results.kernels} kernels, Node ${process.versions.node}`);
  console.log(textTable(header, rows));
  for (const n of notes) console.log(n);
}
if (results.conv_layers_wide) {
  console.log('\nwide net conv layers, one thread: forward / backward ms (direct-convolution GFLOP/s)');
  for (const r of results.conv_layers_wide) {
    console.log(`  ${r.layer.padEnd(20)} N=${String(r.batch).padEnd(3)} ${r.algorithm.padEnd(10)} ${r.forward_ms.toFixed(2).padStart(7)} (${r.forward_gflops.toFixed(0).padStart(3)})  ${r.backward_ms.toFixed(2).padStart(7)} (${r.backward_gflops.toFixed(0).padStart(3)})`);
  }
}
console.log(JSON.stringify(results));

// The server's load, hostile requests and the page's latency (bench/serve.mjs), with the same
// options; npm passes `npm run bench -- …` options to this script alone.
if (!quick) {
  const serveArgs = args.filter((a, i) => !['--vs-torch', '--markdown', '--rounds', '--limit-3x3'].includes(a) && !['--rounds', '--limit-3x3'].includes(args[i - 1]));
  const serve = spawnSync(process.execPath, [join(here, 'serve.mjs'), ...serveArgs], { stdio: 'inherit' });
  if (serve.status !== 0) process.exitCode = serve.status ?? 1;
}
