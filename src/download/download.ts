/**
 * `kconv download`, the library part: fetch the six official Kannada-MNIST idx files into
 * <dir>/raw/, verify each against its git blob id, and write the Kaggle-format CSVs
 * (train.csv, test.csv, Dig-MNIST.csv) into <dir>.
 *
 * Nothing is ever half written: a file is fetched to a temporary name beside its final
 * one, verified, then renamed; a CSV is streamed to a temporary name and renamed (both
 * through io/atomic-write.ts, the one way kconv writes files).
 *
 * A rerun skips what is already there and good:
 * - a raw file is skipped when its blob id (recomputed on every run) is the expected one;
 * - a CSV is skipped when its sidecar <dir>/raw/<csv>.sources.json says it was made, in this
 *   CSV layout, from raw files with the blob ids verified now, and the CSV's size and mtime
 *   are the ones recorded when it was written (so an edited or truncated CSV is made again).
 *
 * The library never prints: it reports through `onEvent` and returns a report whose
 * `failures` has one line per file that failed.
 */
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readIdxDataset } from '../data/idx.js';
import { KconvError, UsageError } from '../errors.js';
import { writeAtomic, writeFileAtomic } from '../io/atomic-write.js';
import { isAlive } from '../io/lock.js';
import { gitBlobIdOfFile } from './blob-id.js';
import { writeKaggleCsv } from './csv.js';
import { copyInto, FetchAborted, FetchFailure, fetchInto } from './fetch-file.js';
import { CSV_FILES, OFFICIAL_BASE_URL, OFFICIAL_BLOB_IDS, OFFICIAL_FILES, type CsvName, type OfficialFileName } from '../data/official.js';

export const DEFAULT_DIR = 'data/kannada';
/** Seconds without data before a transfer is given up. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Bump when the CSV writer's output changes: CSVs made by an older layout are made again. */
const CSV_LAYOUT = 1;

/** Ctrl-C during a download: what was verified stays; nothing half written is left. */
export class DownloadInterrupted extends KconvError {
  override readonly exitCode = 130;
}

export interface DownloadOptions {
  /** Where the CSVs go; the raw files go to <dir>/raw. Default `data/kannada`. */
  dir?: string;
  /** A URL base (http, https, file:) or a local folder holding the official file names. Default: the official GitHub repository. */
  mirror?: string;
  /** Give up on a file when no data arrives for this long. Default 30 s. */
  timeoutMs?: number;
  /** Abort (Ctrl-C): throws DownloadInterrupted after removing temporary files. */
  signal?: AbortSignal;
  onEvent?: (event: DownloadEvent) => void;
}

/** Knobs for tests; not part of the CLI. */
export interface InternalDownloadOptions {
  /** Expected blob ids by file name, instead of the official ones (synthetic test files). */
  blobIds?: Partial<Record<OfficialFileName, string>>;
  /** User-Agent header. */
  userAgent?: string;
}

export type DownloadEvent =
  /** A raw file already there with the right blob id: not fetched. */
  | { type: 'verified'; file: OfficialFileName; path: string; bytes: number }
  /** Fetching (or copying) begins; `replacing` when a copy that does not verify is there. */
  | { type: 'fetch'; file: OfficialFileName; from: string; replacing: boolean }
  | { type: 'progress'; file: OfficialFileName; received: number; total: number | null }
  | { type: 'downloaded'; file: OfficialFileName; path: string; bytes: number }
  | { type: 'failed'; file: OfficialFileName; message: string }
  | { type: 'csv-present'; file: CsvName; path: string; rows: number }
  | { type: 'csv-writing'; file: CsvName; path: string }
  | { type: 'csv-written'; file: CsvName; path: string; rows: number; bytes: number }
  | { type: 'csv-failed'; file: CsvName; message: string }
  | { type: 'csv-not-made'; file: CsvName; missing: OfficialFileName[] };

export interface FileOutcome {
  file: OfficialFileName;
  path: string;
  /** `present`: already there and verified (skipped). */
  status: 'downloaded' | 'present' | 'failed';
  bytes?: number;
  /** One line: the file, the reason, where from. */
  error?: string;
  /** The reason alone ("connection refused", "HTTP 404 Not Found"): the same for every file when the source cannot be reached. */
  reason?: string;
}

export interface CsvOutcome {
  file: CsvName;
  path: string;
  /** `present`: up to date (skipped); `not-made`: a source file failed. */
  status: 'written' | 'present' | 'failed' | 'not-made';
  rows?: number;
  sources: [OfficialFileName, OfficialFileName];
  error?: string;
}

export interface DownloadReport {
  dir: string;
  /** The URL base or folder the files came from. */
  source: string;
  files: FileOutcome[];
  csvs: CsvOutcome[];
  /** One line per failure (files, then CSVs); empty when everything is in place. */
  failures: string[];
}

type Source = { kind: 'url'; base: string } | { kind: 'folder'; dir: string };

/** The mirror as a URL base or a folder; a bad one is a usage mistake. */
export async function resolveSource(mirror: string | undefined): Promise<Source> {
  if (mirror === undefined) return { kind: 'url', base: OFFICIAL_BASE_URL };
  if (/^https?:\/\//i.test(mirror)) {
    let url: URL;
    try {
      url = new URL(mirror);
    } catch {
      throw new UsageError(`--mirror ${mirror}: not a valid URL; give an http(s):// URL base or a folder holding the official file names`);
    }
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return { kind: 'url', base: url.href };
  }
  let dir = mirror;
  if (/^file:/i.test(mirror)) {
    try {
      dir = fileURLToPath(mirror);
    } catch {
      throw new UsageError(`--mirror ${mirror}: not a valid file: URL; give an http(s):// URL base or a folder`);
    }
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(mirror)) {
    throw new UsageError(`--mirror ${mirror}: only http://, https:// and file: URLs are supported; or give a folder holding the official file names`);
  }
  const st = await stat(dir).catch(() => null);
  if (!st) throw new UsageError(`--mirror ${mirror}: no such folder; give an http(s):// URL base or a folder holding the official file names`);
  if (!st.isDirectory()) throw new UsageError(`--mirror ${mirror}: not a folder; give an http(s):// URL base or a folder holding the official file names`);
  return { kind: 'folder', dir };
}

/** Fetches, verifies and converts; see the module comment. Throws only for a bad mirror, a <dir> that cannot be made, or an interrupt. */
export async function downloadKannada(opts: DownloadOptions = {}, internal: InternalDownloadOptions = {}): Promise<DownloadReport> {
  const dir = opts.dir ?? DEFAULT_DIR;
  const rawDir = path.join(dir, 'raw');
  const source = await resolveSource(opts.mirror);
  const run: Run = {
    rawDir,
    source,
    mirrored: opts.mirror !== undefined,
    emit: opts.onEvent ?? (() => undefined),
    expected: { ...OFFICIAL_BLOB_IDS, ...internal.blobIds } as Record<OfficialFileName, string>,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    signal: opts.signal,
    userAgent: internal.userAgent,
  };
  await makeFolder(dir, rawDir);
  await removeStaleTemporaries(dir, rawDir);

  const files: FileOutcome[] = [];
  for (const file of OFFICIAL_FILES) files.push(await obtain(run, file));
  const good = new Set(files.filter((f) => f.status !== 'failed').map((f) => f.file));

  const csvs: CsvOutcome[] = [];
  for (const spec of CSV_FILES) {
    const csvPath = path.join(dir, spec.name);
    const sources: [OfficialFileName, OfficialFileName] = [spec.images, spec.labels];
    const missing = sources.filter((s) => !good.has(s));
    if (missing.length > 0) {
      run.emit({ type: 'csv-not-made', file: spec.name, missing });
      csvs.push({ file: spec.name, path: csvPath, status: 'not-made', sources });
      continue;
    }
    csvs.push(await makeCsv(run, spec.name, csvPath, sources));
  }

  const failures = [...files, ...csvs].flatMap((o) => (o.error ? [o.error] : []));
  return { dir, source: source.kind === 'url' ? source.base : source.dir, files, csvs, failures };
}

/** What every step of one download needs. */
interface Run {
  rawDir: string;
  source: Source;
  mirrored: boolean;
  emit: (event: DownloadEvent) => void;
  expected: Record<OfficialFileName, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  userAgent?: string;
}

async function makeFolder(dir: string, rawDir: string): Promise<void> {
  try {
    await mkdir(rawDir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code ?? e.message;
    throw new KconvError(`--dir ${dir}: cannot create the folder ${rawDir} (${why}); give another --dir`);
  }
}

/** One official file: kept when it is there and verifies, else fetched (or copied) to a temporary name, verified, renamed. */
async function obtain(run: Run, file: OfficialFileName): Promise<FileOutcome> {
  const { emit, expected, source } = run;
  const final = path.join(run.rawDir, file);
  const existing = await stat(final).catch(() => null);
  if (existing?.isFile() && (await gitBlobIdOfFile(final)) === expected[file]) {
    emit({ type: 'verified', file, path: final, bytes: existing.size });
    return { file, path: final, status: 'present', bytes: existing.size };
  }
  const from = source.kind === 'url' ? new URL(file, source.base).href : path.join(source.dir, file);
  emit({ type: 'fetch', file, from, replacing: Boolean(existing?.isFile()) });
  const onProgress = (received: number, total: number | null) => emit({ type: 'progress', file, received, total });
  try {
    const bytes = await writeAtomic(
      final,
      (sink) => (source.kind === 'url'
        ? fetchInto(from, sink, { timeoutMs: run.timeoutMs, signal: run.signal, onProgress, userAgent: run.userAgent })
        : copyInto(from, sink, { signal: run.signal, onProgress })),
      { regularOnly: true, beforeReplace: (tmp) => verify(run, file, tmp) },
    );
    emit({ type: 'downloaded', file, path: final, bytes });
    return { file, path: final, status: 'downloaded', bytes };
  } catch (err) {
    if (err instanceof FetchAborted || run.signal?.aborted) {
      throw new DownloadInterrupted(`interrupted while fetching ${file}; the files verified so far are kept, nothing half written is left: run kconv download again to continue`);
    }
    if (!(err instanceof FetchFailure)) throw err; // the local disk, not the download: stop
    const message = `${file}: ${err.message} (${source.kind === 'url' ? 'from ' : ''}${from})${hint(err.message, source, run.mirrored)}`;
    emit({ type: 'failed', file, message });
    return { file, path: final, status: 'failed', error: message, reason: err.message };
  }
}

/** The fetched bytes must be the official file: its blob id, before it takes the final name. */
async function verify(run: Run, file: OfficialFileName, tmp: string): Promise<void> {
  const got = await gitBlobIdOfFile(tmp);
  if (got !== run.expected[file]) throw new FetchFailure(`blob id mismatch: expected ${run.expected[file]}, got ${got}`);
  if (run.signal?.aborted) throw new FetchAborted('interrupted');
}

/** One CSV: kept when its sidecar says it was made from these very files and it is unchanged, else written. */
async function makeCsv(run: Run, name: CsvName, csvPath: string, sources: [OfficialFileName, OfficialFileName]): Promise<CsvOutcome> {
  const { emit, expected, rawDir } = run;
  const sidecar = path.join(rawDir, `${name}.sources.json`);
  const want = { images: { file: sources[0], blobId: expected[sources[0]] }, labels: { file: sources[1], blobId: expected[sources[1]] } };
  const recorded = await readSidecar(sidecar);
  if (recorded && JSON.stringify(recorded.sources) === JSON.stringify(want) && recorded.layout === CSV_LAYOUT) {
    const st = await stat(csvPath).catch(() => null);
    if (st?.isFile() && st.size === recorded.size && st.mtimeMs === recorded.mtimeMs) {
      emit({ type: 'csv-present', file: name, path: csvPath, rows: recorded.rows });
      return { file: name, path: csvPath, status: 'present', rows: recorded.rows, sources };
    }
  }
  emit({ type: 'csv-writing', file: name, path: csvPath });
  try {
    const { images } = await readIdxDataset(path.join(rawDir, sources[0]), { labels: path.join(rawDir, sources[1]) });
    if (run.signal?.aborted) throw new FetchAborted('interrupted');
    const bytes = await writeKaggleCsv(csvPath, images, run.signal);
    const st = await stat(csvPath);
    const record: Sidecar = { format: 'kconv-csv-sources', version: 1, csv: name, layout: CSV_LAYOUT, sources: want, rows: images.n, size: st.size, mtimeMs: st.mtimeMs };
    await writeFileAtomic(sidecar, JSON.stringify(record, null, 2) + '\n');
    emit({ type: 'csv-written', file: name, path: csvPath, rows: images.n, bytes });
    return { file: name, path: csvPath, status: 'written', rows: images.n, sources };
  } catch (err) {
    if (err instanceof FetchAborted || run.signal?.aborted) {
      throw new DownloadInterrupted(`interrupted while writing ${csvPath}; it was not written (the raw files are kept): run kconv download again to continue`);
    }
    if (!(err instanceof KconvError)) throw err;
    const message = `${csvPath}: not made: ${err.message}`;
    emit({ type: 'csv-failed', file: name, message });
    return { file: name, path: csvPath, status: 'failed', sources, error: message };
  }
}

/** What to do, after the reason. */
function hint(reason: string, source: Source, mirrored: boolean): string {
  if (/^blob id mismatch/.test(reason)) {
    return source.kind === 'folder'
      ? '; the file in the mirror folder is corrupt or not the official one'
      : `; the file is corrupt or not the official one: run kconv download again${mirrored ? ', or use another --mirror' : ''}`;
  }
  if (source.kind === 'folder') return '';
  if (/^HTTP 404/.test(reason)) return `; the file is not at this address${mirrored ? ' (check --mirror)' : ''}`;
  if (/^HTTP 5\d\d|timed out|connection|unreachable|lookup|not found|TLS/.test(reason)) return '; run kconv download again to retry';
  return '';
}

interface Sidecar {
  format: 'kconv-csv-sources';
  version: 1;
  csv: CsvName;
  layout: number;
  sources: { images: { file: string; blobId: string }; labels: { file: string; blobId: string } };
  rows: number;
  size: number;
  mtimeMs: number;
}

async function readSidecar(file: string): Promise<Sidecar | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Sidecar;
    return value && value.format === 'kconv-csv-sources' && value.version === 1 ? value : null;
  } catch {
    return null;
  }
}

/**
 * Temporary files left by a kconv download that was killed (SIGKILL, power loss): those of
 * our file names whose process is gone. A temporary of a running kconv is left alone.
 */
async function removeStaleTemporaries(dir: string, rawDir: string): Promise<void> {
  const ours = new Set<string>([...OFFICIAL_FILES, ...CSV_FILES.map((c) => c.name), ...CSV_FILES.map((c) => `${c.name}.sources.json`)]);
  for (const folder of [dir, rawDir]) {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      const m = /^(.+)\.(\d+)\.[0-9a-f]{8}\.(part|tmp)$/.exec(name);
      if (!m || !ours.has(m[1])) continue;
      const pid = Number(m[2]);
      if (pid === process.pid || isAlive(pid)) continue;
      await unlink(path.join(folder, name)).catch(() => undefined);
    }
  }
}
