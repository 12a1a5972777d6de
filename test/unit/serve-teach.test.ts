/**
 * kconv serve --collect in this process, through inject(): samples appended, undone,
 * capped, read back and refused, a write cut back when it fails half way, the lock on
 * DIR, and a server without --collect. Concurrent posts to a listening server and disks
 * that fill up or turn read-only (tmpfs mounts) are in test/cli/serve-teach.test.ts.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { OutputError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess } from '../../src/image/preprocess.js';
import { HEADER, SampleStore } from '../../src/serve/samples.js';
import { buildServer } from '../../src/serve/server.js';
import { Random } from '../../src/random.js';
import { digitPixels, tempDir } from '../helpers/digits.js';
import { digitRgba, pngBytes } from '../helpers/images.js';
import { modelOf } from '../helpers/models.js';
import { closeServers, openServers, postSample, teachServer } from '../helpers/teach-server.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const model = modelOf(ARCH, 3);
const random = new Random(11);
const DIGITS = Array.from({ length: 10 }, (_, k) => digitPixels(k, random));

afterEach(async () => {
  await closeServers();
});

describe('kconv serve --collect: samples', () => {
  it('appends a JSON sample to DIR/samples.csv in the Kaggle layout, counts it, and kconv reads the file back', async () => {
    const { app, file } = await teachServer(model);
    expect(readFileSync(file, 'utf8')).toBe(HEADER);
    for (const k of [3, 3, 7]) {
      const r = await postSample(app, { pixels: DIGITS[k], label: k });
      expect(r.statusCode, r.body).toBe(201);
    }
    const counts = (await app.inject('/api/samples')).json();
    expect(counts).toMatchObject({ collecting: true, total: 3, max: 10_000, problem: null });
    expect(counts.counts).toEqual([0, 0, 0, 2, 0, 0, 0, 1, 0, 0]);
    const data = await readDataset(file, { requireLabels: true });
    expect(data.images.n).toBe(3);
    expect(Array.from(data.images.labels!)).toEqual([3, 3, 7]);
    expect(Array.from(data.images.pixels.subarray(2 * 784, 3 * 784))).toEqual(DIGITS[7]);
    // The download is the file.
    const csv = await app.inject('/api/samples.csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="samples.csv"');
    expect(csv.body).toBe(readFileSync(file, 'utf8'));
  });

  it('takes a PNG with ?label=N, prepared as POST /api/predict prepares it', async () => {
    const { app, file } = await teachServer(model);
    const png = pngBytes(digitRgba(DIGITS[5]));
    const r = await app.inject({ method: 'POST', url: '/api/samples?label=5', headers: { 'content-type': 'image/png' }, payload: png });
    expect(r.statusCode, r.body).toBe(201);
    const data = await readDataset(file);
    expect(Array.from(data.images.pixels)).toEqual(Array.from(preprocess(decodeImage(png, 'x'))));
    for (const url of ['/api/samples', '/api/samples?label=10', '/api/samples?label=x', '/api/samples?label=5&extra=1']) {
      const bad = await app.inject({ method: 'POST', url, headers: { 'content-type': 'image/png' }, payload: png });
      expect(bad.statusCode, url).toBe(400);
    }
  });

  it('refuses a label of 10, −1, "x", 2.5 or none, and pixels of the wrong length or range, with 400 JSON, writing nothing', async () => {
    const { app, file } = await teachServer(model);
    await postSample(app, { pixels: DIGITS[1], label: 1 });
    const before = readFileSync(file);
    const cases: [unknown, RegExp][] = [
      [{ pixels: DIGITS[1], label: 10 }, /label is 10: a label is a digit 0–9/],
      [{ pixels: DIGITS[1], label: -1 }, /label is -1/],
      [{ pixels: DIGITS[1], label: 'x' }, /label is "x" \(a string\)/],
      [{ pixels: DIGITS[1], label: 2.5 }, /label is 2\.5/],
      [{ pixels: DIGITS[1] }, /label is missing/],
      [{ pixels: DIGITS[1].slice(1), label: 1 }, /pixels has 783 numbers, not 784/],
      [{ pixels: [...DIGITS[1], 0], label: 1 }, /pixels has 785 numbers/],
      [{ pixels: DIGITS[1].map((v, i) => (i === 9 ? 256 : v)), label: 1 }, /pixels\[9\] is 256/],
      [{ pixels: DIGITS[1], label: 1, path: '../x' }, /unknown field "path"/],
      [[1, 2], /the JSON body is an array/],
    ];
    for (const [body, message] of cases) {
      const r = await postSample(app, body);
      expect(r.statusCode, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json().error).toMatch(message);
    }
    const csv = await app.inject({ method: 'POST', url: '/api/samples', headers: { 'content-type': 'text/csv' }, payload: 'label\n1\n' });
    expect(csv.statusCode).toBe(415);
    expect(readFileSync(file)).toEqual(before);
  });

  it('a write that fails half way is cut back: the row lands whole or not at all (and without the cut-back the file would be torn)', async () => {
    const { app, file, lines } = await teachServer(model);
    await postSample(app, { pixels: DIGITS[1], label: 1 });
    const before = readFileSync(file);
    // A disk that fills up in the middle of a row: half of it is written, then ENOSPC.
    const probe = await openFile(file, 'r');
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown>; truncate: (n: number) => Promise<void> };
    await probe.close();
    const { write, truncate } = proto;
    proto.write = async function (this: unknown, buf: Buffer, off: number, len: number, pos: number) {
      if (len < 1000) return write.call(this, buf, off, len, pos);
      await write.call(this, buf, off, len >> 1, pos);
      throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    } as never;
    try {
      const r = await postSample(app, { pixels: DIGITS[2], label: 2 });
      expect(r.statusCode).toBe(507);
      expect(readFileSync(file)).toEqual(before);
      // The planted bug: no cut-back. The same failure then leaves half a row in the file…
      proto.truncate = async () => undefined;
      expect((await postSample(app, { pixels: DIGITS[2], label: 2 })).statusCode).toBe(507);
      proto.truncate = truncate;
      expect(readFileSync(file).length).toBeGreaterThan(before.length);
      await expect(readDataset(file)).rejects.toThrow(/samples\.csv:3/);
    } finally {
      proto.write = write;
      proto.truncate = truncate;
    }
    // …and the store, finding the file not as it left it, refuses to write after it.
    const r = await postSample(app, { pixels: DIGITS[3], label: 3 });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatch(/samples\.csv was changed by something else while kconv serve ran/);
    expect(lines).toHaveLength(2);
  });

  it('undoes the last sample (the file as before it), and says when there is none', async () => {
    const { app, file } = await teachServer(model);
    await postSample(app, { pixels: DIGITS[2], label: 2 });
    const one = readFileSync(file);
    await postSample(app, { pixels: DIGITS[4], label: 4 });
    const undo = await app.inject({ method: 'DELETE', url: '/api/samples/last' });
    expect(undo.statusCode, undo.body).toBe(200);
    expect(undo.json()).toMatchObject({ removed: 4, total: 1 });
    expect(readFileSync(file)).toEqual(one);
    expect((await app.inject({ method: 'DELETE', url: '/api/samples/last' })).json().total).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(HEADER);
    const none = await app.inject({ method: 'DELETE', url: '/api/samples/last' });
    expect(none.statusCode).toBe(409);
    expect(none.json().error).toMatch(/no sample to undo/);
  });

  it('caps DIR at --max-samples: 409 JSON once full, the file unchanged', async () => {
    const { app, file } = await teachServer(model, { max: 3 });
    for (let i = 0; i < 3; i++) expect((await postSample(app, { pixels: DIGITS[i], label: i })).statusCode).toBe(201);
    const full = readFileSync(file);
    const r = await postSample(app, { pixels: DIGITS[3], label: 3 });
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toMatch(/the collection is full: 3 samples \(--max-samples\)/);
    expect(readFileSync(file)).toEqual(full);
  });

  it('reads an existing samples.csv at start and goes on appending to it', async () => {
    const first = await teachServer(model);
    await postSample(first.app, { pixels: DIGITS[6], label: 6 });
    await first.app.close();
    openServers.splice(0);
    const again = await teachServer(model, { dir: first.dir });
    expect(again.store.summary()).toMatchObject({ total: 1, collecting: true });
    await postSample(again.app, { pixels: DIGITS[8], label: 8 });
    expect(Array.from((await readDataset(again.file)).images.labels!)).toEqual([6, 8]);
  });

  it('a samples.csv edited into garbage: the server starts with collecting off, and the API says which line', async () => {
    const dir = tempDir('kconv-teach-garbage-');
    const good = `${HEADER}1,${DIGITS[1].join(',')}\n`;
    const cases: [string, RegExp][] = [
      [`${good}3,${DIGITS[3].slice(0, 700).join(',')}\n`, /samples\.csv:3: has 701 fields, not 785/],
      [`${good}${good.slice(HEADER.length).replace(/^1,/, 'one,')}`, /samples\.csv:3: the label is "one", not a digit 0–9/],
      [`${good}1,${DIGITS[1].join(',').replace(/^(\d+),/, '-4,')}\n`, /samples\.csv:3: pixel0 \(field 2\) is "-4"/],
      [`label,pix\n`, /samples\.csv:1: the header is not label,pixel0,…,pixel783/],
      [good.slice(0, -1), /samples\.csv:2: the last line does not end with a newline/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const sub = join(dir, String(i));
      mkdirSync(sub);
      writeFileSync(join(sub, 'samples.csv'), text);
      const { app, file } = await teachServer(model, { dir: sub });
      const s = (await app.inject('/api/samples')).json();
      expect(s.collecting).toBe(false);
      expect(s.problem).toMatch(message);
      const r = await postSample(app, { pixels: DIGITS[1], label: 1 });
      expect(r.statusCode).toBe(409);
      expect(r.json().error).toMatch(message);
      expect((await app.inject({ method: 'POST', url: '/api/predict' })).statusCode).not.toBe(404);
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('a second server on the same DIR is refused by the lock; a file where DIR should be, or a samples.csv link, is refused', async () => {
    const { dir } = await teachServer(model);
    await expect(SampleStore.open(dir)).rejects.toThrow(/--collect .*mine: another kconv run \(pid \d+\) is writing this file/);
    const base = tempDir('kconv-teach-odd-');
    writeFileSync(join(base, 'afile'), 'x');
    const err = await SampleStore.open(join(base, 'afile')).catch((e) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toMatch(/afile: cannot create the folder: a file is in the way \(give a folder\)$/);
    mkdirSync(join(base, 'linked'));
    symlinkSync('/tmp/elsewhere.csv', join(base, 'linked', 'samples.csv'));
    await expect(SampleStore.open(join(base, 'linked'))).rejects.toThrow(/is a symbolic link: samples are only written to a file inside the folder/);
    // Its lock was released: nothing left in the folder but the link.
    expect(readdirSync(join(base, 'linked'))).toEqual(['samples.csv']);
  });
});

describe('kconv serve without --collect', () => {
  let app: FastifyInstance;
  beforeAll(() => {
    app = buildServer({ model, weightsFile: 'model.json' });
  });
  afterAll(() => app.close());

  it('answers every teach endpoint 404 and hides the panel', async () => {
    const calls: [string, string][] = [['GET', '/api/samples'], ['POST', '/api/samples'], ['DELETE', '/api/samples/last'], ['GET', '/api/samples.csv'], ['POST', '/api/finetune'], ['GET', '/api/finetune'], ['GET', '/api/finetune/events'], ['POST', '/api/model/use']];
    for (const [method, url] of calls) {
      const r = await app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels: DIGITS[0], label: 0 }) } : {}) });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      expect(r.json().error).toMatch(/started without --collect DIR: nothing is collected here/);
    }
    const page = (await app.inject('/')).body;
    expect(page).toMatch(/<section id="teach" class="panel" aria-labelledby="teach-title" hidden>/);
  });
});
