import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { DEFAULT_INPUT, type EpochRecord, type ModelFile } from '../src/model/weights-file.js';
import { createNetwork } from '../src/net/index.js';
import { predict } from '../src/predict/predict.js';
import { activations } from '../src/show/activations.js';
import { mapRows } from '../src/show/digit-view.js';
import { buildServer } from '../src/serve/server.js';
import { Random } from '../src/random.js';
import { digitPixels, tempDir } from './helpers/digits.js';
import { digitRgba, jpegBytes, pngBombHeader, pngBytes } from './helpers/images.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const HISTORY: EpochRecord[] = [
  { epoch: 1, loss: 1.1, acc: 0.7, valLoss: 0.9, valAcc: 0.75, seconds: 1, lr: 0.05 },
  { epoch: 2, loss: 0.5, acc: 0.85, valLoss: 0.6, valAcc: 0.8, seconds: 1, lr: 0.02 },
];
const model: ModelFile = {
  input: DEFAULT_INPUT, arch: ARCH, net: createNetwork(ARCH, 3),
  training: { epochs: 2, seed: 1, batchSize: 64, optimizer: { name: 'sgd', lr: 0.05, momentum: 0, beta2: 0, eps: 0, weightDecay: 0 }, schedule: 'constant', validation: { kind: 'none' }, augment: false, limit: null, history: HISTORY },
};
const MAX_BODY = 256 * 1024;

let app: FastifyInstance;
let bare: FastifyInstance;

/** Four synthetic digits, as numbers 0..255. */
const random = new Random(5);
const IMAGES = [0, 3, 6, 9].map((label) => digitPixels(label, random));

async function expected(pixels: number[][]) {
  const data = new Uint8Array(pixels.length * 784);
  pixels.forEach((p, i) => data.set(p, i * 784));
  return predict(model, { n: pixels.length, pixels: data, labels: null, ids: null, file: 'x', skipped: { count: 0, lines: [] }, header: 'pixels' }, 1);
}

const post = (payload: string | Buffer, type: string, url = '/api/predict') => app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });
const json = (payload: unknown, url?: string) => post(JSON.stringify(payload), 'application/json', url);

beforeAll(() => {
  app = buildServer({ model, weightsFile: '/some/folder/model.json', maxBody: MAX_BODY, maxImages: 50 });
  bare = buildServer({ model: { input: DEFAULT_INPUT, arch: 'dense10', net: createNetwork('dense10', 1) }, weightsFile: 'bare.json' });
});
afterAll(async () => {
  await app.close();
  await bare.close();
});

describe('kconv serve: the page', () => {
  it('serves the page and its own assets, with a strict content security policy', async () => {
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toMatch(/<canvas id="pad"/);
    // Every script and stylesheet the page names is served here: nothing from elsewhere.
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((r) => !r.startsWith('data:'));
    expect(refs).toEqual(['/assets/style.css', '/assets/teach.css', '/assets/app.js', '/api/samples.csv']);
    const appJs = await app.inject('/assets/app.js');
    const imports = [...appJs.body.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['./colors.js', './preprocess.js', './teach.js']);
    for (const path of ['/assets/style.css', '/assets/colors.js', '/assets/teach.js', '/assets/teach.css']) expect((await app.inject(path)).statusCode).toBe(200);
    // The page's script at least parses as a module (the browser test, in test:data, runs it).
    const file = join(tempDir('kconv-page-'), 'app.mjs');
    writeFileSync(file, appJs.body);
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });

  it('sends the page the very module the CLI preprocesses with (dist/image/preprocess.js)', async () => {
    const served = (await app.inject('/assets/preprocess.js')).body;
    const built = readFileSync(new URL('../dist/image/preprocess.js', import.meta.url), 'utf8');
    expect(served).toBe(built.replace(/^\/\/# sourceMappingURL=.*$/m, ''));
    expect(served).toMatch(/export function preprocessImage/);
    expect(served).not.toMatch(/^import /m);
  });

  it('answers 404 for anything else, including paths that try to climb out', async () => {
    for (const url of ['/nope', '/assets/../package.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/app.js/../../../etc/passwd', '/dist/image/preprocess.js', '/assets/']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error).toMatch(/^no such page or endpoint: GET /);
    }
  });
});

describe('kconv serve: GET /api/model and /healthz', () => {
  it('summarises the model: layers with shapes and parameters, the history, the first filters', async () => {
    const r = await app.inject('/api/model');
    expect(r.statusCode).toBe(200);
    const m = r.json();
    expect(m.file).toBe('model.json'); // the name, never the folder
    expect(m.arch).toBe(ARCH);
    expect(m.layers.map((l: { spec: string }) => l.spec)).toEqual(['conv4k5', 'relu', 'pool2', 'flatten', 'dense10']);
    expect(m.layers[0]).toMatchObject({ inShape: [1, 28, 28], outShape: [4, 24, 24], params: 4 * 25 + 4 });
    expect(m.params).toBe(model.net.params().reduce((s, p) => s + p.value.length, 0));
    expect(m.training.history).toHaveLength(2);
    expect(m.filters).toMatchObject({ title: 'conv1 filters', kind: 'filters', channels: 4, height: 5, width: 5 });
    expect(m.filters.data).toHaveLength(100);
  });

  it('draws the training curves as kconv show --curves does, or says there is no history', async () => {
    const png = await app.inject('/api/model/curves.png');
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    const none = await bare.inject('/api/model/curves.png');
    expect([none.statusCode, none.json().error]).toEqual([404, 'bare.json has no training history to draw']);
    expect((await bare.inject('/api/model')).json()).toMatchObject({ filters: null, training: null });
  });

  it('reports health', async () => {
    const r = await app.inject('/healthz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok', model: ARCH });
    expect(r.headers['cache-control']).toBe('no-store');
  });
});

describe('kconv serve: POST /api/predict', () => {
  it('classifies {"pixels"} and {"images"} exactly as kconv predict does', async () => {
    const want = await expected(IMAGES);
    const one = await json({ pixels: IMAGES[1] });
    expect(one.statusCode).toBe(200);
    // Probabilities are float32 written in the fewest digits that read back to the same bits.
    expect(one.json()).toEqual({ predictions: [{ label: want.labels[1], probs: expect.any(Array) }] });
    expect(one.json().predictions[0].probs.map(Math.fround)).toEqual(Array.from(want.probs.subarray(10, 20)));
    const all = (await json({ images: IMAGES })).json();
    expect(all.predictions.map((p: { label: number }) => p.label)).toEqual(Array.from(want.labels));
    expect(all.predictions.flatMap((p: { probs: number[] }) => p.probs).map(Math.fround)).toEqual(Array.from(want.probs));
  });

  it('?maps=1 shows every conv layer before and after ReLU, and after pooling', async () => {
    const two = buildServer({ model: { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,conv6k3,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,conv6k3,relu,pool2,dense10', 1) }, weightsFile: 'two.json' });
    const r = await two.inject({ method: 'POST', url: '/api/predict?maps=1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels: IMAGES[0] }) });
    await two.close();
    const maps = r.json().predictions[0].maps;
    expect(maps.map((m: { title: string; channels: number; height: number }) => `${m.title} ${m.channels}×${m.height}`)).toEqual([
      'conv1 output 4×24', 'after relu 4×24', 'after pool 4×12', 'conv2 output 6×10', 'conv2 after relu 6×10', 'conv2 after pool 6×5',
    ]);
    expect(maps[3].kind).toBe('signed');
  });

  it('?maps=1 adds the input and the maps kconv show draws (all but the filters)', async () => {
    const r = (await json({ pixels: IMAGES[2] }, '/api/predict?maps=1')).json().predictions[0];
    expect(r.input).toEqual(IMAGES[2]);
    const rows = mapRows(model.net, activations(model.net, model.input, Uint8Array.from(IMAGES[2])));
    expect(r.maps.map((m: { title: string }) => m.title)).toEqual(rows.filter((row) => row.kind !== 'filters').map((row) => row.title));
    expect(r.maps.map((m: { title: string }) => m.title)).toEqual(['conv1 output', 'after relu', 'after pool']);
    const relu = r.maps[1];
    expect(relu).toMatchObject({ kind: 'activation', channels: 4, height: 24, width: 24 });
    const exact = rows[2].data;
    relu.data.forEach((v: number, i: number) => expect(Math.abs(v - exact[i])).toBeLessThanOrEqual(relu.scaleMax * 1e-3));
  });

  it('decodes and preprocesses PNG and JPEG bodies as the CLI does', async () => {
    const png = pngBytes({ ...digitRgba(IMAGES[0], true) });
    const jpg = jpegBytes(digitRgba(IMAGES[3]), 75);
    for (const [body, type] of [[png, 'image/png'], [jpg, 'image/jpeg']] as const) {
      const pixels = preprocess(decodeImage(body, 'x'));
      const want = await expected([Array.from(pixels)]);
      const r = await post(body, type, '/api/predict?maps=1');
      expect(r.statusCode).toBe(200);
      const p = r.json().predictions[0];
      expect(p.label).toBe(want.labels[0]);
      expect(p.probs.map(Math.fround)).toEqual(Array.from(want.probs));
      expect(p.input).toEqual(Array.from(pixels));
    }
  });

  it('reads a Kaggle-layout CSV body, keeping its ids', async () => {
    const head = ['id', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
    const csv = '\ufeff' + [head, ...IMAGES.map((p, i) => `${70 + i},${p.join(',')}`)].join('\r\n') + '\r\n\r\n';
    const r = await post(csv, 'text/csv; charset=utf-8');
    expect(r.statusCode).toBe(200);
    const want = await expected(IMAGES);
    const got = r.json().predictions.map((p: { id: number; label: number; probs: number[] }) => ({ ...p, probs: p.probs.map(Math.fround) }));
    expect(got).toEqual(IMAGES.map((_, i) => ({ id: 70 + i, label: want.labels[i], probs: Array.from(want.probs.subarray(i * 10, i * 10 + 10)) })));
    // Columns by name, in any order; labels checked and ignored.
    const swapped = ['pixel1', 'pixel0', 'label', ...Array.from({ length: 782 }, (_, i) => `pixel${i + 2}`)].join(',');
    const row = [IMAGES[0][1], IMAGES[0][0], 7, ...IMAGES[0].slice(2)].join(',');
    expect((await post(`${swapped}\n${row}`, 'text/csv')).json().predictions[0].label).toBe(want.labels[0]);
  });
});

describe('kconv serve: every bad request gets a 4xx and a one-line JSON error, and the server stays up', () => {
  const pixels = IMAGES[0];
  const cases: [string, () => Promise<{ statusCode: number; json: () => { error: string } }>, number, RegExp][] = [
    ['truncated JSON', () => post('{"pixels": [1, 2', 'application/json'), 400, /^the body is not valid JSON \(.+\): send \{"pixels"/],
    ['empty JSON', () => post('', 'application/json'), 400, /the (JSON )?body is empty|has no body/],
    ['784 strings', () => json({ pixels: pixels.map(String) }), 400, /^pixels\[0\] is "\d+" \(a string\): pixels are whole numbers 0 \(background\) … 255 \(ink\)/],
    ['a pixel of 256', () => json({ pixels: pixels.map((v, i) => (i === 9 ? 256 : v)) }), 400, /^pixels\[9\] is 256:/],
    ['fractions (0..1 pixels)', () => json({ pixels: pixels.map((v) => v / 255) }), 400, /^pixels\[\d+\] is 0\.\d+:/],
    ['783 numbers', () => json({ pixels: pixels.slice(1) }), 400, /^pixels has 783 numbers, not 784 \(28×28\)/],
    ['10⁶ numbers', () => json({ pixels: new Array(100_000).fill(0) }), 400, /has 100000 numbers, not 784/],
    ['null', () => json(null), 400, /^the JSON body is null/],
    ['an array', () => json([pixels]), 400, /^the JSON body is an array/],
    ['an unknown field', () => json({ pixels, extra: 1 }), 400, /unknown field "extra"/],
    ['__proto__', () => post(`{"__proto__": {"polluted": 1}, "pixels": [${pixels}]}`, 'application/json'), 400, /unknown field "__proto__"/],
    ['both fields', () => json({ pixels, images: [pixels] }), 400, /exactly one of "pixels" and "images"/],
    ['no images', () => json({ images: [] }), 400, /^images is empty/],
    ['a bad image in a batch', () => json({ images: [pixels, pixels.slice(3)] }), 400, /^images\[1\] has 781 numbers/],
    ['too many images', () => json({ images: new Array(51).fill(pixels) }), 413, /holds 51 images, more than 50 in one request: split it/],
    ['maps for too many', () => json({ images: new Array(17).fill(pixels) }, '/api/predict?maps=1'), 400, /maps=1 gives feature maps for at most 16 images/],
    ['maps=2', () => json({ pixels }, '/api/predict?maps=2'), 400, /^maps must be 1 or 0/],
    ['an unknown query parameter', () => json({ pixels }, '/api/predict?debug=1'), 400, /unknown query parameter "debug"/],
    ['a body over the limit', () => json({ images: new Array(90).fill(new Array(784).fill(255)) }), 413, /^the request body is larger than the limit of 256 kB \(kconv serve --max-body\)/],
    ['a PNG bomb (30000×30000)', () => post(pngBombHeader(30000, 30000), 'image/png'), 413, /^the image: the image is 30000×30000 pixels \(900 megapixels\), more than kconv decodes/],
    ['a PNG body that is no PNG', () => post(Buffer.from('hello'), 'image/png'), 400, /^the image: not a PNG or JPEG image \(it starts with "hello…"\)/],
    ['a truncated JPEG', () => post(jpegBytes(digitRgba(pixels)).subarray(0, 100), 'image/jpeg'), 400, /^the image: not a valid JPEG image/],
    ['an empty image body', () => post(Buffer.alloc(0), 'image/png'), 400, /has no body/],
    ['a CSV with a bad value', () => post(`label,${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n3,${pixels.map((v, i) => (i === 4 ? 'x' : v)).join(',')}\n`, 'text/csv'), 400, /^the CSV body:2: column pixel4: "x" is not an integer 0–255/],
    ['a CSV row short of fields', () => post(`${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n${pixels.slice(1).join(',')}\n`, 'text/csv'), 400, /^the CSV body:2: has 783 fields, the header has 784/],
    ['a CSV without a header', () => post(pixels.join(','), 'text/csv'), 400, /^the CSV body:1: no header line/],
    ['a CSV with no rows', () => post(Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(','), 'text/csv'), 400, /header but no rows/],
    ['text/plain', () => post('hello', 'text/plain'), 415, /^unsupported content type: POST \/api\/predict takes application\/json, image\/png, image\/jpeg, text\/csv/],
    ['a form', () => post('a=1', 'application/x-www-form-urlencoded'), 415, /unsupported content type/],
    ['octet-stream', () => post(Buffer.from([1, 2, 3]), 'application/octet-stream'), 415, /unsupported content type/],
    ['GIF', () => post(Buffer.from('GIF89a'), 'image/gif'), 415, /unsupported content type/],
    ['GET /api/predict', () => app.inject('/api/predict'), 405, /^GET is not allowed on \/api\/predict: use POST/],
    ['DELETE /', () => app.inject({ method: 'DELETE', url: '/' }), 405, /^DELETE is not allowed on \/: use GET/],
    ['POST /healthz', () => app.inject({ method: 'POST', url: '/healthz' }), 405, /use GET/],
    ['PUT /api/model', () => app.inject({ method: 'PUT', url: '/api/model', payload: '{}', headers: { 'content-type': 'application/json' } }), 405, /use GET/],
  ];
  for (const [name, request, status, message] of cases) {
    it(`${name} → ${status}`, async () => {
      const r = await request();
      expect(r.statusCode).toBe(status);
      const body = r.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toMatch(message);
      expect(body.error).not.toMatch(/\n/);
    });
  }

  it('a bug in kconv is a 500 with one line, logged for the operator, and the server carries on', async () => {
    const lines: string[] = [];
    const net = createNetwork(ARCH, 3);
    const broken = buildServer({ model: { input: DEFAULT_INPUT, arch: ARCH, net }, weightsFile: 'b.json', log: (line) => lines.push(line) });
    net.forward = () => {
      throw new TypeError('planted bug');
    };
    const r = await broken.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels: IMAGES[0] }) });
    expect([r.statusCode, r.json()]).toEqual([500, { error: 'internal error in kconv (a bug: please report it): planted bug' }]);
    expect(lines).toEqual(['kconv serve: POST /api/predict: internal error in kconv (a bug: please report it): planted bug\n']);
    expect((await broken.inject('/healthz')).statusCode).toBe(200);
    await broken.close();
  });

  it('405 says which methods are allowed', async () => {
    const r = await app.inject('/api/predict');
    expect(r.headers.allow).toBe('POST');
    expect((await app.inject({ method: 'DELETE', url: '/api/model' })).headers.allow).toBe('GET, HEAD');
  });

  it('is still healthy and right after all of them', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await json({ pixels: IMAGES[1] })).json().predictions[0].label).toBe((await expected([IMAGES[1]])).labels[0]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('kconv serve over a real socket', () => {
  let server: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    server = buildServer({ model, weightsFile: 'model.json', maxBody: MAX_BODY });
    await server.listen({ port: 0, host: '127.0.0.1' });
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => server.close());

  /** Sends raw bytes and resolves with what comes back when the server answers (or closes). */
  function raw(request: string | Buffer, more?: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let reply = '';
      socket.on('data', (d) => {
        reply += d;
        if (/\r\n\r\n/.test(reply)) socket.end();
      });
      socket.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(reply) : reject(e)));
      socket.on('close', () => resolve(reply));
      socket.write(request);
      if (more) socket.write(more);
    });
  }

  it('refuses a 50 MB body from its Content-Length, before it is sent (Expect: 100-continue)', async () => {
    const reply = await raw(`POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/larger than the limit of 256 kB/);
    expect(reply).toMatch(/content-security-policy/i);
    // Under the limit, the client is told to go on.
    const small = await raw(`POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n`);
    expect(small).toMatch(/^HTTP\/1\.1 100 Continue/);
  });

  it('a client that sends all of a too-large body first still reads the 413 (no connection reset)', async () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 0x20);
    const reply = await new Promise<string>((resolve, reject) => {
      // Like a simple client (or a browser): send everything, only then read the answer.
      const socket = connect(port, '127.0.0.1');
      let got = '';
      socket.pause();
      socket.on('data', (d) => (got += d));
      socket.on('end', () => resolve(got));
      socket.on('error', (e) => reject(new Error(`the connection failed (${(e as NodeJS.ErrnoException).code}) before the answer was read`)));
      socket.write(`POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      socket.write(body, () => socket.resume());
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/"error":"the request body is larger than the limit of 256 kB/);
  });

  it('refuses a chunked body that grows past the limit', async () => {
    const chunk = Buffer.from('0,'.repeat(50_000));
    const body = Buffer.concat([...Array.from({ length: 4 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')]);
    const reply = await raw('POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', body);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('does not let a raw ../ path out', async () => {
    for (const path of ['/assets/../../package.json', '/../package.json', '/assets/..%2f..%2fpackage.json']) {
      const reply = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(reply, path).toMatch(/^HTTP\/1\.1 (404|400) /);
      expect(reply).not.toMatch(/"name": "kconv"/);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
  });
});
