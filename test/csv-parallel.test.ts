/**
 * Parallel parsing and the cache. Runs against the built dist/ (the workers are
 * dist/data/parse-worker.js; run from the TypeScript sources there is none and
 * reads fall back to one thread), so `npm run build` must have run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCsv, setField, setLine, tempDir, type Fixture, type TempDir } from './helpers/csv-fixture.js';
import { flat, type Flat } from './helpers/flat.js';

const DIST = fileURLToPath(new URL('../dist/data/index.js', import.meta.url));
if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before these tests`);
const { readDataset } = (await import(DIST)) as typeof import('../src/data/index.js');
type Dataset = Flat;
type LoadInfo = import('../src/data/index.js').LoadInfo;

const ROWS = 3000;
let tmp: TempDir;
let fx: Fixture;
let file: string;

beforeAll(async () => {
  tmp = await tempDir();
  fx = makeCsv({ rows: ROWS, header: 'id+label', seed: 1 });
  file = await tmp.write('big.csv', fx.text);
});
afterAll(async () => {
  await tmp.remove();
});

async function read(f: string, opts: Parameters<typeof readDataset>[1] = {}): Promise<{ ds: Dataset; info: LoadInfo }> {
  let info: LoadInfo | undefined;
  const ds = flat(await readDataset(f, { cache: false, ...opts, onLoad: (i) => (info = i) }));
  return { ds, info: info! };
}
const parallel = { threads: 2, minParallelBytes: 0 };

/** Deep equality, with typed arrays compared as bytes (toEqual goes element by element: slow). */
function expectSameDataset(a: Dataset, b: Dataset): void {
  const { pixels: pa, labels: la, ids: ia, ...restA } = a;
  const { pixels: pb, labels: lb, ids: ib, ...restB } = b;
  expect(restA).toEqual(restB);
  expect(Buffer.compare(pa, pb)).toBe(0);
  expect(la === null ? null : Buffer.from(la)).toEqual(lb === null ? null : Buffer.from(lb));
  expect(ia === null ? null : Buffer.from(ia.buffer)).toEqual(ib === null ? null : Buffer.from(ib.buffer));
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('no error');
    },
    (err: Error) => err,
  );
}

describe('parallel parsing', () => {
  it('gives the same bytes as a single-thread parse', async () => {
    const single = await read(file, { threads: 1 });
    const multi = await read(file, parallel);
    expect(single.info.threads).toBe(1);
    expect(multi.info.threads).toBe(2);
    expect(multi.ds.n).toBe(ROWS);
    expect(Buffer.compare(multi.ds.pixels, single.ds.pixels)).toBe(0);
    expect(Buffer.compare(multi.ds.pixels, fx.pixels)).toBe(0);
    expectSameDataset(multi.ds, single.ds);
    expect(multi.ds.pixels.byteLength).toBe(multi.ds.pixels.buffer.byteLength); // exact-size arrays
  });

  it('handles CRLF, a BOM, no final newline and trailing blank lines', async () => {
    for (const spec of [{ eol: '\r\n' as const, bom: true }, { finalNewline: false }, { trailingBlankLines: 5 }]) {
      const f = makeCsv({ rows: 1500, ...spec });
      const { ds, info } = await read(await tmp.write('variant.csv', f.text), parallel);
      expect(info.threads).toBe(2);
      expect(ds.n).toBe(1500);
      expect(Buffer.compare(ds.pixels, f.pixels)).toBe(0);
      expect(ds.labels).toEqual(f.labels);
    }
  });

  it('reports the exact line of an error in the second half', async () => {
    const bad = await tmp.write('bad-late.csv', setField(fx.text, 2777, 'pixel600', '3.5'));
    const e1 = await errorOf(read(bad, parallel));
    const e2 = await errorOf(read(bad, { threads: 1 }));
    expect(e1.message).toBe(`${bad}:2777: column pixel600: "3.5" is not an integer 0–255 (use --skip-bad-rows to skip bad rows)`);
    expect(e2.message).toBe(e1.message);
    expect(e1.name).toBe('DataError');
  });

  it('reports the earliest of several errors, as one thread would', async () => {
    let text = setLine(fx.text, 2900, '1,2');
    text = setField(text, 1700, 'label', '11');
    text = setField(text, 2100, 'pixel1', '-1');
    const bad = await tmp.write('bad-many.csv', text);
    const e = await errorOf(read(bad, parallel));
    expect(e.message).toContain(`${bad}:1700: column label: 11 is out of range`);
  });

  it('finds a duplicate id across ranges', async () => {
    const bad = await tmp.write('dup-far.csv', setField(fx.text, 2950, 'id', String(fx.ids[5])));
    const e = await errorOf(read(bad, parallel));
    expect(e.message).toContain(`${bad}:2950: column id: id ${fx.ids[5]} is already used on line 7`);
  });

  it('skips bad rows as a single thread does', async () => {
    let text = fx.text;
    for (const line of [3, 900, 1501, 1502, 2999]) text = setField(text, line, 'pixel99', 'x');
    text = setField(text, 2500, 'id', String(fx.ids[0]));
    const dirty = await tmp.write('dirty.csv', text);
    const multi = await read(dirty, { ...parallel, skipBadRows: true });
    const single = await read(dirty, { threads: 1, skipBadRows: true });
    expect(multi.info.threads).toBe(2);
    expect(multi.ds.skipped).toEqual({ count: 6, lines: [3, 900, 1501, 1502, 2500, 2999] });
    expect(multi.ds.skipped).toEqual(single.ds.skipped);
    expect(multi.ds.n).toBe(ROWS - 6);
    expect(Buffer.compare(multi.ds.pixels, single.ds.pixels)).toBe(0);
    expect(multi.ds.ids).toEqual(single.ds.ids);
    expect(multi.ds.labels).toEqual(single.ds.labels);
  });

  it('parses a file with quotes on one thread (a quoted field may hold a line break)', async () => {
    const f = makeCsv({ rows: 500, quoteAll: true });
    const { ds, info } = await read(await tmp.write('quoted.csv', f.text), parallel);
    expect(info.threads).toBe(1);
    expect(Buffer.compare(ds.pixels, f.pixels)).toBe(0);
  });
});

describe('cache', () => {
  let cacheDir: string;
  let cachedFile: string;
  beforeAll(async () => {
    cacheDir = path.join(tmp.dir, 'cache');
    cachedFile = await tmp.write('cached.csv', fx.text);
  });
  const cached = (f: string, opts = {}) => read(f, { cache: true, cacheDir, ...opts });

  it('is written on the first read and gives identical arrays on the next', async () => {
    const cold = await cached(cachedFile, parallel);
    expect(cold.info.source).toBe('parse');
    expect(cold.info.cacheFile).toBeDefined();
    expect(existsSync(cold.info.cacheFile!)).toBe(true);
    const warm = await cached(cachedFile);
    expect(warm.info).toEqual({ source: 'cache', threads: 0, cacheFile: cold.info.cacheFile });
    expectSameDataset(warm.ds, cold.ds);
    expect(Buffer.compare(warm.ds.pixels, fx.pixels)).toBe(0);
  });

  it('is rebuilt when the file changes by one byte', async () => {
    const before = await cached(cachedFile);
    const x = fx.pixels.indexOf(0); // a pixel of row 0 written as "0": one byte to change
    const changed = setField(fx.text, 2, `pixel${x}`, '9');
    expect(changed.length).toBe(fx.text.length);
    await writeFile(cachedFile, changed);
    const after = await cached(cachedFile);
    expect(after.info.source).toBe('parse');
    expect(after.info.cacheFile).not.toBe(before.info.cacheFile);
    expect([before.ds.pixels[x], after.ds.pixels[x]]).toEqual([0, 9]);
    expect((await cached(cachedFile)).info.source).toBe('cache');
    await writeFile(cachedFile, fx.text);
  });

  it('is rebuilt when the cache file is truncated or corrupt', async () => {
    const first = await cached(cachedFile);
    const entry = first.info.cacheFile!;
    const { size } = await stat(entry);

    await truncate(entry, size - 1000);
    const afterTruncate = await cached(cachedFile);
    expect(afterTruncate.info.source).toBe('parse');
    expect((await stat(entry)).size).toBe(size);
    expect(Buffer.compare(afterTruncate.ds.pixels, fx.pixels)).toBe(0);

    const bytes = await readFile(entry);
    bytes[bytes.length - 5] ^= 0xff; // a payload byte: caught by the checksum
    await writeFile(entry, bytes);
    const afterFlip = await cached(cachedFile);
    expect(afterFlip.info.source).toBe('parse');
    expect(Buffer.compare(afterFlip.ds.pixels, fx.pixels)).toBe(0);

    await writeFile(entry, 'not a cache file');
    expect((await cached(cachedFile)).info.source).toBe('parse');
    expect((await cached(cachedFile)).info.source).toBe('cache');
  });

  it('leaves no temporary files behind', async () => {
    const names = await readdir(cacheDir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('is not poisoned by a skip-bad-rows read', async () => {
    const dirty = await tmp.write('dirty-cached.csv', setField(fx.text, 10, 'pixel1', 'bad'));
    const skipped = await cached(dirty, { skipBadRows: true });
    expect(skipped.ds.skipped.count).toBe(1);
    expect((await cached(dirty, { skipBadRows: true })).info.source).toBe('cache');
    expect((await cached(dirty, { skipBadRows: true })).ds.skipped).toEqual({ count: 1, lines: [10] });
    const strict = await errorOf(cached(dirty));
    expect(strict.message).toContain(':10: column pixel1');
  });

  it('fails silently when the cache folder cannot be written', async () => {
    const blocker = await tmp.write('not-a-folder', 'x');
    const { ds, info } = await read(cachedFile, { cache: true, cacheDir: path.join(blocker, 'cache') });
    expect(ds.n).toBe(ROWS);
    expect(info.source).toBe('parse');
    expect(info.cacheFile).toBeUndefined();
  });

  it('is not used with cache: false', async () => {
    const dir = path.join(tmp.dir, 'unused-cache');
    await mkdir(dir);
    await read(cachedFile, { cache: false, cacheDir: dir });
    expect(await readdir(dir)).toEqual([]);
  });
});
