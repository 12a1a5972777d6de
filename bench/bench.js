/**
 * kconv's benchmark: training and prediction throughput, data ingest, peak memory,
 * optionally PyTorch measured in the same run.
 *
 *   npm run bench                      table, then one JSON object as the last line
 *   npm run bench -- --vs-torch        also run ../shared/anchors/torch_ref.py and print ratios
 *   npm run bench -- --threads 1       kconv on one thread
 *
 * Data: $KCONV_DATA, else ../shared/data/kannada. Needs `npm run build` (npm install does it).
 * Machines here are shared and noisy: compare ratios from one run, not numbers across runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../dist/data/index.js';
import { kernelInfo } from '../dist/kernels/gemm.js';
import { loadModel } from '../dist/model/weights-file.js';
import { predict } from '../dist/predict/predict.js';
import { train } from '../dist/train/trainer.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const dataDir = resolve(process.env.KCONV_DATA ?? join(here, '../../shared/data/kannada'));
const threads = Number(value('--threads', availableParallelism()));
const anchors = resolve(dataDir, '../../anchors');
const log = (s) => process.stderr.write(s + '\n');
const EPOCHS = 4;

if (!existsSync(join(dataDir, 'train.csv'))) {
  console.error(`bench: no train.csv in ${dataDir}: set KCONV_DATA to the Kannada-MNIST folder`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'kconv-bench-'));
const results = { threads, kernels: kernelInfo().backend };
try {
  const { images: trainSet } = await readDataset(join(dataDir, 'train.csv'), { requireLabels: true });

  /**
   * EPOCHS epochs of train.csv, batch 64, no validation; the first is warm-up and the
   * fastest of the others is the figure (PyTorch is measured the same way below), so a
   * burst of load from another process on this shared machine does not decide it.
   */
  async function trainRate(arch) {
    const out = join(tmp, `${arch}.json`);
    const r = await train(trainSet, null, {
      arch, epochs: EPOCHS, batchSize: 64, optimizer: 'momentum', lr: 0.05, schedule: 'constant', weightDecay: 0, seed: 1,
      validation: { kind: 'none' }, limit: null, out, saveBest: false, optimizerState: false, threads, augment: false,
    });
    return { rate: trainSet.n / Math.min(...r.history.slice(1).map((h) => h.seconds)), out };
  }

  log(`training the default net (${EPOCHS} epochs of ${trainSet.n}, ${threads} thread(s), ${results.kernels} kernels)…`);
  const def = await trainRate('default');
  results.train_images_per_s = def.rate;
  log('training the seed net…');
  results.train_images_per_s_seed = (await trainRate('seed')).rate;

  log('predicting Dig-MNIST.csv with the default net…');
  const model = await loadModel(def.out);
  /** Images/s of predict() (worker start-up included), the fastest of 3 after a warm-up. */
  async function predictRate(data) {
    await predict(model, data, threads);
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await predict(model, data, threads);
      best = Math.min(best, performance.now() - t);
    }
    return data.n / (best / 1000);
  }
  results.predict_images_per_s = await predictRate((await readDataset(join(dataDir, 'Dig-MNIST.csv'))).images);
  results.predict_images_per_s_val = await predictRate((await readDataset(join(dataDir, 'val.csv'))).images);

  const ingestModule = join(here, 'ingest.mjs');
  if (existsSync(ingestModule)) {
    log('data ingest (a 60,000-row file)…');
    const { benchIngest } = await import(ingestModule);
    const ingest = await benchIngest(dataDir, { log });
    results.ingest_mb_per_s_cold = ingest.ingest_mb_per_s_cold;
    results.ingest_mb_per_s_warm = ingest.ingest_mb_per_s_warm;
    results.ingest = ingest;
  }
  results.peak_rss_mb = process.resourceUsage().maxRSS / 1024;

  if (flag('--vs-torch')) {
    const script = join(anchors, 'torch_ref.py');
    const torchRun = (arch) => {
      log(`PyTorch (${arch} net, ${EPOCHS} epochs, ${threads} threads)…`);
      const p = spawnSync('/usr/bin/python3', [script, '--arch', arch, '--epochs', String(EPOCHS), '--threads', String(threads)], {
        encoding: 'utf8', env: { ...process.env, KCONV_DATA: dataDir },
      });
      if (p.status !== 0) throw new Error(`torch_ref.py failed: ${p.stderr.trim().split('\n').pop()}`);
      const j = JSON.parse(p.stdout.trim().split('\n').pop());
      // Epoch 1 includes PyTorch's own warm-up; the fastest later epoch, as for kconv.
      return { train: Math.max(...j.epochs.slice(1).map((e) => e.images_per_s)), infer: j.infer_images_per_s, version: j.anchor };
    };
    if (existsSync(script) && spawnSync('/usr/bin/python3', ['-c', 'import torch']).status === 0) {
      const d = torchRun('default');
      const s = torchRun('seed');
      log('PyTorch inference on Dig-MNIST.csv…');
      const inf = spawnSync('/usr/bin/python3', [join(here, 'torch_infer.py'), join(dataDir, 'Dig-MNIST.csv'), '--threads', String(threads)], { encoding: 'utf8' });
      if (inf.status !== 0) throw new Error(`torch_infer.py failed: ${inf.stderr.trim().split('\n').pop()}`);
      const digRate = JSON.parse(inf.stdout.trim().split('\n').pop()).infer_images_per_s;
      results.torch = { version: d.version, train_images_per_s: d.train, train_images_per_s_seed: s.train, infer_images_per_s_val: d.infer, infer_images_per_s: digRate };
      results.ratio_predict_dig = results.predict_images_per_s / digRate;
      results.ratio_train_default = results.train_images_per_s / d.train;
      results.ratio_train_seed = results.train_images_per_s_seed / s.train;
      results.ratio_predict = results.predict_images_per_s_val / d.infer;
    } else {
      log('--vs-torch: /usr/bin/python3 has no torch (apt-get install python3-torch); skipped');
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const fmt = (x) => (typeof x === 'number' ? (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(2)) : String(x));
const rows = [
  ['train, default net (images/s)', results.train_images_per_s, results.torch?.train_images_per_s, results.ratio_train_default],
  ['train, seed net (images/s)', results.train_images_per_s_seed, results.torch?.train_images_per_s_seed, results.ratio_train_seed],
  ['predict, default net, Dig-MNIST (images/s)', results.predict_images_per_s, results.torch?.infer_images_per_s, results.ratio_predict_dig],
  ['predict, default net, val.csv (images/s)', results.predict_images_per_s_val, results.torch?.infer_images_per_s_val, results.ratio_predict],
  ['ingest cold, 60k rows (MB/s)', results.ingest_mb_per_s_cold],
  ['ingest warm, cache (MB/s)', results.ingest_mb_per_s_warm],
  ['peak RSS (MB)', results.peak_rss_mb],
];
const table = [['measure', 'kconv', 'PyTorch', 'ratio'], ...rows.map((r) => [0, 1, 2, 3].map((i) => r[i]).map((c, i) => (i === 0 ? c : c === undefined ? '' : i === 3 ? `${c.toFixed(2)}×` : fmt(c))))];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log(`kconv benchmark: ${threads} thread(s), ${results.kernels} kernels, Node ${process.versions.node}`);
for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log(JSON.stringify(results));
