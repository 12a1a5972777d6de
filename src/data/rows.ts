import { PIXELS, type Skipped } from './types.js';

export type { Skipped };

/** Most skipped line numbers kept (the count is always exact). */
export const MAX_SKIPPED_LINES = 10;

/** The arrays of a batch of rows. */
export type RowArrays = Pick<ParsedRows, 'pixels' | 'labels' | 'ids' | 'idLines'>;

/** The ArrayBuffers behind some rows, to transfer them between threads. */
export function buffersOf(rows: RowArrays): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const a of [rows.pixels, rows.labels, rows.ids, rows.idLines]) if (a) out.push(a.buffer as ArrayBuffer);
  return out;
}

/**
 * Rows parsed from (part of) a file. Arrays may be longer than n rows (capacity).
 * idLines holds each row's line number, kept only when there are ids, so that a
 * duplicate id can name both lines.
 */
export interface ParsedRows {
  n: number;
  pixels: Uint8Array;
  labels: Uint8Array | null;
  ids: Int32Array | null;
  idLines: Int32Array | null;
  skipped: Skipped;
}

/**
 * Where the row parser writes: typed arrays sized once when the row count is known.
 * When full, they either grow (doubling) or, with `flush`, are handed off whole
 * (a worker transfers them to the main thread) and replaced by fresh ones. A sink
 * made `over` given arrays (a range's place in a file's arrays) never grows.
 */
export class RowSink implements ParsedRows {
  n = 0;
  pixels!: Uint8Array;
  labels!: Uint8Array | null;
  ids!: Int32Array | null;
  idLines!: Int32Array | null;
  skipped: Skipped = { count: 0, lines: [] };
  /** Rows handed off by earlier flushes. */
  flushed = 0;
  private capacity: number;

  constructor(
    capacity: number,
    private readonly hasLabels: boolean,
    private readonly hasIds: boolean,
    private readonly flush?: (full: ParsedRows) => void,
    /** Arrays handed back after a flush, to fill again instead of allocating. */
    private readonly reuse?: () => RowArrays | undefined,
    /** Arrays of exactly `capacity` rows to write in place, never grown: see `over`. */
    private readonly fixed?: RowArrays,
  ) {
    this.capacity = fixed ? capacity : Math.max(1, capacity);
    if (fixed) ({ pixels: this.pixels, labels: this.labels, ids: this.ids, idLines: this.idLines } = fixed);
    else this.allocate();
  }

  /** A sink that writes rows [from, from + capacity) of `arrays` in place. */
  static over(arrays: RowArrays, from: number, capacity: number): RowSink {
    const rows = <T extends Uint8Array | Int32Array>(a: T | null, width: number) => (a ? (a.subarray(from * width, (from + capacity) * width) as T) : null);
    const place = { pixels: rows(arrays.pixels, PIXELS)!, labels: rows(arrays.labels, 1), ids: rows(arrays.ids, 1), idLines: rows(arrays.idLines, 1) };
    return new RowSink(capacity, arrays.labels !== null, arrays.ids !== null, undefined, undefined, place);
  }

  /** Rows that can be written before reserve() must flush or grow the arrays (or, made `over` arrays, fails). */
  get room(): number {
    return this.capacity - this.n;
  }

  /** Makes room for row n (call before writing it). */
  reserve(): void {
    if (this.n < this.capacity) return;
    if (this.fixed) throw new Error(`more rows than the ${this.capacity} lines counted for them`);
    if (this.flush) {
      this.flushRows();
      return;
    }
    this.capacity *= 2;
    this.pixels = grown(this.pixels, this.capacity * PIXELS);
    if (this.labels) this.labels = grown(this.labels, this.capacity);
    if (this.ids) this.ids = grown(this.ids, this.capacity);
    if (this.idLines) this.idLines = grown(this.idLines, this.capacity);
  }

  /** Hands the rows so far to `flush` and starts on fresh arrays. */
  flushRows(): void {
    if (this.n > 0) this.flush!(this);
    this.flushed += this.n;
    this.n = 0;
    this.allocate();
  }

  skip(line: number): void {
    this.skipped.count++;
    if (this.skipped.lines.length < MAX_SKIPPED_LINES) this.skipped.lines.push(line);
  }

  private allocate(): void {
    const spare = this.reuse?.();
    if (spare && spare.pixels.length === this.capacity * PIXELS) {
      ({ pixels: this.pixels, labels: this.labels, ids: this.ids, idLines: this.idLines } = spare);
      return;
    }
    this.pixels = new Uint8Array(this.capacity * PIXELS);
    this.labels = this.hasLabels ? new Uint8Array(this.capacity) : null;
    this.ids = this.hasIds ? new Int32Array(this.capacity) : null;
    this.idLines = this.hasIds ? new Int32Array(this.capacity) : null;
  }
}

function grown<T extends Uint8Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** The first n rows in arrays of exactly that size (copied only when they are longer). */
export function trimmed(rows: ParsedRows): ParsedRows {
  const { n } = rows;
  const fit = <T extends Uint8Array | Int32Array>(a: T | null, len: number): T | null =>
    a === null ? null : a.length === len ? a : (a.slice(0, len) as T);
  return {
    n,
    pixels: fit(rows.pixels, n * PIXELS)!,
    labels: fit(rows.labels, n),
    ids: fit(rows.ids, n),
    idLines: fit(rows.idLines, n),
    skipped: rows.skipped,
  };
}

/** Skipped-row counts added up, keeping the first line numbers in file order. */
export function mergeSkipped(parts: Skipped[]): Skipped {
  const lines = parts.flatMap((p) => p.lines).sort((a, b) => a - b);
  return { count: parts.reduce((sum, p) => sum + p.count, 0), lines: lines.slice(0, MAX_SKIPPED_LINES) };
}

/** Copies rows [from, from+count) of `src` to row `to` of `dst` (same layout; may be the same arrays). */
export function copyRows(dst: ParsedRows, to: number, src: ParsedRows, from: number, count: number): void {
  if (count === 0 || (dst === src && to === from)) return;
  const move = <T extends Uint8Array | Int32Array>(d: T | null, s: T | null, width: number) => {
    if (!d || !s) return;
    if (d === s) d.copyWithin(to * width, from * width, (from + count) * width);
    else d.set(s.subarray(from * width, (from + count) * width), to * width);
  };
  move(dst.pixels, src.pixels, PIXELS);
  move(dst.labels, src.labels, 1);
  move(dst.ids, src.ids, 1);
  move(dst.idLines, src.idLines, 1);
}
