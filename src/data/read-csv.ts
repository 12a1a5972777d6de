import { availableParallelism } from 'node:os';
import { workersThatFit } from '../io/thread-budget.js';
import { cacheSlot, defaultCacheDir, readCache, writeCache, type CacheSlot } from './cache.js';
import { dataError } from './data-error.js';
import { ID, LABEL, layoutFromHeader, type ColumnLayout } from './header.js';
import { WorkerFailure, WorkerPool, workersAvailable } from './parallel.js';
import { parseRows, type RowJob } from './row-parser.js';
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
      `has no label column (its header is ${describeHeader(layout.kind)}); training needs labelled images with a header such as label,pixel0,…,pixel783`,
      1,
    );
  }

  const threads = chooseThreads(source, opts);
  const job = rowJob(file, layout, skipBadRows);
  // Without the cache the file will be parsed: workers load their code while the file is scanned.
  let pool = threads > 1 && !useCache ? new WorkerPool(source.bytes, job, threads) : null;
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
      if (parallel) pool ??= new WorkerPool(source.bytes, job, threads);
      else await closePool(pool);
      const parsed = await parseFile(source, scan, job, parallel ? pool : null);
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
  if (!workersAvailable()) return 1;
  // Under an address-space limit (ulimit -v) a worker that does not fit would abort the process.
  const fit = workersThatFit(requested);
  return fit >= 2 ? fit : 1;
}

function rowJob(file: string, layout: ColumnLayout, skipBadRows: boolean): RowJob {
  return {
    file,
    roles: layout.roles,
    hasLabels: layout.roles.includes(LABEL),
    hasIds: layout.roles.includes(ID),
    firstLine: 2,
    includesHeader: false,
    capacity: 0,
    skipBadRows,
  };
}

/** Rows of the whole file: on the pool's workers when given one, else on this thread. */
async function parseFile(source: Source, scan: Scan, job: RowJob, pool: WorkerPool | null): Promise<{ rows: ParsedRows; threads: number }> {
  if (pool) {
    try {
      return { rows: await pool.parse(scan.ranges), threads: Math.min(pool.size, scan.ranges.length) };
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
  const input = byteStream(source.bytes, range.start, range.end);
  return { rows: await parseRows(input, { ...job, firstLine: range.firstLine, capacity: range.rows }), threads: 1 };
}

function describeHeader(kind: HeaderKind): string {
  return kind === 'id' ? 'id,pixel0,…: a test file?' : 'pixel0,…,pixel783 only';
}
