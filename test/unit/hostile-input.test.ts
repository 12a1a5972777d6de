/**
 * Hostile input (issue "nothing lost, nothing silently wrong"): a file replaced while it
 * is read, character devices and standard input read twice, binary bytes, mixed line
 * endings, enormous lines. Each test failed on the code before its fix. FIFOs, standard
 * input and an address-space limit, which need processes, are in test/cli/hostile-input.test.ts.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { DataError } from '../../src/errors.js';
import { makeCsv, tempDir, type TempDir } from '../helpers/csv-fixture.js';
import { kconv } from '../helpers/in-process.js';

// The line scan is wrapped so that a test can act between the scan and the parse: where
// a file replaced or rewritten meanwhile would mix two files' bytes.
const race = vi.hoisted(() => ({ afterScan: null as null | (() => Promise<void>) }));
vi.mock('../../src/data/scan.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/data/scan.js')>();
  const scanFile = async (...args: unknown[]) => {
    const scan = await (actual.scanFile as (...a: unknown[]) => Promise<unknown>)(...args);
    const act = race.afterScan;
    race.afterScan = null;
    if (act) await act();
    return scan;
  };
  return { ...actual, scanFile };
});

let tmp: TempDir;
beforeAll(async () => {
  tmp = await tempDir('kconv-hostile-in-');
});
afterAll(async () => {
  await tmp.remove();
});

/** Labels whatever readDataset returns (the images beside the source, or, before, one flat object). */
const labelsOf = (d: unknown) => Array.from((((d as { images?: unknown }).images ?? d) as { labels: Uint8Array }).labels);
const pixelsOf = (d: unknown) => ((d as { images?: unknown }).images ?? d) as { pixels: Uint8Array };

async function failure(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  expect((error as Error).message).not.toContain('\n');
  return error as DataError;
}

/** The same rows with other labels: a file of exactly the same size. */
function relabelled(text: string): string {
  return text.split('\n').map((line, i) => (i === 0 || line === '' ? line : `${(Number(line[0]) + 3) % 10}${line.slice(1)}`)).join('\n');
}

describe('a file replaced while it is read is scanned and parsed as the same bytes', () => {
  it('mv of a same-size file with other labels between the scan and the parse', async () => {
    const a = makeCsv({ rows: 600, seed: 3 });
    const b = relabelled(a.text);
    expect(b.length).toBe(a.text.length);
    const sub = path.join(tmp.dir, 'race');
    await mkdir(sub);
    const file = path.join(sub, 'race.csv');
    await writeFile(file, a.text);
    race.afterScan = async () => {
      await writeFile(`${file}.new`, b);
      await rename(`${file}.new`, file); // atomic replacement, as mv does
    };
    expect(labelsOf(await readDataset(file))).toEqual(Array.from(a.labels)); // the file that was opened
    // The path now names the other file, read as itself.
    expect(labelsOf(await readDataset(file))).toEqual(Array.from(a.labels, (l) => (l + 3) % 10));
  });

  it('a file written in place while it is read is an error', async () => {
    const a = makeCsv({ rows: 300, seed: 4 });
    const file = await tmp.write('in-place.csv', a.text);
    race.afterScan = () => writeFile(file, a.text + a.text.split('\n')[1] + '\n');
    const e = await failure(readDataset(file));
    expect(e.message).toBe(`${file}: changed while kconv was reading it; run again once nothing is writing to it`);
  });

  it('a file written in place with more rows than the scan counted lines for: one clear error', async () => {
    // A line of spaces (a bad row, skipped) that becomes two valid rows of zeros, same size:
    // one row more than the scan sized the arrays for.
    const zeros = Array(785).fill('0').join(',');
    const a = makeCsv({ rows: 400, seed: 6 });
    const lines = a.text.split('\n');
    lines.splice(300, 0, ' '.repeat(2 * zeros.length + 1));
    const before = lines.join('\n');
    const after = before.replace(/\n +\n/, `\n${zeros}\n${zeros}\n`);
    expect(after.length).toBe(before.length);
    const file = await tmp.write('in-place-more.csv', before);
    race.afterScan = () => writeFile(file, after);
    const e = await failure(readDataset(file, { skipBadRows: true }));
    expect(e.message).toBe(`${file}: changed while kconv was reading it; run again once nothing is writing to it`);
  });
});

describe('devices and standard input are read as streams', () => {
  it('a character device is a stream too: /dev/zero is refused from its first bytes (not after reading a GiB), /dev/null is empty', async () => {
    const zero = await failure(readDataset('/dev/zero'));
    expect(zero.message).toBe('/dev/zero:1: line 1 has a NUL byte (byte 1 of the file): binary data, not CSV text');
    expect((await failure(readDataset('/dev/null'))).message).toBe('/dev/null: is empty (no bytes arrived)');
    expect((await failure(readDataset(tmp.dir))).message).toBe(`${tmp.dir}: is a directory; expected a CSV or idx file`);
  });

  it('standard input can be read once: two inputs from - are refused before anything is read', async () => {
    const r = await kconv(['train', '-', '--val', '-', '--out', path.join(tmp.dir, 'never.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('kconv: the data file - and --val - both read standard input, which can be read once; give one of them as a file\n');
  });
});

describe('what is wrong with a binary file, and where', () => {
  it('a NUL byte on line 4 is named with its line, as one on line 300 is', async () => {
    const lines = makeCsv({ rows: 400, seed: 6 }).text.split('\n');
    lines[3] = lines[3].slice(0, 10) + '\0' + lines[3].slice(11);
    const early = await tmp.write('nul-4.csv', lines.join('\n'));
    const e = await failure(readDataset(early));
    expect(e.message).toMatch(new RegExp(`^${early}:4: line 4 has a NUL byte \\(byte \\d+ of the file\\): binary data, not CSV text$`));
    expect(e.line).toBe(4);
    const late = makeCsv({ rows: 400, seed: 6 }).text.split('\n');
    late[299] = `0,\0${late[299].slice(3)}`;
    expect((await failure(readDataset(await tmp.write('nul-300.csv', late.join('\n'))))).message).toContain(':300:');
  });

  it('a Latin-1 byte in the header: which byte, which line, what to do', async () => {
    const text = Buffer.concat([Buffer.from('label,pixel0,caf'), Buffer.from([0xe9]), Buffer.from('\n1,2,3\n')]);
    const file = await tmp.write('latin1.csv', text);
    expect((await failure(readDataset(file))).message).toBe(
      `${file}:1: line 1 has byte 0xE9 (Latin-1 "é"?), which is not UTF-8 text; save the file as UTF-8`,
    );
  });

  it('gzip inside gzip, and a ZIP archive, say what they are', async () => {
    const text = makeCsv({ rows: 3 }).text;
    const twice = await tmp.write('twice.csv.gz', gzipSync(gzipSync(text)));
    expect((await failure(readDataset(twice))).message).toBe(
      `${twice}: is gzip data inside gzip (compressed twice); decompress it once (gunzip) and give kconv the result`,
    );
    const zip = await tmp.write('train.zip', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]), Buffer.alloc(40)]));
    expect((await failure(readDataset(zip))).message).toBe(`${zip}: is a ZIP archive; unzip it and give kconv the CSV file inside`);
  });
});

describe('LF and CRLF line endings in any mix', () => {
  const fx = makeCsv({ rows: 500, seed: 7 });
  const [header, ...rows] = fx.text.trimEnd().split('\n');
  const mixes = {
    'LF header, CRLF rows': `${header}\n${rows.join('\r\n')}\r\n`,
    'CRLF header, LF rows': `${header}\r\n${rows.join('\n')}\n`,
    'alternating': `${header}\n${rows.map((r, i) => r + (i % 2 ? '\r\n' : '\n')).join('')}`,
  };
  for (const [mix, text] of Object.entries(mixes)) {
    it(mix, async () => {
      const data = await readDataset(await tmp.write(`${mix.replace(/\W+/g, '-')}.csv`, text));
      expect(labelsOf(data)).toEqual(Array.from(fx.labels));
      expect(Buffer.compare(pixelsOf(data).pixels, fx.pixels)).toBe(0);
    });
  }
});

describe('a line far longer than a row is refused early, with its line number', () => {
  it('plain: found by the scan, before any parsing', async () => {
    const fx = makeCsv({ rows: 3, seed: 8 }).text.split('\n');
    fx.splice(2, 0, '0,'.repeat(1_500_000) + '0');
    const file = await tmp.write('long-line.csv', fx.join('\n'));
    expect((await failure(readDataset(file))).message).toBe(
      `${file}:3: line 3 is longer than 1 MiB (a row of 785 numbers takes at most about 3 KB): is this a CSV file of 28×28 images?`,
    );
  });

  it('gzip: a 3 MB field is stopped at 1 MiB, with its line', async () => {
    const fx = makeCsv({ rows: 3, seed: 8 }).text.split('\n');
    fx[1] = `1,${'7'.repeat(3_000_000)}${fx[1].slice(fx[1].indexOf(',', 2))}`;
    const file = await tmp.write('long-field.csv.gz', gzipSync(fx.join('\n')));
    const e = await failure(readDataset(file));
    expect(e.message).toMatch(new RegExp(`^${file}:2: the line is longer than 1 MiB`));
  });
});
