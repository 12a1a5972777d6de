import { constants } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PIXELS } from '../data/index.js';
import { OutputError } from '../errors.js';
import { reasonOf } from '../io/atomic-write.js';
import { lockOutput, type FileLock } from '../io/lock.js';
import { CLASSES } from '../net/input.js';

/**
 * `kconv serve --collect DIR`: the digits a user teaches, in DIR/samples.csv, Kaggle layout
 * (label,pixel0…pixel783), so every kconv command reads it.
 *
 * How an append stays whole: writes are serialized in this process (a promise queue), and
 * each row is ONE positional write of the complete line at the file's known end; if it
 * fails (a full disk, a file system turned read-only) the file is truncated back to its
 * previous size, so a row lands whole or not at all. Temp+rename would rewrite the whole
 * file (up to 10,000 rows, ~25 MB) per sample; an O_APPEND write could not be undone
 * exactly on failure. The file is opened for each write (not held open), so its size is
 * checked against ours every time (a file changed behind our back is refused, not
 * overwritten) and its file system can be remounted. Another process is kept out by
 * DIR/samples.csv.lock (src/io/lock.ts).
 * The rows are kept in memory too (at most maxSamples × 785 bytes) for fine-tuning.
 *
 * An existing samples.csv is read and checked whole at start. If it was edited into
 * something that is not a samples file, the server still starts (predicting works) with
 * collecting off, and the page and the API say which line is wrong: the user fixes or
 * moves the file and restarts. Nothing in it is ever overwritten.
 */

export const HEADER = `label,${Array.from({ length: PIXELS }, (_, i) => `pixel${i}`).join(',')}\n`;
export const DEFAULT_MAX_SAMPLES = 10_000;
export const SAMPLES_FILE = 'samples.csv';
/** The longest a row can be: "9," and 784 × "255," (the last with \n). */
const MAX_ROW_BYTES = 2 + PIXELS * 4;

/** A request the store refuses, with the HTTP status that says why. */
export class SampleError extends Error {
  /** `logged`: already in the log (a failed write). */
  constructor(readonly status: number, message: string, readonly logged = false) {
    super(message);
  }
}

export interface SampleCounts {
  /** Whether samples can be added now (false when samples.csv needs fixing). */
  collecting: boolean;
  total: number;
  max: number;
  /** Samples per digit 0–9. */
  counts: number[];
  /** What is wrong with samples.csv, at which line, when collecting is off. */
  problem: string | null;
}

export class SampleStore {
  /** The samples file's path. */
  readonly file: string;
  private readonly pixels: Uint8Array;
  private readonly labels: Uint8Array;
  /** Byte offset where row i starts (ends[i] − its length); ends[n − 1] is the file size. */
  private readonly ends: number[] = [];
  private size = 0;
  private readonly counts = new Array<number>(CLASSES).fill(0);
  private queue: Promise<unknown> = Promise.resolve();
  private fh: FileHandle | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly max: number,
    private readonly lock: FileLock,
    readonly problem: string | null,
    private readonly log: (line: string) => void,
  ) {
    this.file = path.join(dir, SAMPLES_FILE);
    this.pixels = new Uint8Array(max * PIXELS);
    this.labels = new Uint8Array(max);
  }

  /**
   * Opens DIR (created if missing) for collecting: takes its lock, reads and checks its
   * samples.csv, or creates it with the header. Throws OutputError (one line) when DIR
   * cannot be used at all: not a folder, not writable, taken by another server.
   */
  static async open(dir: string, opts: { max?: number; log?: (line: string) => void } = {}): Promise<SampleStore> {
    const max = opts.max ?? DEFAULT_MAX_SAMPLES;
    const label = `--collect ${dir}`;
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new OutputError(`${label}: cannot create the folder: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way (give a folder)' : reasonOf(code, (err as Error).message)}`, code);
    }
    const st = await stat(dir);
    if (!st.isDirectory()) throw new OutputError(`${label}: is a file, not a folder: give a folder for the samples (it is created if missing)`, 'ENOTDIR');
    const file = path.join(dir, SAMPLES_FILE);
    const lock = await lockOutput(file, label);
    try {
      // O_NOFOLLOW: a samples.csv that is a symbolic link could send writes outside DIR.
      let fh: FileHandle;
      try {
        fh = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ELOOP' ? 'is a symbolic link: samples are only written to a file inside the folder; move the link away' : reasonOf(code, (err as Error).message);
        throw new OutputError(`${label}: cannot open ${file} for writing: ${why}`, code);
      }
      const fst = await fh.stat();
      if (!fst.isFile()) {
        await fh.close();
        throw new OutputError(`${label}: ${file} is not a regular file: move it away`);
      }
      const log = opts.log ?? (() => undefined);
      let problem: string | null;
      const store = new SampleStore(dir, max, lock, null, log);
      store.fh = fh;
      try {
        problem = fst.size === 0 ? await store.writeHeader() : await store.read(fst.size);
      } finally {
        store.fh = null;
        await fh.close();
      }
      return problem === null ? store : new SampleStore(dir, max, lock, problem, log);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private async writeHeader(): Promise<null> {
    const bytes = Buffer.from(HEADER);
    try {
      await this.writeAt(bytes, 0);
    } catch (err) {
      await this.fh!.truncate(0).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      throw new OutputError(`--collect ${this.dir}: cannot write ${this.file}: ${reasonOf(code, (err as Error).message)}`, code);
    }
    this.size = bytes.length;
    return null;
  }

  /** Reads the file in, checking every line; returns what is wrong (file:line: …) or null. */
  private async read(size: number): Promise<string | null> {
    const where = (line: number) => `${this.file}:${line}`;
    const cap = HEADER.length + this.max * MAX_ROW_BYTES;
    if (size > cap) return `${this.file}: is ${size} bytes, more than ${this.max} samples can be (--max-samples): is it a samples file? Move it away or raise --max-samples`;
    const buf = Buffer.alloc(size);
    await this.fh!.read(buf, 0, size, 0);
    const text = buf.toString('latin1');
    if (!text.startsWith(HEADER)) {
      const first = text.slice(0, text.indexOf('\n') >>> 0).slice(0, 40);
      return `${where(1)}: the header is not label,pixel0,…,pixel783 (it starts "${first}"): is it a samples file? Fix it or move it away, then restart kconv serve`;
    }
    let at = HEADER.length;
    let line = 2;
    while (at < text.length) {
      const end = text.indexOf('\n', at);
      if (end < 0) return `${where(line)}: the last line does not end with a newline (cut short, or edited by hand): fix it or delete that line, then restart kconv serve`;
      const fields = text.slice(at, end).split(',');
      const bad = checkRow(fields);
      if (bad) return `${where(line)}: ${bad}: fix or delete that line, then restart kconv serve`;
      const n = this.ends.length;
      if (n >= this.max) return `${where(line)}: more than ${this.max} samples (--max-samples): raise --max-samples or move the file away`;
      const label = Number(fields[0]);
      this.labels[n] = label;
      for (let j = 0; j < PIXELS; j++) this.pixels[n * PIXELS + j] = Number(fields[j + 1]);
      this.counts[label]++;
      at = end + 1;
      this.ends.push(at);
      line++;
    }
    this.size = size;
    return null;
  }

  get total(): number {
    return this.ends.length;
  }

  summary(): SampleCounts {
    return { collecting: this.problem === null && !this.closed, total: this.total, max: this.max, counts: [...this.counts], problem: this.problem };
  }

  /** The samples so far (copies: appends after this do not change them). */
  images(): { n: number; pixels: Uint8Array; labels: Uint8Array } {
    const n = this.total;
    return { n, pixels: this.pixels.slice(0, n * PIXELS), labels: this.labels.slice(0, n) };
  }

  /** Appends one sample; resolves once the row is in the file. */
  add(pixels: Uint8Array, label: number): Promise<SampleCounts> {
    return this.withFile('the sample was not saved', async (fh) => {
      if (this.total >= this.max) throw new SampleError(409, `the collection is full: ${this.max} samples (--max-samples); download samples.csv, then start again with another --collect folder or a larger --max-samples`);
      const row = Buffer.from(`${label},${Array.prototype.join.call(pixels, ',')}\n`, 'latin1');
      const before = this.size;
      try {
        await this.writeAt(row, before);
      } catch (err) {
        // Whatever part of the row reached the file goes: it lands whole or not at all.
        await fh.truncate(before).catch(() => undefined);
        throw this.failure(err, 'the sample was not saved');
      }
      const n = this.total;
      this.labels[n] = label;
      this.pixels.set(pixels, n * PIXELS);
      this.counts[label]++;
      this.size = before + row.length;
      this.ends.push(this.size);
      return this.summary();
    });
  }

  /** Removes the last sample (the file is truncated to before it). */
  undo(): Promise<SampleCounts & { removed: number }> {
    return this.withFile('the last sample is still there', async (fh) => {
      const n = this.total;
      if (n === 0) throw new SampleError(409, 'there is no sample to undo');
      const to = n > 1 ? this.ends[n - 2] : HEADER.length;
      try {
        await fh.truncate(to);
        await fh.datasync();
      } catch (err) {
        throw this.failure(err, 'the last sample is still there');
      }
      const label = this.labels[n - 1];
      this.counts[label]--;
      this.ends.pop();
      this.size = to;
      return { ...this.summary(), removed: label };
    });
  }

  /** The whole file as it is now (for the download). */
  content(): Promise<Buffer> {
    return this.withFile('', async (fh) => {
      const buf = Buffer.alloc(this.size);
      await fh.read(buf, 0, this.size, 0);
      return buf;
    });
  }

  /** Waits for the writes in flight, closes the file and releases the lock. */
  async close(): Promise<void> {
    await this.serial(async () => {
      this.closed = true;
    }).catch(() => undefined);
    this.lock.release();
  }

  /**
   * Runs `task` in the queue with the file open (not following a link), after checking it
   * is still the size we left it: a file changed behind our back is refused, not written.
   */
  private withFile<T>(what: string, task: (fh: FileHandle) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      if (this.problem !== null) throw new SampleError(409, `collecting is off: ${this.problem}`);
      if (this.closed) throw new SampleError(503, 'kconv serve is stopping');
      let fh: FileHandle;
      try {
        fh = await open(this.file, constants.O_RDWR | constants.O_NOFOLLOW);
      } catch (err) {
        throw this.failure(err, what || 'nothing was read');
      }
      this.fh = fh;
      try {
        const st = await fh.stat();
        if (!st.isFile() || st.size !== this.size) {
          throw new SampleError(409, `${this.file} was changed by something else while kconv serve ran (${st.size} bytes, not ${this.size}): restart kconv serve to read it again${what ? `; ${what}` : ''}`);
        }
        return await task(fh);
      } finally {
        this.fh = null;
        await fh.close().catch(() => undefined);
      }
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The whole buffer at `offset` (a short write continues where it stopped), then flushed. */
  private async writeAt(bytes: Buffer, offset: number): Promise<void> {
    const fh = this.fh!;
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, offset + done);
      done += bytesWritten;
    }
    await fh.datasync();
  }

  /** A write that failed: one line in the log, and 507 (disk full) or 500 for the client. */
  private failure(err: unknown, what: string): SampleError {
    const code = (err as NodeJS.ErrnoException).code;
    const message = `cannot write ${this.file}: ${reasonOf(code, (err as Error).message)}; ${what}`;
    this.log(`kconv serve: ${message}\n`);
    return new SampleError(code === 'ENOSPC' || code === 'EDQUOT' ? 507 : 500, message, true);
  }
}

/** What is wrong with a row's fields, or null. */
function checkRow(fields: string[]): string | null {
  if (fields.length !== PIXELS + 1) return `has ${fields.length} fields, not 785 (a label and 784 pixels)`;
  if (!/^[0-9]$/.test(fields[0])) return `the label is "${fields[0].slice(0, 20)}", not a digit 0–9`;
  for (let j = 1; j <= PIXELS; j++) {
    const f = fields[j];
    if (!/^\d{1,3}$/.test(f) || Number(f) > 255) return `pixel${j - 1} (field ${j + 1}) is "${f.slice(0, 20)}", not a whole number 0–255`;
  }
  return null;
}
