/**
 * Ingest benchmark: how fast a 60,000-row train-format CSV (~100 MB, rows of
 * train.csv and Dig-MNIST.csv repeated) becomes typed arrays, against csv-parse
 * alone, and the peak memory of a load.
 *
 *   node bench/ingest.mjs [dataDir]   (default $KCONV_DATA, else ../shared/data/kannada next to the repository)
 *
 * Needs the built library (npm run build). Prints a table, then the JSON on the last line.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';

const LIBRARY = new URL('../dist/data/index.js', import.meta.url);
const ROWS = 60_000;
const COLD_RUNS = 2;
const MB = 1e6;

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

/** In a child process, so that nothing else in this process counts: a default (cold) load's peak RSS. */
async function peakRssOfLoad(file, cacheDir) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child-load', file, cacheDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
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

async function childLoad(file, cacheDir) {
  const { readDataset } = await import(LIBRARY);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t = performance.now();
  let info;
  const { images: ds } = await readDataset(file, { cacheDir, onLoad: (i) => (info = i) });
  const s = (performance.now() - t) / 1000;
  clearInterval(sampler);
  // Not resourceUsage().maxRSS: Linux carries it over from the forked copy of the
  // parent (whose memory is large here). VmHWM is this process image's own peak.
  peak = Math.max(peak, process.memoryUsage().rss, vmHighWaterMark());
  process.stdout.write(JSON.stringify({ n: ds.n, s, threads: info.threads, baselineMb: baseline / 2 ** 20, peakAboveMb: (peak - baseline) / 2 ** 20 }) + '\n');
}

export async function benchIngest(dataDir, { log = () => {} } = {}) {
  const { readDataset } = await import(LIBRARY);
  const dir = await mkdtemp(path.join(tmpdir(), 'kconv-bench-ingest-'));
  try {
    const file = path.join(dir, 'train-60k.csv');
    const cacheDir = path.join(dir, 'cache');
    await buildCsv(dataDir, file);
    const mb = (await stat(file)).size / MB;
    log(`ingest: ${ROWS} rows, ${mb.toFixed(1)} MB`);

    const alone = await seconds(() => csvParseAlone(file));
    log(`  csv-parse alone          ${(mb / alone.s).toFixed(1).padStart(6)} MB/s  ${alone.s.toFixed(2)} s`);
    // Cold loads, alternated and best of two: other work on the machine only ever adds time.
    let threads = 0;
    const images = async (load) => (await load).images;
    const loadSingle = () => seconds(() => images(readDataset(file, { cache: false, threads: 1 })));
    const loadMulti = () => seconds(() => images(readDataset(file, { cache: false, onLoad: (i) => (threads = i.threads) })));
    const runs = [];
    for (let k = 0; k < COLD_RUNS; k++) runs.push([await loadSingle(), await loadMulti()]);
    const best = (i) => runs.map((r) => r[i]).reduce((a, b) => (b.s < a.s ? b : a));
    const single = best(0);
    const multi = best(1);
    const all = (i) => runs.map((r) => r[i].s.toFixed(2)).join(', ');
    log(`  kconv cold, 1 thread     ${(mb / single.s).toFixed(1).padStart(6)} MB/s  ${single.s.toFixed(2)} s  (best of ${all(0)})`);
    log(`  kconv cold, ${threads} threads    ${(mb / multi.s).toFixed(1).padStart(6)} MB/s  ${multi.s.toFixed(2)} s  (best of ${all(1)}; ×${(single.s / multi.s).toFixed(2)})`);
    if (multi.result.n !== ROWS || Buffer.compare(multi.result.pixels, single.result.pixels) !== 0) {
      throw new Error('parallel and single-thread loads differ');
    }

    // The child's default load (cache on) fills the cache that the warm load then reads.
    const memory = await peakRssOfLoad(file, cacheDir);
    log(`  peak RSS of a cold load  ${memory.peakAboveMb.toFixed(0).padStart(6)} MB above a ${memory.baselineMb.toFixed(0)} MB baseline (child process, ${memory.threads} threads, ${memory.s.toFixed(2)} s)`);
    let source = '';
    const warm = await seconds(() => readDataset(file, { cacheDir, onLoad: (i) => (source = i.source) }));
    if (source !== 'cache') throw new Error('the warm load did not hit the cache');
    log(`  kconv warm (cache)       ${(mb / warm.s).toFixed(1).padStart(6)} MB/s  ${warm.s.toFixed(2)} s`);

    const round = (x, digits = 1) => Number(x.toFixed(digits));
    return {
      csv_parse_mb_per_s: round(mb / alone.s),
      ingest_mb_per_s_cold_single: round(mb / single.s),
      ingest_mb_per_s_cold: round(mb / multi.s),
      ingest_mb_per_s_warm: round(mb / warm.s),
      ingest_parallel_speedup: round(single.s / multi.s, 2),
      ingest_peak_rss_mb_above_baseline: round(memory.peakAboveMb),
      ingest_file_mb: round(mb),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child-load') {
    await childLoad(process.argv[3], process.argv[4]);
  } else {
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const dataDir = process.argv[2] ?? process.env.KCONV_DATA ?? path.resolve(repo, '../shared/data/kannada');
    const result = await benchIngest(dataDir, { log: console.log });
    console.log(JSON.stringify(result));
  }
}
