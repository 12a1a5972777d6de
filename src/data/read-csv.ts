import { availableParallelism } from 'node:os';
import { workersThatFit } from '../io/thread-budget.js';
import { cacheSlot, defaultCacheDir, readCache, writeCache, type CacheSlot } from './cache.js';
import { dataError } from './data-error.js';
import { ID, LABEL, layoutFromHeader, type ColumnLayout } from './header.js';
import { WorkerFailure, WorkerPool, workersAvailable } from './parallel.js';
import { parseRange } from './parse-range.js';
import { parseRows, sinkFor, type RowJob } from './row-parser.js';
import { trimmed, type ParsedRows } from './rows.js';
import { scanFile, wholeRange, type Scan } from './scan.js';
import { readHeaderLine } from './sniff.js';
import { byteStream, type Source } from './source.js';
import type { DataFile, HeaderKind, InternalReadOptions, LoadInfo, ReadOptions } from './types.js';
import { checkUniqueIds } from './unique-ids.js';

/** Below this size a file is parsed on the calling thread: starting workers costs more than it saves. */
const MIN_PARALLEL_BYTES = 4 * 1024 * 1024;
/** Each worker holds 20–40 MB of heap while parsing: by default no more than this many. */
const MAX_DEFAULT_THREADS = 4;

type Options = ReadOptions & InternalReadOptions;

/**
 * Reads a Kaggle-format CSV (header line, then one image per line; gzip'd too) from
 * an opened source, from the cache when it has a copy: header → scan (hash, line
 * breaks) → parse (here or in workers, through the same descriptor) → cache. Throws
 * DataError with a one-line message for anything that is not a valid file.
 */
export async function readCsv(source: Source, opts: Options = {}): Promise<DataFile> {
  const file = source.name;
  const skipBadRows = opts.skipBadRows ?? false;
  const useCache = opts.cache ?? true;
  const headerLine = await readHeaderLine(source);
  const layout = layoutFromHeader(headerLine.fields, file);
  if (opts.requireLabels && !layout.roles.includes(LABEL)) {
    throw dataError(
      file,
      `has no label column (its header is ${describeHeader(layout.kind)}); ${opts.labelsNeededBy ?? 'training'} needs labelled images with a header such as label,pixel0,…,pixel783${opts.labelsHint ? `; ${opts.labelsHint}` : ''}`,
      1,
    );
  }

  const threads = chooseThreads(source, opts);
  const job = rowJob(file, layout, skipBadRows, csvParser(opts));
  // This thread parses ranges too, beside threads - 1 workers (unless rangesBy says otherwise).
  const workers = opts.rangesBy === 'caller' ? 0 : opts.rangesBy === 'workers' ? threads : threads - 1;
  const newPool = () => new WorkerPool(source.bytes, job, workers);
  // Without the cache the file will be parsed: workers load their code while the file is scanned.
  let pool = threads > 1 && !useCache ? newPool() : null;
  let rows: ParsedRows;
  let kind: HeaderKind = layout.kind;
  let info: LoadInfo;
  try {
    const scan = await scanFile(source.bytes, file, { hash: useCache, dataStart: headerLine.bytes, threads });
    const slot: CacheSlot | null = scan.hash ? cacheSlot(opts.cacheDir ?? defaultCacheDir(), scan.hash, skipBadRows) : null;
    const cached = slot ? await readCache(slot) : null;
    if (cached) {
      ({ kind } = cached);
      rows = cached;
      info = { source: 'cache', threads: 0, cacheFile: slot!.file };
    } else {
      // Quotes could hide a line break inside a field, which line-aligned ranges would cut.
      const parallel = threads > 1 && scan.ranges.length > 1 && !scan.hasQuotes;
      if (parallel) pool ??= newPool();
      else await closePool(pool);
      const parsed = await parseFile(source, scan, job, parallel ? pool : null, opts.rangesBy !== 'workers');
      rows = trimmed(checkUniqueIds(parsed.rows, file, skipBadRows));
      info = { source: 'parse', threads: parsed.threads };
      // What was hashed and what was parsed are the same bytes only if nothing wrote to the file meanwhile.
      await source.checkUnchanged();
      if (slot && (await writeCache(slot, rows, kind))) info.cacheFile = slot.file;
    }
  } finally {
    await closePool(pool);
  }
  opts.onLoad?.(info);

  if (opts.requireRows && rows.n === 0) {
    const why = rows.skipped.count > 0 ? ` (all ${rows.skipped.count} rows were skipped as bad)` : ' (only a header line)';
    throw dataError(file, `has no data rows${why}; expected one row per image after the header`);
  }
  const { n, pixels, labels, ids, skipped } = rows;
  return { images: { n, pixels, labels, ids }, file, format: 'csv', header: kind, skipped };
}

async function closePool(pool: WorkerPool | null): Promise<void> {
  // Awaited: a worker must not read the descriptor after it is closed (or reused).
  await pool?.close();
}

function chooseThreads(source: Source, opts: Options): number {
  const fallback = Math.min(availableParallelism(), MAX_DEFAULT_THREADS);
  const requested = Math.max(1, Math.floor(Number.isFinite(opts.threads) ? opts.threads! : fallback));
  // Streams (standard input, FIFOs) are in memory on this thread: parsed here.
  if (requested === 1 || source.gzip || 'bytes' in source.bytes) return 1;
  if (source.size < (opts.minParallelBytes ?? MIN_PARALLEL_BYTES)) return 1;
  if (opts.rangesBy === 'caller') return requested; // ranges in turn on this thread: no worker
  if (!workersAvailable()) return 1;
  // Under an address-space limit (ulimit -v) a worker that does not fit would abort the process.
  if (opts.rangesBy === 'workers') {
    const fit = workersThatFit(requested);
    return fit >= 2 ? fit : 1;
  }
  return 1 + workersThatFit(requested - 1); // this thread parses too: requested - 1 workers
}

/**
 * Which parser reads the rows: 'fast' (the default) parses plain lines itself and hands
 * every other line to csv-parse; 'general' gives every line to csv-parse. The result is
 * the same either way (tested); KCONV_CSV=general, or the csvParser option, is there
 * to compare the two.
 */
function csvParser(opts: Options): 'fast' | 'general' {
  return opts.csvParser ?? ((process.env.KCONV_CSV ?? '').toLowerCase() === 'general' ? 'general' : 'fast');
}

function rowJob(file: string, layout: ColumnLayout, skipBadRows: boolean, parser: 'fast' | 'general'): RowJob {
  return {
    file,
    roles: layout.roles,
    hasLabels: layout.roles.includes(LABEL),
    hasIds: layout.roles.includes(ID),
    firstLine: 2,
    includesHeader: false,
    capacity: 0,
    skipBadRows,
    fast: parser === 'fast',
  };
}

/** Rows of the whole file: in ranges by the pool (this thread and its workers) when given one, else whole on this thread. */
async function parseFile(source: Source, scan: Scan, job: RowJob, pool: WorkerPool | null, callerParses: boolean): Promise<{ rows: ParsedRows; threads: number }> {
  if (pool) {
    try {
      return { rows: await pool.parse(scan.ranges, callerParses), threads: Math.min(pool.size + (callerParses ? 1 : 0), scan.ranges.length) };
    } catch (err) {
      if (!(err instanceof WorkerFailure)) throw err;
    }
  }
  if (source.gzip) {
    // One decompressed stream from the top; the row count is not known ahead
    // (digit CSV compresses about 8:1, and a row is about 1.8 KB).
    const capacity = Math.min(Math.ceil((source.size * 8) / 1800), 100_000);
    return { rows: await parseRows(byteStream(source.bytes), { ...job, firstLine: 2, includesHeader: true, capacity }), threads: 1 };
  }
  const range = wholeRange(scan.ranges);
  const rangeJob = { ...job, firstLine: range.firstLine, capacity: range.rows };
  return { rows: await parseRange(source.bytes, range, rangeJob, sinkFor(rangeJob)), threads: 1 };
}

function describeHeader(kind: HeaderKind): string {
  return kind === 'id' ? 'id,pixel0,…: a test file?' : 'pixel0,…,pixel783 only';
}
