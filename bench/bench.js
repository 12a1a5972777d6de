/**
 * kconv's benchmark: training and prediction throughput (default, seed, wide and, once the
 * preset exists, bn nets), data ingest, checkpoint writing, per-layer convolution times,
 * peak memory, optionally PyTorch measured in the same run.
 *
 *   npm run bench                      table, then one JSON object as the last line
 *   npm run bench -- --vs-torch        also run ../shared/anchors/torch_ref.py and print ratios
 *   npm run bench -- --threads 1       kconv on one thread
 *   npm run bench -- --quick           only the training and prediction rates
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
import { PRESETS } from '../dist/net/spec.js';
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
/** The 3×3 nets train on the first 4,000 images (as the issue measured them): 4 epochs of all 8,000 take minutes. */
const LIMIT_3X3 = 4000;
const quick = flag('--quick');

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
  async function trainRate(arch, limit = null) {
    const out = join(tmp, `${arch}.json`);
    const r = await train(trainSet, null, {
      arch, epochs: EPOCHS, batchSize: 64, optimizer: 'momentum', lr: 0.05, schedule: 'constant', weightDecay: 0, seed: 1,
      validation: { kind: 'none' }, limit, out, saveBest: false, optimizerState: false, threads, augment: false,
    });
    const n = Math.min(limit ?? trainSet.n, trainSet.n);
    return { rate: n / Math.min(...r.history.slice(1).map((h) => h.seconds)), out, epochSeconds: r.history.map((h) => h.seconds) };
  }

  log(`training the default net (${EPOCHS} epochs of ${trainSet.n}, ${threads} thread(s), ${results.kernels} kernels)…`);
  const def = await trainRate('default');
  results.train_images_per_s = def.rate;
  log('training the seed net…');
  results.train_images_per_s_seed = (await trainRate('seed')).rate;
  log(`training the wide net (${EPOCHS} epochs of the first ${LIMIT_3X3})…`);
  const wide = await trainRate('wide', LIMIT_3X3);
  results.train_images_per_s_wide = wide.rate;
  results.wide_epoch_seconds = wide.epochSeconds;
  if (PRESETS.bn) {
    log(`training the bn net (${EPOCHS} epochs of the first ${LIMIT_3X3})…`);
    results.train_images_per_s_bn = (await trainRate('bn', LIMIT_3X3)).rate;
  } else {
    results.train_images_per_s_bn = 'n/a (no bn layer)';
  }

  log('predicting Dig-MNIST.csv with the default net…');
  const model = await loadModel(def.out);
  /** Images/s of predict() (worker start-up included), the fastest of 3 after a warm-up. */
  async function predictRate(m, data) {
    await predict(m, data, threads);
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await predict(m, data, threads);
      best = Math.min(best, performance.now() - t);
    }
    return data.n / (best / 1000);
  }
  const dig = (await readDataset(join(dataDir, 'Dig-MNIST.csv'))).images;
  results.predict_images_per_s = await predictRate(model, dig);
  results.predict_images_per_s_val = await predictRate(model, (await readDataset(join(dataDir, 'val.csv'))).images);
  log('predicting Dig-MNIST.csv with the wide net…');
  results.predict_images_per_s_wide = await predictRate(await loadModel(wide.out), dig);

  if (!quick) {
    log('checkpoint text of the wide net with Adam state…');
    const { benchCheckpoint } = await import(join(here, 'checkpoint.mjs'));
    const ck = benchCheckpoint();
    results.checkpoint_ms_wide = ck.checkpoint_text_ms;
    results.checkpoint = ck;
    log('conv layers of the wide net, one thread, im2col and Winograd…');
    const { benchConvLayers } = await import(join(here, 'conv-layers.mjs'));
    results.conv_layers_wide = benchConvLayers({ batches: [Math.ceil(64 / threads), 64], algorithms: ['im2col', 'winograd4'], minMs: 60, repeats: 4 });
  }

  const ingestModule = join(here, 'ingest.mjs');
  if (existsSync(ingestModule) && !quick) {
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
    const torchRun = (arch, limit = 0) => {
      log(`PyTorch (${arch} net, ${EPOCHS} epochs${limit ? ` of the first ${limit}` : ''}, ${threads} threads)…`);
      const p = spawnSync('/usr/bin/python3', [script, '--arch', arch, '--epochs', String(EPOCHS), '--threads', String(threads), '--limit', String(limit)], {
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
      const w = torchRun('wide', LIMIT_3X3);
      const b = PRESETS.bn ? torchRun('bn', LIMIT_3X3) : null;
      const torchInfer = (arch) => {
        log(`PyTorch inference on Dig-MNIST.csv, ${arch} net…`);
        const inf = spawnSync('/usr/bin/python3', [join(here, 'torch_infer.py'), join(dataDir, 'Dig-MNIST.csv'), '--threads', String(threads), '--arch', arch], { encoding: 'utf8' });
        if (inf.status !== 0) throw new Error(`torch_infer.py failed: ${inf.stderr.trim().split('\n').pop()}`);
        return JSON.parse(inf.stdout.trim().split('\n').pop()).infer_images_per_s;
      };
      const digRate = torchInfer('default');
      const digRateWide = torchInfer('wide');
      results.torch = {
        version: d.version, train_images_per_s: d.train, train_images_per_s_seed: s.train, train_images_per_s_wide: w.train,
        train_images_per_s_bn: b ? b.train : 'n/a (kconv has no bn preset yet)',
        infer_images_per_s_val: d.infer, infer_images_per_s: digRate, infer_images_per_s_wide: digRateWide,
      };
      results.ratio_predict_dig = results.predict_images_per_s / digRate;
      results.ratio_train_default = results.train_images_per_s / d.train;
      results.ratio_train_seed = results.train_images_per_s_seed / s.train;
      results.ratio_train_wide = results.train_images_per_s_wide / w.train;
      if (b) results.ratio_train_bn = results.train_images_per_s_bn / b.train;
      results.ratio_predict_wide = results.predict_images_per_s_wide / digRateWide;
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
  [`train, wide net, first ${LIMIT_3X3} (images/s)`, results.train_images_per_s_wide, results.torch?.train_images_per_s_wide, results.ratio_train_wide],
  [`train, bn net, first ${LIMIT_3X3} (images/s)`, results.train_images_per_s_bn, results.torch?.train_images_per_s_bn, results.ratio_train_bn],
  ['predict, default net, Dig-MNIST (images/s)', results.predict_images_per_s, results.torch?.infer_images_per_s, results.ratio_predict_dig],
  ['predict, default net, val.csv (images/s)', results.predict_images_per_s_val, results.torch?.infer_images_per_s_val, results.ratio_predict],
  ['predict, wide net, Dig-MNIST (images/s)', results.predict_images_per_s_wide, results.torch?.infer_images_per_s_wide, results.ratio_predict_wide],
  ['checkpoint text, wide net + Adam (ms)', results.checkpoint_ms_wide],
  ['ingest cold, 60k rows (MB/s)', results.ingest_mb_per_s_cold],
  ['ingest warm, cache (MB/s)', results.ingest_mb_per_s_warm],
  ['peak RSS (MB)', results.peak_rss_mb],
];
const table = [['measure', 'kconv', 'PyTorch', 'ratio'], ...rows.map((r) => [0, 1, 2, 3].map((i) => r[i]).map((c, i) => (i === 0 ? c : c === undefined ? '' : i === 3 ? `${c.toFixed(2)}×` : fmt(c))))];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log(`kconv benchmark: ${threads} thread(s), ${results.kernels} kernels, Node ${process.versions.node}`);
for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
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
  const serve = spawnSync(process.execPath, [join(here, 'serve.mjs'), ...args.filter((a) => a !== '--vs-torch')], { stdio: 'inherit' });
  if (serve.status !== 0) process.exitCode = serve.status ?? 1;
}
