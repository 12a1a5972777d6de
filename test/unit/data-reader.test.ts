import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../src/errors.js';
import { readDataset as readDataFile, type ReadOptions } from '../../src/data/index.js';
import { readCsv } from '../../src/data/read-csv.js';
import { openSource } from '../../src/data/source.js';
import { columnsFor, makeCsv, PIXEL_COLUMNS, setField, setLine, tempDir, type TempDir } from '../helpers/csv-fixture.js';
import { flat } from '../helpers/flat.js';

const readDataset = async (file: string, opts?: ReadOptions) => flat(await readDataFile(file, opts));
/** The CSV reader alone, on a file opened for it. */
async function readCsvDataset(file: string, opts: ReadOptions = {}) {
  const source = await openSource(file);
  try {
    return await readCsv(source, opts);
  } finally {
    await source.close();
  }
}

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('no error');
    },
    (err: Error) => err,
  );
}

/** The DataError that reading `file` throws. */
async function failure(file: string, opts: ReadOptions = {}): Promise<DataError> {
  try {
    await readDataset(file, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    const e = err as DataError;
    expect(e.message).not.toContain('\n'); // one line, for the CLI to print as is
    expect(e.message.startsWith(file)).toBe(true);
    return e;
  }
  throw new Error(`${file} was read without an error`);
}

describe('readDataset: valid files', () => {
  it('reads a label file: pixels, labels, header kind', async () => {
    const fx = makeCsv({ rows: 12 });
    const file = await tmp.write('train.csv', fx.text);
    const ds = await readDataset(file);
    expect(ds.n).toBe(12);
    expect(ds.header).toBe('label');
    expect(ds.file).toBe(file);
    expect(ds.pixels).toEqual(fx.pixels);
    expect(ds.labels).toEqual(fx.labels);
    expect(ds.ids).toBeNull();
    expect(ds.skipped).toEqual({ count: 0, lines: [] });
  });

  it('reads an id (test) file', async () => {
    const fx = makeCsv({ rows: 7, header: 'id' });
    const ds = await readDataset(await tmp.write('test.csv', fx.text));
    expect(ds.header).toBe('id');
    expect(ds.labels).toBeNull();
    expect(ds.ids).toEqual(fx.ids);
    expect(ds.pixels).toEqual(fx.pixels);
  });

  it('reads a file with both id and label', async () => {
    const fx = makeCsv({ rows: 6, header: 'id+label' });
    const ds = await readDataset(await tmp.write('both.csv', fx.text));
    expect(ds.header).toBe('id+label');
    expect(ds.ids).toEqual(fx.ids);
    expect(ds.labels).toEqual(fx.labels);
    expect(ds.pixels).toEqual(fx.pixels);
  });

  it('reads a pixels-only file', async () => {
    const fx = makeCsv({ rows: 4, header: 'pixels' });
    const ds = await readDataset(await tmp.write('pixels.csv', fx.text));
    expect(ds.header).toBe('pixels');
    expect(ds.labels).toBeNull();
    expect(ds.ids).toBeNull();
    expect(ds.pixels).toEqual(fx.pixels);
  });

  it('finds columns by name, in any order', async () => {
    const shuffled = [...PIXEL_COLUMNS].reverse();
    shuffled.splice(300, 0, 'label');
    shuffled.splice(10, 0, 'id');
    const fx = makeCsv({ rows: 5, header: shuffled });
    const ds = await readDataset(await tmp.write('reordered.csv', fx.text));
    expect(ds.header).toBe('id+label');
    expect(ds.pixels).toEqual(fx.pixels);
    expect(ds.labels).toEqual(fx.labels);
    expect(ds.ids).toEqual(fx.ids);
  });

  it.each([
    ['CRLF line endings', { eol: '\r\n' as const }],
    ['a UTF-8 BOM', { bom: true }],
    ['a BOM and CRLF', { bom: true, eol: '\r\n' as const }],
    ['quoted fields', { quoteAll: true }],
    ['no final newline', { finalNewline: false }],
    ['no final newline with CRLF', { finalNewline: false, eol: '\r\n' as const }],
    ['blank trailing lines', { trailingBlankLines: 3 }],
    ['blank trailing lines with CRLF', { trailingBlankLines: 2, eol: '\r\n' as const }],
  ])('accepts %s', async (name, spec) => {
    const fx = makeCsv({ rows: 9, ...spec });
    const ds = await readDataset(await tmp.write(`${name.replace(/\W+/g, '-')}.csv`, fx.text));
    expect(ds.n).toBe(9);
    expect(ds.pixels).toEqual(fx.pixels);
    expect(ds.labels).toEqual(fx.labels);
  });

  it('reads .csv.gz files (and gzip content whatever the name)', async () => {
    const fx = makeCsv({ rows: 20, eol: '\r\n', bom: true });
    for (const name of ['train.csv.gz', 'train-gzipped.csv']) {
      const ds = await readDataset(await tmp.write(name, fx.text, true));
      expect(ds.n).toBe(20);
      expect(ds.pixels).toEqual(fx.pixels);
      expect(ds.labels).toEqual(fx.labels);
    }
  });

  it('accepts a header with no rows (n = 0), with and without a final newline', async () => {
    for (const text of [columnsFor('label').join(',') + '\n', columnsFor('label').join(',')]) {
      const ds = await readDataset(await tmp.write('header-only.csv', text));
      expect(ds.n).toBe(0);
      expect(ds.pixels.length).toBe(0);
      expect(ds.labels?.length).toBe(0);
    }
  });

  it('ignores blank lines between rows and keeps later line numbers exact', async () => {
    const fx = makeCsv({ rows: 6 });
    const lines = fx.text.split('\n');
    lines.splice(3, 0, '', ''); // after line 3
    const text = lines.join('\n');
    const ds = await readDataset(await tmp.write('blank-middle.csv', text));
    expect(ds.n).toBe(6);
    expect(ds.pixels).toEqual(fx.pixels);
    const file = await tmp.write('blank-middle-bad.csv', setField(text, 7, 'pixel2', 'x'));
    expect((await failure(file)).message).toContain(`${file}:7: column pixel2:`);
  });

  it('accepts integers with leading zeros', async () => {
    const fx = makeCsv({ rows: 3 });
    const text = setField(setField(fx.text, 2, 'pixel5', '007'), 3, 'label', '01');
    const ds = await readDataset(await tmp.write('zeros.csv', text));
    expect(ds.pixels[5]).toBe(7);
    expect(ds.labels![1]).toBe(1);
  });
});

describe('readDataset: files that cannot be read', () => {
  it('missing file', async () => {
    const e = await failure(`${tmp.dir}/nope.csv`);
    expect(e.message).toMatch(/not found/);
  });

  it('a directory', async () => {
    const dir = `${tmp.dir}/a-folder.csv`;
    await mkdir(dir, { recursive: true });
    const e = await failure(dir);
    expect(e.message).toMatch(/is a directory/);
  });

  it('an empty file, and an empty gzip file', async () => {
    expect((await failure(await tmp.write('empty.csv', ''))).message).toMatch(/is empty/);
    expect((await failure(await tmp.write('empty.csv.gz', '', true))).message).toMatch(/is empty/);
  });

  it('no header: the first line is data', async () => {
    const fx = makeCsv({ rows: 3 });
    const text = fx.text.split('\n').slice(1).join('\n');
    const file = await tmp.write('no-header.csv', text);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:1:`);
    expect(e.message).toMatch(/no header/);
    expect(e.line).toBe(1);
  });

  it('a blank first line', async () => {
    const file = await tmp.write('blank-first.csv', '\n' + makeCsv().text);
    expect((await failure(file)).message).toContain(`${file}:1: line 1 is blank`);
  });

  it('a header without all the pixel columns names the first missing one and the count', async () => {
    const columns = columnsFor('label').filter((c) => c !== 'pixel17' && c !== 'pixel500' && c !== 'pixel783');
    const file = await tmp.write('missing-pixels.csv', makeCsv({ header: columns }).text);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:1:`);
    expect(e.message).toContain('pixel17');
    expect(e.message).toMatch(/3 of the 784 pixel columns/);
  });

  it('a header with no pixel columns at all', async () => {
    const file = await tmp.write('no-pixels.csv', 'label,id\n3,4\n');
    expect((await failure(file)).message).toMatch(/none of the 784 pixel columns/);
  });

  it('a duplicated column', async () => {
    const columns = [...columnsFor('label'), 'pixel3'];
    const file = await tmp.write('dup-column.csv', makeCsv({ header: columns }).text);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:1: column pixel3:`);
    expect(e.message).toMatch(/appears twice \(fields 5 and 786\)/);
    expect(e.column).toBe('pixel3');
  });

  it('an unknown column', async () => {
    const columns = [...columnsFor('label')];
    columns.splice(2, 0, 'weight');
    const file = await tmp.write('unknown-column.csv', makeCsv({ header: columns }).text);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:1:`);
    expect(e.message).toContain('"weight" (field 3)');
    const past = await failure(await tmp.write('pixel784.csv', makeCsv({ header: [...columnsFor('label'), 'pixel784'] }).text));
    expect(past.message).toMatch(/"pixel784".*pixel0 to pixel783/);
  });

  it('a semicolon-separated file says that fields must be separated by commas', async () => {
    const file = await tmp.write('semicolons.csv', makeCsv().text.replaceAll(',', ';'));
    expect((await failure(file)).message).toMatch(/separated by commas/);
  });

  it('a row with too few or too many fields', async () => {
    const fx = makeCsv({ rows: 6 });
    const lines = fx.text.split('\n');
    const fewer = setLine(fx.text, 4, lines[3].split(',').slice(0, 700).join(','));
    const file = await tmp.write('few.csv', fewer);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:4: row has 700 fields but the header has 785`);
    expect(e.message).toContain('--skip-bad-rows');
    expect(e.line).toBe(4);

    const one = await tmp.write('one-field.csv', setLine(fx.text, 3, ' '));
    expect((await failure(one)).message).toContain(`${one}:3: row has 1 field but the header has 785`);

    const more = setLine(fx.text, 6, lines[5] + ',0');
    const file2 = await tmp.write('more.csv', more);
    expect((await failure(file2)).message).toContain(`${file2}:6: row has 786 fields`);
  });

  it.each([
    ['a word', 'abc', /"abc" is not an integer 0–255/],
    ['a float', '1.5', /"1.5" is not an integer 0–255/],
    ['a negative number', '-1', /-1 is negative; expected an integer 0–255/],
    ['256', '256', /256 is out of range; expected an integer 0–255/],
    ['an empty field', '', /field is empty; expected an integer 0–255/],
    ['a space', ' 7', /" 7" is not an integer 0–255/],
  ])('a pixel that is %s', async (name, value, expected) => {
    const text = setField(makeCsv({ rows: 20 }).text, 17, 'pixel312', value);
    const file = await tmp.write(`bad-pixel-${name.replace(/\W+/g, '-')}.csv`, text);
    const e = await failure(file);
    expect(e.message).toContain(`${file}:17: column pixel312: `);
    expect(e.message).toMatch(expected);
    expect(e.message).toMatch(/\(use --skip-bad-rows to skip bad rows\)$/);
    expect([e.file, e.line, e.column]).toEqual([file, 17, 'pixel312']);
  });

  it('keeps line numbers exact with CRLF, a BOM and quoted fields', async () => {
    const text = setField(makeCsv({ rows: 10, eol: '\r\n', bom: true, quoteAll: true }).text, 9, '"pixel40"', '"x"');
    const file = await tmp.write('crlf-bad.csv', text);
    expect((await failure(file)).message).toContain(`${file}:9: column pixel40: "x" is not`);
  });

  it('keeps line numbers exact in gzip files', async () => {
    const text = setField(makeCsv({ rows: 10 }).text, 8, 'pixel0', '300');
    const file = await tmp.write('bad.csv.gz', text, true);
    expect((await failure(file)).message).toContain(`${file}:8: column pixel0: 300 is out of range`);
  });

  it.each([
    ['10', /10 is out of range; expected an integer 0–9/],
    ['-1', /-1 is negative/],
    ['seven', /"seven" is not an integer 0–9/],
    ['3.0', /"3.0" is not an integer 0–9/],
    ['', /field is empty/],
  ])('a label %j', async (value, expected) => {
    const file = await tmp.write('bad-label.csv', setField(makeCsv({ rows: 5 }).text, 5, 'label', value));
    const e = await failure(file);
    expect(e.message).toContain(`${file}:5: column label: `);
    expect(e.message).toMatch(expected);
  });

  it('a bad id', async () => {
    const file = await tmp.write('bad-id.csv', setField(makeCsv({ rows: 5, header: 'id' }).text, 3, 'id', 'x1'));
    expect((await failure(file)).message).toContain(`${file}:3: column id: "x1" is not a non-negative integer`);
  });

  it('a duplicated id names both lines', async () => {
    const fx = makeCsv({ rows: 8, header: 'id' });
    const file = await tmp.write('dup-id.csv', setField(fx.text, 7, 'id', String(fx.ids[1])));
    const e = await failure(file);
    expect(e.message).toContain(`${file}:7: column id: id ${fx.ids[1]} is already used on line 3`);
  });

  it('a binary file (NUL bytes): says on which line', async () => {
    const bytes = Buffer.concat([Buffer.from('label,pixel0\n'), Buffer.alloc(100), Buffer.from([1, 2, 3])]);
    const file = await tmp.write('binary.csv', bytes);
    expect((await failure(file)).message).toBe(`${file}:2: line 2 has a NUL byte (byte 14 of the file): binary data, not CSV text`);
  });

  it('a file that is not UTF-8: says which byte on which line', async () => {
    const bytes = Buffer.from([0x6c, 0x61, 0x62, 0xff, 0xfe, 0x80, 0x0a, 0x31, 0x0a]);
    const file = await tmp.write('latin.csv', bytes);
    expect((await failure(file)).message).toBe(`${file}:1: line 1 has byte 0xFF (Latin-1 "ÿ"?), which is not UTF-8 text; save the file as UTF-8`);
  });

  it('the CSV reader recognises an idx file, plain or gzip (readDataset hands idx images to the idx reader)', async () => {
    const idx = Buffer.alloc(16 + 784 * 2);
    idx.writeUInt32BE(0x00000803, 0);
    idx.writeUInt32BE(2, 4);
    idx.writeUInt32BE(28, 8);
    idx.writeUInt32BE(28, 12);
    for (const [name, bytes] of [
      ['train-images-idx3-ubyte', idx],
      ['train-images-idx3-ubyte.gz', gzipSync(idx)],
    ] as const) {
      const file = await tmp.write(name, bytes);
      const e = await errorOf(readCsvDataset(file));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(/^.*: looks like an idx images file \(binary MNIST format\), not CSV/);
    }
  });

  it('a UTF-16 file', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('label,pixel0\n', 'utf16le')]);
    expect((await failure(await tmp.write('utf16.csv', bytes))).message).toMatch(/UTF-16/);
  });

  it('a truncated gzip file', async () => {
    const gz = gzipSync(Buffer.from(makeCsv({ rows: 200 }).text));
    const e = await failure(await tmp.write('truncated.csv.gz', gz.subarray(0, gz.length - 200)));
    expect(e.message).toMatch(/gzip data is corrupt or truncated/);
  });

  it('a file named .gz that is not gzip is read as what it is', async () => {
    const fx = makeCsv({ rows: 2 });
    const ds = await readDataset(await tmp.write('plain.csv.gz', fx.text));
    expect(ds.pixels).toEqual(fx.pixels);
  });

  it('an unclosed quote', async () => {
    const text = setField(makeCsv({ rows: 5 }).text, 4, 'pixel9', '"12');
    const file = await tmp.write('open-quote.csv', text);
    expect((await failure(file)).message).toContain(`${file}:4: a quoted field is never closed`);
  });
});

describe('readDataset: options', () => {
  it('requireLabels fails on a file without a label column', async () => {
    const file = await tmp.write('unlabelled.csv', makeCsv({ header: 'id' }).text);
    const e = await failure(file, { requireLabels: true });
    expect(e.message).toContain(`${file}:1: has no label column`);
    const labelled = await tmp.write('labelled.csv', makeCsv().text);
    await expect(readDataset(labelled, { requireLabels: true })).resolves.toMatchObject({ n: 5 });
  });

  it('requireRows fails on a file with no data rows', async () => {
    const file = await tmp.write('no-rows.csv', columnsFor('label').join(',') + '\n\n');
    const e = await failure(file, { requireRows: true });
    expect(e.message).toMatch(/has no data rows/);
    await expect(readDataset(file)).resolves.toMatchObject({ n: 0 });
  });

  it('skipBadRows skips row faults and reports how many and where', async () => {
    const fx = makeCsv({ rows: 30, header: 'id+label' });
    let text = fx.text;
    text = setField(text, 4, 'pixel10', 'abc');
    text = setField(text, 9, 'label', '12');
    text = setField(text, 12, 'id', String(fx.ids[0])); // same id as line 2
    text = setField(text, 20, 'id', '-4');
    text = setLine(text, 25, '1,2,3');
    const file = await tmp.write('dirty.csv', text);
    await failure(file); // without the option, the first fault stops the read
    const ds = await readDataset(file, { skipBadRows: true });
    expect(ds.skipped).toEqual({ count: 5, lines: [4, 9, 12, 20, 25] });
    const kept = [...Array(30).keys()].filter((r) => ![2, 7, 10, 18, 23].includes(r));
    expect(ds.n).toBe(kept.length);
    expect(Array.from(ds.ids!)).toEqual(kept.map((r) => fx.ids[r]));
    expect(Array.from(ds.labels!)).toEqual(kept.map((r) => fx.labels[r]));
    kept.forEach((r, i) => expect(ds.pixels.subarray(i * 784, (i + 1) * 784)).toEqual(fx.pixels.subarray(r * 784, (r + 1) * 784)));
  });

  it('skipBadRows keeps the first 10 line numbers and the full count', async () => {
    let text = makeCsv({ rows: 40 }).text;
    for (let line = 3; line <= 41; line += 2) text = setField(text, line, 'pixel0', '999');
    const ds = await readDataset(await tmp.write('many-bad.csv', text), { skipBadRows: true });
    expect(ds.skipped.count).toBe(20);
    expect(ds.skipped.lines).toEqual([3, 5, 7, 9, 11, 13, 15, 17, 19, 21]);
    expect(ds.n).toBe(20);
  });

  it('skipBadRows does not skip header faults', async () => {
    const file = await tmp.write('bad-header.csv', makeCsv({ header: [...columnsFor('label'), 'extra'] }).text);
    expect((await failure(file, { skipBadRows: true })).message).toMatch(/unknown column "extra"/);
  });

  it('requireRows with every row skipped says so', async () => {
    const text = setField(makeCsv({ rows: 1 }).text, 2, 'label', 'x');
    const e = await failure(await tmp.write('all-bad.csv', text), { skipBadRows: true, requireRows: true });
    expect(e.message).toMatch(/has no data rows \(all 1 rows were skipped as bad\)/);
  });
});
