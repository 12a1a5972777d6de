import { PIXELS, type Skipped } from './types.js';

export type { Skipped };

/** Most skipped line numbers kept (the count is always exact). */
export const MAX_SKIPPED_LINES = 10;

/**
 * Rows parsed from a file. Arrays may be longer than n rows (capacity).
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
 * Where the row parser writes: typed arrays sized once for the lines the scan counted,
 * which grow (doubling) only when there are more rows than that (gzip, whose lines are
 * not counted ahead).
 */
export class RowSink implements ParsedRows {
  n = 0;
  pixels: Uint8Array;
  labels: Uint8Array | null;
  ids: Int32Array | null;
  idLines: Int32Array | null;
  skipped: Skipped = { count: 0, lines: [] };
  private capacity: number;

  constructor(capacity: number, hasLabels: boolean, hasIds: boolean) {
    this.capacity = Math.max(1, capacity);
    this.pixels = new Uint8Array(this.capacity * PIXELS);
    this.labels = hasLabels ? new Uint8Array(this.capacity) : null;
    this.ids = hasIds ? new Int32Array(this.capacity) : null;
    this.idLines = hasIds ? new Int32Array(this.capacity) : null;
  }

  /** Rows that can be written before reserve() must grow the arrays. */
  get room(): number {
    return this.capacity - this.n;
  }

  /** Makes room for row n (call before writing it). */
  reserve(): void {
    if (this.n < this.capacity) return;
    this.capacity *= 2;
    this.pixels = grown(this.pixels, this.capacity * PIXELS);
    if (this.labels) this.labels = grown(this.labels, this.capacity);
    if (this.ids) this.ids = grown(this.ids, this.capacity);
    if (this.idLines) this.idLines = grown(this.idLines, this.capacity);
  }

  skip(line: number): void {
    this.skipped.count++;
    if (this.skipped.lines.length < MAX_SKIPPED_LINES) this.skipped.lines.push(line);
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
