/**
 * Ingest benchmark: how fast a 60,000-row train-format CSV (105.8 MB: rows of train.csv
 * and Dig-MNIST.csv repeated) becomes typed arrays, cold (no kconv cache: every byte is
 * parsed), on 1 and 2 threads, with the fast path for plain rows and with csv-parse for
 * every row (KCONV_CSV=general); against csv-parse alone, and against numpy.loadtxt and
 * pandas.read_csv (where /usr/bin/python3 has them) measured in the same run; and the
 * peak memory of a first load (cache on, nothing cached yet) in a child process.
 *
 *   node bench/ingest.mjs [dataDir] [--rounds N]   table on stderr, one JSON object on stdout
 *
 * dataDir: default $KCONV_DATA, else ../shared/data/kannada next to the repository.
 * KCONV_BENCH_DIST=/other/checkout/dist measures another build of kconv (say, main's) the same way.
 * Needs the built library (npm run build). The machine is shared and noisy: loads are
 * alternated and the best of --rounds (default 3) counts, and only ratios within one run
 * mean much. The file is read once before timing starts, so every contender reads it from
 * the page cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';

const LIBRARY = process.env.KCONV_BENCH_DIST ? pathToFileURL(path.resolve(process.env.KCONV_BENCH_DIST, 'data/index.js')) : new URL('../dist/data/index.js', import.meta.url);
const ROWS = 60_000;
const MB = 1e6;
const PYTHON = '/usr/bin/python3';

/** Writes the big CSV: train.csv's header, then ROWS rows cycling through both files. */
async function buildCsv(dataDir, file) {
  const rows = [];
  let header;
  for (const name of ['train.csv', 'Dig-MNIST.csv']) {
    const lines = (await readFile(path.join(dataDir, name), 'utf8')).split('\n').filter((l) => l !== '');
    header ??= lines[0];
    if (lines[0] !== header) throw new Error(`${name}: header differs from train.csv's`);
    rows.push(...lines.slice(1));
  }
  const out = createWriteStream(file);
  out.write(header + '\n');
  for (let i = 0; i < ROWS; i++) {
    if (!out.write(rows[i % rows.length] + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function seconds(fn) {
  const t = performance.now();
  const result = await fn();
  return { s: (performance.now() - t) / 1000, result };
}

/** csv-parse on its own: a plain loop over its records, one thread. */
async function csvParseAlone(file) {
  let records = 0;
  for await (const record of createReadStream(file).pipe(parse())) records += record.length > 0 ? 1 : 0;
  return records;
}

/**
 * numpy.loadtxt (dtype uint8: the arrays kconv makes; the default float64 is about 2.5×
 * slower) and pandas.read_csv (its defaults), each timed inside Python (its start-up and
 * imports not counted), one call per run. null where the module is missing.
 */
const PY_LOADERS = {
  numpy: 'import numpy as np\ndef load(f):\n    return np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.uint8)',
  pandas: 'import pandas as pd\ndef load(f):\n    return pd.read_csv(f).to_numpy()',
};
function pythonHas(module) {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}
async function pythonLoad(module, file) {
  const script = `${PY_LOADERS[module]}\nimport sys, time, json\nt = time.perf_counter()\na = load(sys.argv[1])\nprint(json.dumps({"s": time.perf_counter() - t, "shape": list(a.shape)}))`;
  const child = spawn(PYTHON, ['-c', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${module} load exited with code ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop());
  if (r.shape[0] !== ROWS || r.shape[1] !== 785) throw new Error(`${module} read ${r.shape.join('×')} values`);
  return r.s;
}

/** In a child process, so that nothing else in this process counts: a first load's time and peak RSS. */
async function loadInChild(file, cacheDir, csv) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child-load', file, cacheDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KCONV_CSV: csv },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`memory child exited with code ${code}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * What a second thread is worth on this machine right now: a fixed busy loop on one
 * worker thread, then on two at once; 2 × (one's time) / (two's wall time): 2 on an idle
 * machine with two free cores, 1 when others' work takes the second core.
 */
async function threadScaling() {
  const code = `const { parentPort } = require('node:worker_threads');
    parentPort.once('message', () => { let x = 0; for (let i = 0; i < 1e8; i++) x = (x * 31 + i) | 0; parentPort.postMessage(x); });`;
  const wall = async (n) => {
    const workers = Array.from({ length: n }, () => new Worker(code, { eval: true }));
    await Promise.all(workers.map((w) => once(w, 'online')));
    const t = performance.now();
    await Promise.all(workers.map((w) => (w.postMessage(0), once(w, 'message'))));
    const s = performance.now() - t;
    await Promise.all(workers.map((w) => w.terminate()));
    return s;
  };
  return (2 * (await wall(1))) / (await wall(2));
}

/** Peak RSS of this process image in bytes (Linux), else 0. */
function vmHighWaterMark() {
  try {
    const kb = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The child: one load as `kconv train` does it (cache on; the cache folder is new, so this parses and writes it), 2 threads. */
async function childLoad(file, cacheDir) {
  const { readDataset } = await import(LIBRARY);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t = performance.now();
  let info;
  const { images: ds } = await readDataset(file, { cacheDir, threads: 2, onLoad: (i) => (info = i) });
  const s = (performance.now() - t) / 1000;
  clearInterval(sampler);
  // Not resourceUsage().maxRSS: Linux carries it over from the forked copy of the
  // parent (whose memory is large here). VmHWM is this process image's own peak.
  peak = Math.max(peak, process.memoryUsage().rss, vmHighWaterMark());
  process.stdout.write(JSON.stringify({ n: ds.n, s, threads: info.threads, source: info.source, baselineMb: baseline / 2 ** 20, peakAboveMb: (peak - baseline) / 2 ** 20 }) + '\n');
}

export async function benchIngest(dataDir, { log = () => {}, rounds = 3 } = {}) {
  const { readDataset } = await import(LIBRARY);
  const dir = await mkdtemp(path.join(tmpdir(), 'kconv-bench-ingest-'));
  try {
    const file = path.join(dir, 'train-60k.csv');
    await buildCsv(dataDir, file);
    const mb = (await stat(file)).size / MB;
    log(`ingest: ${ROWS} rows, ${mb.toFixed(1)} MB; cold = no kconv cache (the file itself is in the OS page cache for every contender)`);
    const rate = (s) => (mb / s).toFixed(1).padStart(6);
    const line = (what, s, more = '') => log(`  ${what.padEnd(34)} ${rate(s)} MB/s  ${s.toFixed(2)} s${more}`);

    const scalingBefore = await threadScaling();
    log(`  a second thread is worth ${scalingBefore.toFixed(2)} threads now (2: two free cores; 1: none to spare)`);
    const alone = await seconds(() => csvParseAlone(file));
    line('csv-parse alone, 1 thread', alone.s);

    const python = Object.keys(PY_LOADERS).filter(pythonHas);
    for (const m of Object.keys(PY_LOADERS)) if (!python.includes(m)) log(`  (${PYTHON} has no ${m}: not measured)`);

    // Cold loads, alternated with each other and with Python's, best of `rounds`: other
    // work on the machine only ever adds time. csv-parse for every row is slow: once.
    const load = (threads, csvParser) => async () => {
      let info;
      const { images } = await readDataset(file, { cache: false, threads, csvParser, onLoad: (i) => (info = i) });
      if (info.threads !== threads) throw new Error(`asked for ${threads} threads, parsed on ${info.threads}`);
      return images;
    };
    const contenders = {
      fast1: { name: 'kconv fast path, 1 thread', run: load(1, 'fast'), times: [] },
      fast2: { name: 'kconv fast path, 2 threads', run: load(2, 'fast'), times: [] },
      general1: { name: 'kconv KCONV_CSV=general, 1 thread', run: load(1, 'general'), times: [], once: true },
      general2: { name: 'kconv KCONV_CSV=general, 2 threads', run: load(2, 'general'), times: [], once: true },
    };
    for (const m of python) contenders[m] = { name: m === 'numpy' ? 'numpy.loadtxt (uint8)' : 'pandas.read_csv', run: () => pythonLoad(m, file), times: [], python: true };
    let reference = null;
    for (let r = 0; r < rounds; r++) {
      for (const c of Object.values(contenders)) {
        if (c.once && r > 0) continue;
        if (c.python) {
          c.times.push(await c.run());
          continue;
        }
        const { s, result } = await seconds(c.run);
        c.times.push(s);
        reference ??= result;
        if (result.n !== ROWS || Buffer.compare(result.pixels, reference.pixels) !== 0 || Buffer.compare(result.labels, reference.labels) !== 0) {
          throw new Error(`${c.name}: the images differ from the first load's`);
        }
      }
    }
    const best = {};
    for (const [key, c] of Object.entries(contenders)) {
      best[key] = Math.min(...c.times);
      line(c.name, best[key], c.times.length > 1 ? `  (best of ${c.times.map((t) => t.toFixed(2)).join(', ')})` : '');
    }

    // First loads as `kconv train` makes them (hash, parse, cache write), in child processes, new cache folders.
    const memory = await loadInChild(file, path.join(dir, 'cache-fast'), '');
    const memoryGeneral = await loadInChild(file, path.join(dir, 'cache-general'), 'general');
    for (const [m, what] of [[memory, 'fast path'], [memoryGeneral, 'KCONV_CSV=general']]) {
      if (m.source !== 'parse' || m.n !== ROWS) throw new Error('the first load in a child did not parse the file');
      log(`  first load with cache write, ${what.padEnd(17)} ${rate(m.s)} MB/s  ${m.s.toFixed(2)} s, peak RSS ${m.peakAboveMb.toFixed(0)} MB above a ${m.baselineMb.toFixed(0)} MB baseline (${m.threads} threads)`);
    }
    let source = '';
    const warm = await seconds(() => readDataset(file, { cacheDir: path.join(dir, 'cache-fast'), onLoad: (i) => (source = i.source) }));
    if (source !== 'cache') throw new Error('the warm load did not hit the cache');
    line('kconv warm (cache)', warm.s);

    const scalingAfter = await threadScaling();
    log(`  a second thread is worth ${scalingAfter.toFixed(2)} threads now`);

    const round = (x, digits = 1) => Number(x.toFixed(digits));
    const result = {
      ingest_file_mb: round(mb),
      csv_parse_mb_per_s: round(mb / alone.s),
      ingest_mb_per_s_cold: round(mb / best.fast2),
      ingest_mb_per_s_cold_single: round(mb / best.fast1),
      ingest_mb_per_s_cold_general: round(mb / best.general2),
      ingest_mb_per_s_cold_single_general: round(mb / best.general1),
      ingest_parallel_speedup: round(best.fast1 / best.fast2, 2),
      ingest_mb_per_s_first_load: round(mb / memory.s),
      ingest_mb_per_s_warm: round(mb / warm.s),
      ingest_peak_rss_mb_above_baseline: round(memory.peakAboveMb),
      ingest_peak_rss_mb_above_baseline_general: round(memoryGeneral.peakAboveMb),
      thread_scaling: [round(scalingBefore, 2), round(scalingAfter, 2)],
    };
    for (const m of python) {
      result[`${m}_mb_per_s`] = round(mb / best[m]);
      result[`ingest_vs_${m}`] = round(best[m] / best.fast2, 2);
    }
    if (result.ingest_vs_numpy !== undefined) log(`  kconv 2 threads / numpy.loadtxt: ${result.ingest_vs_numpy}× as fast`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child-load') {
    await childLoad(process.argv[3], process.argv[4]);
  } else {
    const args = process.argv.slice(2);
    const at = args.indexOf('--rounds');
    const rounds = at >= 0 ? Number(args.splice(at, 2)[1]) : 3;
    if (!(rounds >= 1)) throw new Error('--rounds takes a number ≥ 1');
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const dataDir = args[0] ?? process.env.KCONV_DATA ?? path.resolve(repo, '../shared/data/kannada');
    const result = await benchIngest(dataDir, { log: (s) => process.stderr.write(s + '\n'), rounds });
    console.log(JSON.stringify(result));
  }
}
