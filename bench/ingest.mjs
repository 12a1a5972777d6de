/**
 * Ingest benchmark: how fast a 60,000-row train-format CSV (105.8 MB: rows of train.csv
 * and Dig-MNIST.csv repeated) becomes typed arrays, on one thread, with the fast path for
 * plain rows and with csv-parse for every row (KCONV_CSV=general); against csv-parse
 * alone, and against numpy.loadtxt and pandas.read_csv (where /usr/bin/python3 has them)
 * measured in the same rounds; and the time and peak memory of a first load in a fresh
 * child process (as a command makes it).
 *
 *   node bench/ingest.mjs [dataDir] [--rounds N]   table on stderr, one JSON object on stdout
 *
 * dataDir: default $KCONV_DATA, else ../shared/data/kannada next to the repository.
 * KCONV_BENCH_DIST=/other/checkout/dist measures another build of kconv (say, main's) the same way.
 * Needs the built library (npm run build). The machine is shared and noisy: the contenders
 * take turns, round after round (the order reversed every other round), and each figure is
 * the median of --rounds (default 3) with its min–max; only ratios within one run mean
 * much. The file is written before timing starts, so every contender reads it from the
 * page cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import { alternation, summarize } from './stats.mjs';

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

/**
 * Options for builds of kconv before the parsed-data cache and the parallel parse were
 * removed (KCONV_BENCH_DIST=main's dist): no cache, one thread. Ignored by this build.
 */
const OLD_BUILD_OPTIONS = { cache: false, threads: 1 };

/** The file read with KCONV_CSV set to `csv` ('' for the fast path, 'general' for csv-parse on every row). */
async function load(readDataset, file, csv) {
  const before = process.env.KCONV_CSV;
  process.env.KCONV_CSV = csv;
  try {
    return (await readDataset(file, OLD_BUILD_OPTIONS)).images;
  } finally {
    if (before === undefined) delete process.env.KCONV_CSV;
    else process.env.KCONV_CSV = before;
  }
}

/** In a child process, so that nothing else in this process counts: a first load's time and peak RSS. */
async function loadInChild(file, csv) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child-load', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KCONV_CSV: csv },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`memory child exited with code ${code}`);
  return JSON.parse(out.trim().split('\n').pop());
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

/** The child: one load as a command makes it (KCONV_CSV from the parent). */
async function childLoad(file) {
  const { readDataset } = await import(LIBRARY);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t = performance.now();
  const { images: ds } = await readDataset(file, OLD_BUILD_OPTIONS);
  const s = (performance.now() - t) / 1000;
  clearInterval(sampler);
  // Not resourceUsage().maxRSS: Linux carries it over from the forked copy of the
  // parent (whose memory is large here). VmHWM is this process image's own peak.
  peak = Math.max(peak, process.memoryUsage().rss, vmHighWaterMark());
  process.stdout.write(JSON.stringify({ n: ds.n, s, baselineMb: baseline / 2 ** 20, peakAboveMb: (peak - baseline) / 2 ** 20 }) + '\n');
}

const load1 = () => loadavg()[0].toFixed(2);

export async function benchIngest(dataDir, { log = () => {}, rounds = 3 } = {}) {
  const { readDataset } = await import(LIBRARY);
  const dir = await mkdtemp(path.join(tmpdir(), 'kconv-bench-ingest-'));
  try {
    const file = path.join(dir, 'train-60k.csv');
    await buildCsv(dataDir, file);
    const mb = (await stat(file)).size / MB;
    log(`ingest: ${ROWS} rows, ${mb.toFixed(1)} MB, one thread; median (min–max) of ${rounds} alternating rounds; load average ${load1()} at the start`);

    const python = Object.keys(PY_LOADERS).filter(pythonHas);
    for (const m of Object.keys(PY_LOADERS)) if (!python.includes(m)) log(`  (${PYTHON} has no ${m}: not measured)`);

    // Each contender gives seconds, and for a child's first load its peak RSS above its baseline.
    let reference = null;
    const same = (name, images) => {
      reference ??= images;
      if (images.n !== ROWS || Buffer.compare(images.pixels, reference.pixels) !== 0 || Buffer.compare(images.labels, reference.labels) !== 0) {
        throw new Error(`${name}: the images differ from the first load's`);
      }
    };
    const inProcess = (name, csv) => async () => {
      const { s, result } = await seconds(() => load(readDataset, file, csv));
      same(name, result);
      return { s };
    };
    const inChild = (csv) => async () => {
      const m = await loadInChild(file, csv);
      if (m.n !== ROWS) throw new Error('the first load in a child did not read every row');
      return { s: m.s, peakMb: m.peakAboveMb, baselineMb: m.baselineMb };
    };
    const contenders = {
      fast: { name: 'kconv fast path', run: inProcess('fast path', '') },
      general: { name: 'kconv KCONV_CSV=general', run: inProcess('KCONV_CSV=general', 'general') },
      csvParse: { name: 'csv-parse alone', run: async () => ({ s: (await seconds(() => csvParseAlone(file))).s }) },
      firstFast: { name: 'first load in a child, fast path', run: inChild('') },
      firstGeneral: { name: 'first load in a child, general', run: inChild('general') },
    };
    for (const m of python) contenders[m] = { name: m === 'numpy' ? 'numpy.loadtxt (uint8)' : 'pandas.read_csv', run: async () => ({ s: await pythonLoad(m, file) }) };
    for (const c of Object.values(contenders)) c.runs = [];
    for (const { side } of alternation(['ingest'], Object.keys(contenders), rounds)) contenders[side].runs.push(await contenders[side].run());

    const stats = {};
    const range = (x, digits) => `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`;
    for (const [key, c] of Object.entries(contenders)) {
      const s = summarize(c.runs.map((r) => r.s));
      const rate = summarize(c.runs.map((r) => mb / r.s));
      stats[key] = { s, rate };
      let more = '';
      if (c.runs[0].peakMb !== undefined) {
        stats[key].peakMb = summarize(c.runs.map((r) => r.peakMb));
        more = `, peak RSS ${range(stats[key].peakMb, 0)} MB above a ${c.runs[0].baselineMb.toFixed(0)} MB baseline`;
      }
      log(`  ${c.name.padEnd(34)} ${range(rate, 1).padStart(20)} MB/s  ${range(s, 2)} s${more}`);
    }
    log(`  load average ${load1()} at the end (2 cores: above ~1, another process shared the second core)`);

    const round = (x, digits = 1) => Number(x.toFixed(digits));
    const figure = (x, digits = 1) => ({ median: round(x.median, digits), min: round(x.min, digits), max: round(x.max, digits) });
    const result = {
      ingest_file_mb: round(mb),
      rounds,
      ingest_mb_per_s_cold: round(stats.fast.rate.median),
      ingest_mb_per_s: figure(stats.fast.rate),
      ingest_mb_per_s_general: figure(stats.general.rate),
      csv_parse_mb_per_s: figure(stats.csvParse.rate),
      ingest_mb_per_s_first_load: figure(stats.firstFast.rate),
      ingest_mb_per_s_first_load_general: figure(stats.firstGeneral.rate),
      ingest_peak_rss_mb_above_baseline: figure(stats.firstFast.peakMb),
      ingest_peak_rss_mb_above_baseline_general: figure(stats.firstGeneral.peakMb),
      load_average: round(loadavg()[0], 2),
    };
    for (const m of python) {
      result[`${m}_mb_per_s`] = figure(stats[m].rate);
      result[`ingest_vs_${m}`] = round(stats[m].s.median / stats.fast.s.median, 2);
    }
    if (result.ingest_vs_numpy !== undefined) log(`  kconv fast path / numpy.loadtxt: ${result.ingest_vs_numpy}× as fast (medians)`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child-load') {
    await childLoad(process.argv[3]);
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
