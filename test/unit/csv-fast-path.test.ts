/**
 * The fast CSV path (src/data/fast-rows.ts, parse-range.ts) against csv-parse alone
 * (KCONV_CSV=general): every file must give the same images, or the same error
 * (message, line, column), or the same skipped-row report. Named cases cover every
 * row-level message; a fuzzer adds random layouts, line endings and single-byte
 * corruptions.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlainRows } from '../../src/data/fast-rows.js';
import { readDataset, MAX_IMAGES, type ReadOptions } from '../../src/data/index.js';
import { parseLine, type RowJob } from '../../src/data/row-parser.js';
import { RowSink } from '../../src/data/rows.js';
import { DataError } from '../../src/errors.js';
import { Random } from '../../src/random.js';
import { columnsFor, makeCsv, PIXEL_COLUMNS, setField, setLine, tempDir, type TempDir } from '../helpers/csv-fixture.js';

type Outcome =
  | { error: { message: string; line?: number; column?: string } }
  | { n: number; header: string; skipped: { count: number; lines: number[] }; pixels: string; labels: string | null; ids: string | null };

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir('kconv-fast-path-');
});
afterAll(async () => {
  await tmp.remove();
});

const hash = (a: Uint8Array | Int32Array | null) => (a ? createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex') : null);

/** What reading the file gives: its images, or its error; with `parser`, as KCONV_CSV says. */
async function outcome(file: string, opts: ReadOptions, parser?: 'fast' | 'general'): Promise<Outcome> {
  const before = process.env.KCONV_CSV;
  if (parser !== undefined) process.env.KCONV_CSV = parser;
  try {
    const d = await readDataset(file, opts);
    const { n, pixels, labels, ids } = d.images;
    return { n, header: d.header, skipped: d.skipped, pixels: hash(pixels)!, labels: hash(labels), ids: hash(ids) };
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    return { error: { message: err.message, line: err.line, column: err.column } };
  } finally {
    if (before === undefined) delete process.env.KCONV_CSV;
    else process.env.KCONV_CSV = before;
  }
}

/**
 * Reads the file with the fast path and with csv-parse alone, strict and skipping bad
 * rows; expects the same outcome from both each time. Returns the strict outcome.
 */
async function sameBothWays(file: string): Promise<Outcome> {
  let first: Outcome | undefined;
  for (const skipBadRows of [false, true]) {
    const fast = await outcome(file, { skipBadRows }, 'fast');
    const general = await outcome(file, { skipBadRows }, 'general');
    expect(fast, `${file} ${JSON.stringify({ skipBadRows })}`).toEqual(general);
    first ??= fast;
  }
  return first!;
}

const messageOf = (o: Outcome) => ('error' in o ? o.error.message : 'no error');

// 8 rows with id and label (fields: id, label, pixel0…): lines 2 to 9.
const base = makeCsv({ rows: 8, header: 'id+label', seed: 2 });
const px = (text: string, line: number, x: number, value: string) => setField(text, line, `pixel${x}`, value);
const lineOf = (text: string, line: number) => text.split('\n')[line - 1];
/** Large enough that its last rows lie past the 256 KiB that the header check reads for binary bytes. */
const big = makeCsv({ rows: 200, seed: 3 });

/** Files, and the error each gives. */
const named: Array<[string, string | Buffer, RegExp | 'ok']> = [
  ['a plain file', base.text, 'ok'],
  ['CRLF', makeCsv({ rows: 12, eol: '\r\n' }).text, 'ok'],
  ['LF and CRLF alternating', base.text.split('\n').map((l, i) => (i % 2 && l ? `${l}\r` : l)).join('\n'), 'ok'],
  ['a BOM and CRLF', makeCsv({ rows: 6, bom: true, eol: '\r\n' }).text, 'ok'],
  ['no final newline', makeCsv({ rows: 6, finalNewline: false }).text, 'ok'],
  ['no final newline, CRLF', makeCsv({ rows: 6, finalNewline: false, eol: '\r\n' }).text, 'ok'],
  ['blank lines (LF and CRLF) between and after rows', setLine(setLine(base.text, 5, '\n\r'), 8, '\r\n\n') + '\n\r\n', 'ok'],
  ['leading zeros', setField(setField(px(px(base.text, 3, 0, '007'), 4, 1, '0000000000000000000000255'), 5, 'label', '09'), 6, 'id', '0000000000017'), 'ok'],
  ['the largest id', setField(base.text, 9, 'id', '2147483647'), 'ok'],
  ['every field quoted', makeCsv({ rows: 8, quoteAll: true }).text, 'ok'],
  ['a header only', columnsFor('label').join(',') + '\n', 'ok'],
  ['a header and blank lines', columnsFor('label').join(',') + '\n\n\r\n\n', 'ok'],
  ['one quoted field, then a bad value further on', px(px(base.text, 5, 3, '"12"'), 8, 7, 'x'), /:8: column pixel7: "x" is not an integer 0–255/],
  ['a quoted line break', px(base.text, 6, 0, '"1\n2"'), /:6: column pixel0: "1\\n2" is not an integer 0–255/],
  ['an unclosed quote', px(base.text, 7, 9, '"12'), /:7: a quoted field is never closed/],
  ['text after a closing quote', px(base.text, 9, 9, '"12"x'), /:9: a closing quote is followed by something other than a comma/],
  ['a quote inside a field', px(base.text, 9, 9, '1"2'), /:9: a quote inside an unquoted field/],
  ['too few fields', setLine(base.text, 4, lineOf(base.text, 4).split(',').slice(0, 700).join(',')), /:4: row has 700 fields but the header has 786/],
  ['too many fields', setLine(base.text, 4, lineOf(base.text, 4) + ',0'), /:4: row has 787 fields/],
  ['a trailing comma', setLine(base.text, 9, lineOf(base.text, 9) + ','), /:9: row has 787 fields/],
  ['a line of one space', setLine(base.text, 3, ' '), /:3: row has 1 field but the header has 786/],
  ['tab-separated fields', setLine(base.text, 3, lineOf(base.text, 3).replaceAll(',', '\t')), /:3: row has 1 field/],
  ['a space for a comma', setLine(base.text, 3, lineOf(base.text, 3).replace(/,(\d+),(\d+)$/, ',$1 $2')), /:3: row has 785 fields/],
  ['a space for a comma before the label', setLine(base.text, 3, lineOf(base.text, 3).replace(',', ' ')), /:3: row has 785 fields/],
  ['a lone CR in a field', px(base.text, 7, 5, '0\r'), /:7: column pixel5: "0\\r" is not an integer 0–255/],
  ['a line ending CR CR LF', setLine(base.text, 8, lineOf(base.text, 8) + '\r\r'), /:8: column pixel783: ".*\\r" is not an integer/],
  ['a line of a lone CR', setLine(base.text, 8, '\r\r'), /:8: row has 1 field/],
  ['a last line ending in a lone CR', base.text.trimEnd() + '\r', /:9: column pixel783: ".*\\r" is not an integer/],
  ['a lone CR, then a bad row (line numbers after it)', px(px(base.text, 4, 2, '1\r'), 8, 3, 'y'), /:4: column pixel2/],
  ['a NUL byte past the first 256 KiB', px(big.text, 190, 12, '\0'), /:190: column pixel12: "\\u0000" is not an integer 0–255/],
  ['a Latin-1 byte past the first 256 KiB', Buffer.from(px(big.text, 195, 40, 'é'), 'latin1'), /:195: column pixel40: "\uFFFD" is not an integer 0–255/],
  ['a BOM at the start of a row', setField(base.text, 5, 'id', '\uFEFF7'), /:5: column id: "\uFEFF7" is not a non-negative integer/],
  ['an id used twice', setField(base.text, 8, 'id', String(base.ids[3])), /:8: column id: id \d+ is already used on line 5/],
  ['a line longer than 1 MiB', setLine(base.text, 3, '0,'.repeat(600_000) + '0'), /:3: line 3 is longer than 1 MiB/],
  ['CR-only line endings', base.text.replaceAll('\n', '\r'), /:1: uses CR-only line endings/],
];

/** Bad values of each column role. */
const values: Array<[string, string, RegExp]> = [
  ...(
    [
      ['abc', /"abc" is not an integer 0–255/],
      ['1.5', /"1.5" is not an integer 0–255/],
      ['-1', /-1 is negative; expected an integer 0–255/],
      ['256', /256 is out of range; expected an integer 0–255/],
      ['0256', /0256 is out of range/],
      ['99999999999999999999999', /99999999999999999999999 is out of range/],
      ['', /field is empty; expected an integer 0–255/],
      [' 7', /" 7" is not an integer 0–255/],
      ['7 ', /"7 " is not an integer 0–255/],
      ['+7', /"\+7" is not an integer 0–255/],
      ['0x1f', /"0x1f" is not an integer 0–255/],
      ['1e2', /"1e2" is not an integer 0–255/],
      ['٣', /"٣" is not an integer 0–255/],
    ] as const
  ).map(([v, m]): [string, string, RegExp] => [`pixel ${JSON.stringify(v)}`, px(base.text, 7, 312, v), new RegExp(`:7: column pixel312: ${m.source}`)]),
  ...(
    [
      ['10', /10 is out of range; expected an integer 0–9/],
      ['-1', /-1 is negative/],
      ['seven', /"seven" is not an integer 0–9/],
      ['3.0', /"3.0" is not an integer 0–9/],
      ['+1', /"\+1" is not an integer 0–9/],
      ['', /field is empty; expected an integer 0–9/],
    ] as const
  ).map(([v, m]): [string, string, RegExp] => [`label ${JSON.stringify(v)}`, setField(base.text, 5, 'label', v), new RegExp(`:5: column label: ${m.source}`)]),
  ...(
    [
      ['x1', /"x1" is not a non-negative integer/],
      ['-4', /-4 is negative; expected a non-negative integer/],
      ['2147483648', /2147483648 is out of range; expected a non-negative integer/],
      ['1.0', /"1.0" is not a non-negative integer/],
      ['', /field is empty; expected a non-negative integer/],
    ] as const
  ).map(([v, m]): [string, string, RegExp] => [`id ${JSON.stringify(v)}`, setField(base.text, 3, 'id', v), new RegExp(`:3: column id: ${m.source}`)]),
];

describe('the fast path gives what csv-parse gives', () => {
  it.each(named)('%s', async (name, content, expected) => {
    const file = await tmp.write(`${name.replace(/\W+/g, '-')}.csv`, content);
    const strict = await sameBothWays(file);
    if (expected === 'ok') expect(messageOf(strict)).toBe('no error');
    else expect(messageOf(strict)).toMatch(expected);
  });

  it.each(values)('%s', async (name, content, expected) => {
    const file = await tmp.write(`${name.replace(/\W+/g, '-')}.csv`, content);
    expect(messageOf(await sameBothWays(file))).toMatch(expected);
  });

  it.each([
    ['label last', [...PIXEL_COLUMNS, 'label']],
    ['id between pixels', [...PIXEL_COLUMNS.slice(0, 400), 'id', ...PIXEL_COLUMNS.slice(400), 'label']],
    ['label, id', ['label', 'id', ...PIXEL_COLUMNS]],
    ['pixels only', PIXEL_COLUMNS],
    ['pixels in reverse order, label among them', [...PIXEL_COLUMNS.slice(0, 300).reverse(), 'label', ...PIXEL_COLUMNS.slice(300).reverse()]],
  ])('columns in another order: %s', async (name, header) => {
    const fx = makeCsv({ rows: 9, header, seed: 5 });
    const file = await tmp.write(`layout-${name.replace(/\W+/g, '-')}.csv`, fx.text);
    const strict = await sameBothWays(file);
    expect(strict).toMatchObject({ n: 9, pixels: hash(fx.pixels) });
    // Bad rows of every kind, one a line: strict, the first fails; skipping, all are skipped, on both paths.
    let text = setLine(fx.text, 3, lineOf(fx.text, 3) + ',0');
    text = setLine(text, 5, lineOf(text, 5) + ',');
    text = px(text, 6, 500, '256');
    text = header.includes('label') ? setField(text, 8, 'label', '10') : text;
    const bad = await tmp.write(`layout-bad-${name.replace(/\W+/g, '-')}.csv`, text);
    expect(messageOf(await sameBothWays(bad))).toMatch(/:3: row has \d+ fields/);
    const skipped = await outcome(bad, { skipBadRows: true });
    expect('skipped' in skipped && skipped.skipped).toEqual({ count: header.includes('label') ? 4 : 3, lines: header.includes('label') ? [3, 5, 6, 8] : [3, 5, 6] });
  });

  it('rows past the capacity of the arrays make them grow: none is lost', () => {
    const fx = makeCsv({ rows: 7, header: 'id+label', seed: 9 });
    const text = Buffer.from(fx.text.slice(fx.text.indexOf('\n') + 1));
    const roles = [-2, -1, ...PIXEL_COLUMNS.map((_, x) => x)];
    const growing = new RowSink(1, true, true);
    expect(new PlainRows(roles, 2, growing).lines(text, 0, text.length)).toBe(text.length);
    expect(growing.n).toBe(7);
    expect(Buffer.from(growing.pixels.subarray(0, 7 * 784)).equals(Buffer.from(fx.pixels))).toBe(true);
    expect(Array.from(growing.labels!.subarray(0, 7))).toEqual(Array.from(fx.labels));
    expect(Array.from(growing.ids!.subarray(0, 7))).toEqual(Array.from(fx.ids));
    expect(Array.from(growing.idLines!.subarray(0, 7))).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  it('the 2,000,001st row is left to the record writer, which refuses it', () => {
    const line = Buffer.from(makeCsv({ rows: 1 }).text.split('\n')[1] + '\n');
    const job: RowJob = {
      file: 'f.csv', roles: [-1, ...PIXEL_COLUMNS.map((_, x) => x)], hasLabels: true, hasIds: false,
      firstLine: 7, includesHeader: false, capacity: 1, skipBadRows: false, fast: true,
    };
    const sink = new RowSink(1, true, false);
    const plain = new PlainRows(job.roles, 7, sink);
    expect(plain.lines(line, 0, line.length)).toBe(line.length); // accepted: row 1
    sink.n = MAX_IMAGES; // as if the arrays held that many rows
    expect(plain.lines(line, 0, line.length)).toBe(0); // left at line 8
    expect(plain.line).toBe(8);
    expect(() => parseLine(line.subarray(0, line.length - 1), plain.line, job, sink)).toThrow(
      /^f\.csv:8: has more than 2,000,000 rows; kconv reads at most 2,000,000 images from one file: split it$/,
    );
  });
});

/** A random valid file: layout, values (some with leading zeros), line endings, blank lines, BOM, final newline. */
function randomCsv(r: Random): Buffer {
  const kinds = [[], ['label'], ['id'], ['id', 'label'], ['label', 'id']][r.int(5)];
  const pixels = [...PIXEL_COLUMNS];
  if (r.int(4) === 0) r.shuffle(pixels as unknown as number[]); // Random.shuffle swaps any elements
  const columns = [...pixels];
  for (const name of kinds) columns.splice(r.int(3) === 0 ? r.int(columns.length + 1) : 0, 0, name);
  const rows = 2 + r.int(5);
  const lines = [columns.join(',')];
  for (let row = 0; row < rows; row++) {
    const fields = columns.map((name) => {
      const v = name === 'label' ? r.int(10) : name === 'id' ? row * 13 + r.int(13) : r.next() < 0.7 ? 0 : r.int(256);
      return (r.int(50) === 0 ? '0'.repeat(1 + r.int(3)) : '') + String(v);
    });
    lines.push(fields.join(','));
    if (r.int(15) === 0) lines.push('');
  }
  const crlf = r.int(3); // 0: LF, 1: CRLF, 2: mixed
  let text = lines.map((l) => l + (crlf === 1 || (crlf === 2 && r.int(2)) ? '\r\n' : '\n')).join('');
  if (r.int(4) === 0) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
  return Buffer.from((r.int(6) === 0 ? '\uFEFF' : '') + text);
}

/** Bytes that mean something to a CSV parser, and some that do not. */
const TRICKY = Buffer.from('",\r\n -+.0159a\t\0', 'latin1');

/** The file with one byte replaced, inserted or deleted, mostly after the header. */
function corrupted(bytes: Buffer, r: Random): Buffer {
  const dataStart = r.int(20) === 0 ? 0 : bytes.indexOf(0x0a) + 1;
  const at = dataStart + r.int(Math.max(1, bytes.length - dataStart));
  const byte = Buffer.from([r.int(4) === 0 ? [0xff, 0xef, 0xc3][r.int(3)] : TRICKY[r.int(TRICKY.length)]]);
  switch (r.int(3)) {
    case 0:
      return Buffer.concat([bytes.subarray(0, at), byte, bytes.subarray(at + 1)]);
    case 1:
      return Buffer.concat([bytes.subarray(0, at), byte, bytes.subarray(at)]);
    default:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
  }
}

const KINDS = ['no error', 'row has', 'is not', 'is negative', 'out of range', 'field is empty', 'quote', 'already used', 'header', 'line 1'];

describe('fuzz: the fast path and csv-parse agree', () => {
  it('on random valid files and single-byte corruptions of them', { timeout: 120_000 }, async () => {
    const r = new Random(20261128);
    const seen = new Map<string, number>();
    for (let f = 0; f < 12; f++) {
      const clean = randomCsv(r);
      const file = await tmp.write(`fuzz-${f}.csv`, clean);
      expect(messageOf(await sameBothWays(file)), `fuzz-${f}.csv is valid`).toBe('no error');
      for (let c = 0; c < 3; c++) {
        const bad = await tmp.write(`fuzz-${f}-${c}.csv`, corrupted(clean, r));
        const message = messageOf(await sameBothWays(bad));
        const kind = KINDS.find((k) => message.includes(k)) ?? message;
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
      }
    }
    // The corruptions reached the kinds of fault that matter, not only harmless bytes.
    for (const kind of ['no error', 'row has', 'is not', 'quote']) expect([...seen.keys()]).toContain(kind);
  });
});
