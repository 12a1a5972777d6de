/**
 * Small deterministic Kaggle-format CSV files for tests, written to a temp folder
 * (the real data never goes into the repository).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export type HeaderKind = 'label' | 'id' | 'id+label' | 'pixels';

export interface CsvSpec {
  /** Data rows. Default 5. */
  rows?: number;
  /** Which non-pixel columns (default 'label'), or the exact column names in order. */
  header?: HeaderKind | string[];
  eol?: '\n' | '\r\n';
  bom?: boolean;
  /** Default true. */
  finalNewline?: boolean;
  /** Empty lines after the last row. */
  trailingBlankLines?: number;
  /** Put every field in double quotes. */
  quoteAll?: boolean;
  /** Changes the pixel values. */
  seed?: number;
}

export interface Fixture {
  text: string;
  columns: string[];
  /** What a reader should return for the rows. */
  pixels: Uint8Array;
  labels: Uint8Array;
  ids: Int32Array;
}

export const PIXEL_COLUMNS = Array.from({ length: 784 }, (_, x) => `pixel${x}`);

export function columnsFor(kind: HeaderKind): string[] {
  const lead = { label: ['label'], id: ['id'], 'id+label': ['id', 'label'], pixels: [] }[kind];
  return [...lead, ...PIXEL_COLUMNS];
}

/** Pixel x of row `row`: mostly 0 like real digits, otherwise anything 0..255. */
export function pixelValue(row: number, x: number, seed = 0): number {
  const h = (Math.imul(row + 1, 2654435761) ^ Math.imul(x + 1, 40503) ^ Math.imul(seed + 1, 97)) >>> 0;
  return h % 5 === 0 ? (h >>> 8) % 256 : 0;
}

export const labelOf = (row: number) => row % 10;
export const idOf = (row: number) => row * 3 + 7;

export function makeCsv(spec: CsvSpec = {}): Fixture {
  const rows = spec.rows ?? 5;
  const eol = spec.eol ?? '\n';
  const columns = Array.isArray(spec.header) ? spec.header : columnsFor(spec.header ?? 'label');
  const q = (s: string) => (spec.quoteAll ? `"${s}"` : s);
  const pixels = new Uint8Array(rows * 784);
  const labels = new Uint8Array(rows);
  const ids = new Int32Array(rows);
  const lines = [columns.map(q).join(',')];
  for (let r = 0; r < rows; r++) {
    labels[r] = labelOf(r);
    ids[r] = idOf(r);
    const fields = columns.map((name) => {
      if (name === 'label') return String(labels[r]);
      if (name === 'id') return String(ids[r]);
      const x = Number(name.slice('pixel'.length));
      const v = pixelValue(r, x, spec.seed);
      if (name.startsWith('pixel') && x < 784) pixels[r * 784 + x] = v;
      return String(v);
    });
    lines.push(fields.map(q).join(','));
  }
  let text = (spec.bom ? '\uFEFF' : '') + lines.join(eol);
  if (spec.finalNewline ?? true) text += eol;
  text += eol.repeat(spec.trailingBlankLines ?? 0);
  return { text, columns, pixels, labels, ids };
}

/** The text with field `column` of 1-based line `line` set to `value`. */
export function setField(text: string, line: number, column: string, value: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const header = lines[0].replace(/^\uFEFF/, '').split(',');
  const at = header.indexOf(column);
  if (at < 0) throw new Error(`no column ${column}`);
  const fields = lines[line - 1].split(',');
  fields[at] = value;
  lines[line - 1] = fields.join(',');
  return lines.join(eol);
}

/** The text with 1-based line `line` replaced. */
export function setLine(text: string, line: number, content: string): string {
  const lines = text.split('\n');
  lines[line - 1] = content;
  return lines.join('\n');
}

export interface TempDir {
  dir: string;
  /** Writes a file (gzip-compressed when `gzip`) and returns its path. */
  write(name: string, content: string | Uint8Array, gzip?: boolean): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'kconv-test-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return {
    dir,
    async write(name, content, gzip = false) {
      const file = path.join(dir, name);
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      await writeFile(file, gzip ? gzipSync(bytes) : bytes);
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
