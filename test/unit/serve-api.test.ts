/**
 * kconv serve in this process, through fastify's inject(): the page and its assets, the
 * model and health, predictions from JSON, pictures and CSV, the usual upload idioms and
 * every bad request. A real socket, curl and node --check are in test/cli/serve-api.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess } from '../../src/image/preprocess.js';
import { DEFAULT_INPUT, type EpochRecord, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork, formatLayer } from '../../src/net/index.js';
import { activations } from '../../src/show/activations.js';
import { mapRows } from '../../src/show/digit-view.js';
import { mapRowJson } from '../../src/serve/api.js';
import { buildServer } from '../../src/serve/server.js';
import { modelSummary } from '../../src/serve/summary.js';
import { IMAGES, predictPixels } from '../helpers/four-digits.js';
import { digitRgba, jpegBytes, pngBombHeader, pngBytes } from '../helpers/images.js';

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

const post = (payload: string | Buffer, type: string, url = '/api/predict', method: 'POST' | 'PUT' = 'POST') =>
  app.inject({ method, url, headers: type ? { 'content-type': type } : {}, payload });

/** A multipart/form-data body as curl -F and browsers write it. */
const BOUNDARY = '------------------------d74496d66958873e';
const FORM_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
function form(parts: { name: string; filename?: string; type?: string; bytes: Buffer }[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
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
    // The page's modules: every one app.js imports, and every one they import, is served
    // here (test/cli/serve-api.test.ts checks that each parses as a module; the browser
    // test, in test:data, runs them).
    const modules = new Set(['./app.js']);
    for (const name of modules) {
      const js = await app.inject(`/assets/${name.slice(2)}`);
      expect(js.statusCode, name).toBe(200);
      for (const m of js.body.matchAll(/^import [^;]* from '([^']+)'/gm)) modules.add(m[1]);
    }
    expect([...modules].sort()).toEqual(['./app.js', './colors.js', './dom.js', './draw.js', './maps.js', './model.js', './pad.js', './predict.js', './preprocess.js', './results.js', './shapes.js', './teach.js', './upload.js']);
    for (const path of ['/assets/style.css', '/assets/teach.css']) expect((await app.inject(path)).statusCode).toBe(200);
  });

  it('sends the page the very module the CLI preprocesses with (dist/image/preprocess.js)', async () => {
    const served = (await app.inject('/assets/preprocess.js')).body;
    const built = readFileSync(new URL('../../dist/image/preprocess.js', import.meta.url), 'utf8');
    expect(served).toBe(built.replace(/^\/\/# sourceMappingURL=.*$/m, ''));
    expect(served).toMatch(/export function preprocessImage/);
    expect(served).not.toMatch(/^import /m);
  });

  it("serves each digit's shape as a picture (no font needed): 10 distinct 28×28 means, with where they come from", async () => {
    const r = await app.inject('/assets/digit-shapes.png');
    expect([r.statusCode, r.headers['content-type']]).toEqual([200, 'image/png']);
    expect(r.rawPayload.length).toBeLessThan(8 * 1024);
    const img = decodeImage(r.rawPayload, 'digit-shapes.png');
    expect([img.width, img.height]).toEqual([280, 28]);
    const shapes = Array.from({ length: 10 }, (_, k) => Array.from({ length: 784 }, (_, i) => img.data[((Math.floor(i / 28) * 280) + k * 28 + (i % 28)) * 4]));
    for (const s of shapes) {
      expect(Math.max(...s)).toBeGreaterThan(100); // ink
      expect(s.filter((v) => v > 50).length).toBeGreaterThan(40);
      // A frame of background, as the 28×28 images have (the ink is centred).
      expect(Math.max(...s.filter((_, i) => i < 28 || i >= 756))).toBeLessThan(30);
    }
    // Every two digits differ clearly (mean absolute difference over the 784 pixels).
    const gaps = shapes.flatMap((a, i) => shapes.slice(i + 1).map((b) => a.reduce((t, v, p) => t + Math.abs(v - b[p]), 0) / 784));
    expect(Math.min(...gaps)).toBeGreaterThan(5); // 8.1 for the closest pair in the committed picture; 0 if a class were repeated
    // Where it comes from: the script, and the command that makes it again.
    expect(r.rawPayload.toString('latin1')).toMatch(/tEXtComment\0kconv: mean of \d+ train\.csv images per class.*node src\/serve\/make-digit-shapes\.mjs \.\.\/shared\/data\/kannada\/train\.csv/);
    expect(readFileSync(new URL('../../src/serve/make-digit-shapes.mjs', import.meta.url), 'utf8')).toMatch(/^\/\/ {3}node src\/serve\/make-digit-shapes\.mjs \.\.\/shared\/data\/kannada\/train\.csv$/m);
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
    // The very row kconv show draws first (one filterRow for both).
    const drawn = mapRows(model.net, activations(model.net, model.input, Uint8Array.from(IMAGES[0])))[0];
    expect(m.filters).toEqual(mapRowJson(drawn));
  });

  it('lists the layers kconv info lists, each with the shapes and parameters of the built layer', () => {
    // Every kind of layer, bias-free conv and dense (before bn) included.
    const arch = 'conv4k3p1,bn,relu,avgpool2,conv6k3,relu,pool2s1,dropout0.2,conv8k1,gap,dense16,bn,relu,flatten,dense10';
    const net = createNetwork(arch, 2);
    const summary = modelSummary({ input: DEFAULT_INPUT, arch, net }, 'every.json');
    expect(summary.layers).toEqual(net.layers.map((layer, index) => ({
      index, type: layer.type, spec: formatLayer(layer.spec), inShape: [...layer.inShape], outShape: [...layer.outShape],
      params: layer.params().reduce((sum, p) => sum + p.value.length, 0),
    })));
    expect(summary.params).toBe(net.params().reduce((sum, p) => sum + p.value.length, 0));
    expect(summary.members).toMatchObject([{ file: 'every.json', arch, params: summary.params }]);
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
    const want = await predictPixels(model, IMAGES);
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
      const want = await predictPixels(model, [Array.from(pixels)]);
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
    const want = await predictPixels(model, IMAGES);
    const got = r.json().predictions.map((p: { id: number; label: number; probs: number[] }) => ({ ...p, probs: p.probs.map(Math.fround) }));
    expect(got).toEqual(IMAGES.map((_, i) => ({ id: 70 + i, label: want.labels[i], probs: Array.from(want.probs.subarray(i * 10, i * 10 + 10)) })));
    // Columns by name, in any order; labels checked and ignored.
    const swapped = ['pixel1', 'pixel0', 'label', ...Array.from({ length: 782 }, (_, i) => `pixel${i + 2}`)].join(',');
    const row = [IMAGES[0][1], IMAGES[0][0], 7, ...IMAGES[0].slice(2)].join(',');
    expect((await post(`${swapped}\n${row}`, 'text/csv')).json().predictions[0].label).toBe(want.labels[0]);
  });
});

describe('kconv serve: the usual upload idioms', () => {
  const png = pngBytes(digitRgba(IMAGES[0], true));
  const jpg = jpegBytes(digitRgba(IMAGES[3]), 80);
  const head = ['id', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
  const csv = Buffer.from([head, ...IMAGES.map((p, i) => `${40 + i},${p.join(',')}`)].join('\n') + '\n');
  const labels = (r: { json: () => { predictions: { label: number; id?: number }[] } }) => r.json().predictions.map((p) => (p.id === undefined ? p.label : `${p.id}:${p.label}`));
  let want: { png: unknown[]; jpg: unknown[]; csv: unknown[]; json: unknown[] };
  beforeAll(async () => {
    want = {
      png: labels(await post(png, 'image/png')),
      jpg: labels(await post(jpg, 'image/jpeg')),
      csv: labels(await post(csv, 'text/csv')),
      json: labels(await json({ images: IMAGES })),
    };
    // The four are different answers, so that one read as another would show.
    expect(want.csv).toEqual(IMAGES.map((_, i) => `${40 + i}:${want.json[i]}`));
  });

  it('multipart/form-data (curl -F file=@one.png): the one file, by its bytes', async () => {
    const one = await post(form([{ name: 'file', filename: 'one.png', type: 'image/png', bytes: png }]), FORM_TYPE);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual((await post(png, 'image/png')).json());
    // A JPEG sent as octet-stream, a CSV, a form with other fields, a quoted boundary, a file with no name (curl -F 'file=<x.csv').
    expect(labels(await post(form([{ name: 'file', filename: 'p.jpg', type: 'application/octet-stream', bytes: jpg }]), FORM_TYPE))).toEqual(want.jpg);
    expect(labels(await post(form([{ name: 'file', filename: 'digits.csv', type: 'text/csv', bytes: csv }]), FORM_TYPE))).toEqual(want.csv);
    expect(labels(await post(form([{ name: 'note', bytes: Buffer.from('hi') }, { name: 'file', filename: 'one.png', bytes: png }, { name: 'go', bytes: Buffer.from('1') }]), FORM_TYPE))).toEqual(want.png);
    expect(labels(await post(form([{ name: 'file', filename: 'one.png', bytes: png }], 'a b'), 'multipart/form-data; boundary="a b"'))).toEqual(want.png);
    expect(labels(await post(form([{ name: 'file', bytes: csv }]), FORM_TYPE))).toEqual(want.csv);
    // The boundary's bytes inside the content (without the CRLF before them) do not end the part.
    const tricky = Buffer.concat([csv, Buffer.from(`--${BOUNDARY}`)]);
    expect((await post(form([{ name: 'file', filename: 'x.csv', bytes: tricky }]), FORM_TYPE)).json().error).toMatch(/^x\.csv:6: /);
  });

  it('--data-binary with no content type, or a generic one: the bytes say what it is', async () => {
    for (const type of ['', 'application/octet-stream', 'application/x-www-form-urlencoded', 'text/plain; charset=utf-8']) {
      expect(labels(await post(png, type)), type).toEqual(want.png);
      expect(labels(await post(jpg, type)), type).toEqual(want.jpg);
      expect(labels(await post(csv, type)), type).toEqual(want.csv);
      expect(labels(await post(JSON.stringify({ images: IMAGES }), type)), type).toEqual(want.json);
    }
    // With a BOM and leading blank space, JSON is still JSON; broken JSON says so.
    expect(labels(await post(`\ufeff \n${JSON.stringify({ pixels: IMAGES[1] })}`, ''))).toEqual([want.json[1]]);
    expect((await post('{"pixels": [1,', '')).json().error).toMatch(/^the body is not valid JSON/);
  });

  it('PUT (curl -T one.png) is taken like POST', async () => {
    expect(labels(await post(png, '', '/api/predict', 'PUT'))).toEqual(want.png);
    expect(labels(await post(JSON.stringify({ images: IMAGES }), 'application/json', '/api/predict', 'PUT'))).toEqual(want.json);
    const maps = (await post(png, 'image/png', '/api/predict?maps=1', 'PUT')).json().predictions[0];
    expect(maps.maps.length).toBe(3);
  });

  it('a blank image sent as numbers gets its prediction and a warning; a drawn one does not', async () => {
    const r = (await json({ images: [new Array(784).fill(0), IMAGES[0]] })).json().predictions;
    expect(r[0].warning).toBe('the image is blank (every pixel 0, no ink): its label means nothing');
    expect(Object.keys(r[1])).toEqual(['label', 'probs']);
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
    ['a CSV row short of fields', () => post(`${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n${pixels.slice(1).join(',')}\n`, 'text/csv'), 400, /^the CSV body:2: row has 783 fields but the header has 784$/],
    ['a CSV without a header', () => post(pixels.join(','), 'text/csv'), 400, /^the CSV body:1: no header line/],
    // Read by the file reader: its checks and words, less the --skip-bad-rows hint a request cannot use.
    ['a CSV with an id used twice', () => post(`id,${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n7,${pixels.join(',')}\n7,${pixels.join(',')}\n`, 'text/csv'), 400, /^the CSV body:3: column id: id 7 is already used on line 2; ids must be unique$/],
    ['a CSV of more rows than a request takes', () => post(`${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n${`${new Array(784).fill(0).join(',')}\n`.repeat(51)}`, 'text/csv'), 413, /^the CSV body holds more than 50 images: send at most 50 in one request$/],
    ['a CSV with no rows', () => post(Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(','), 'text/csv'), 400, /header but no rows/],
    ['text/xml', () => post('<a/>', 'text/xml'), 415, /^unsupported content type "text\/xml": POST \/api\/predict takes application\/json, image\/png, image\/jpeg, text\/csv, multipart\/form-data \(one file\), or no type or a generic one/],
    ['text/plain that is neither JSON nor CSV', () => post('hello', 'text/plain'), 400, /^the CSV body:1: /],
    ['a form of fields', () => post('a=1', 'application/x-www-form-urlencoded'), 400, /^the CSV body:1: /],
    ['octet-stream of no known format', () => post(Buffer.from([1, 2, 3]), 'application/octet-stream'), 400, /^the body: not a PNG or JPEG image \(its first bytes are neither PNG's nor JPEG's\)/],
    ['a GIF as octet-stream', () => post(Buffer.from('GIF89a\x01\0\x01\0\0\0\0', 'latin1'), 'application/octet-stream'), 400, /a GIF image: kconv reads PNG and JPEG: convert it to PNG or JPEG/],
    ['GIF', () => post(Buffer.from('GIF89a'), 'image/gif'), 415, /^unsupported picture type "image\/gif": kconv reads PNG and JPEG; convert it to PNG or JPEG/],
    ['a blank PNG', () => post(pngBytes({ width: 40, height: 30, data: new Uint8Array(40 * 30 * 4).fill(255) }), 'image/png'), 400, /^the image: the picture is blank \(no ink: one flat colour\): send a picture of one digit/],
    ['a blank PNG with no type', () => post(pngBytes({ width: 40, height: 30, data: new Uint8Array(40 * 30 * 4).fill(255) }), ''), 400, /^the body: the picture is blank/],
    ['multipart without a boundary', () => post('x', 'multipart/form-data'), 400, /^the multipart\/form-data body has no boundary/],
    ['multipart with another boundary', () => post('--other\r\n\r\nx\r\n--other--\r\n', 'multipart/form-data; boundary=B'), 400, /^the multipart body has no part: its boundary "B" does not occur in it/],
    ['multipart cut short', () => post(form([{ name: 'file', filename: 'a.png', bytes: Buffer.from('x'.repeat(100)) }]).subarray(0, 200), FORM_TYPE), 400, /^the multipart body is truncated: its last part has no closing boundary/],
    ['multipart with headers that never end', () => post(Buffer.from(`--${BOUNDARY}\r\n${'x: y\r\n'.repeat(2000)}`), FORM_TYPE), 400, /^the multipart body is malformed: a part's headers do not end within 8 kB/],
    ['multipart with two files', () => post(form([{ name: 'a', filename: 'a.png', bytes: Buffer.from('x') }, { name: 'b', filename: 'b.png', bytes: Buffer.from('y') }]), FORM_TYPE), 400, /^the multipart body holds 2 files: send one file per request/],
    ['multipart with fields and no file', () => post(form([{ name: 'a', bytes: Buffer.from('1') }, { name: 'b', bytes: Buffer.from('2') }]), FORM_TYPE), 400, /has 2 fields and no file/],
    ['multipart with 21 parts', () => post(form(Array.from({ length: 21 }, (_, i) => ({ name: `f${i}`, bytes: Buffer.from('1') }))), FORM_TYPE), 400, /has more than 20 parts/],
    ['multipart with an empty file', () => post(form([{ name: 'file', filename: 'empty.png', bytes: Buffer.alloc(0) }]), FORM_TYPE), 400, /^empty\.png is empty/],
    ['multipart: a text file named .png', () => post(form([{ name: 'file', filename: '../../notes.png', type: 'image/png', bytes: Buffer.from('hello') }]), FORM_TYPE), 400, /^notes\.png: not a PNG or JPEG image \(it starts with "hello…"\)/],
    ['multipart: a damaged PNG names its file', () => post(form([{ name: 'file', filename: 'cut.png', type: 'image/png', bytes: pngBytes(digitRgba(IMAGES[0])).subarray(0, 60) }]), FORM_TYPE), 400, /^cut\.png: /],
    ['GET /api/predict', () => app.inject('/api/predict'), 405, /^GET is not allowed on \/api\/predict: use POST or PUT/],
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
    expect(r.headers.allow).toBe('POST, PUT');
    expect((await app.inject({ method: 'DELETE', url: '/api/model' })).headers.allow).toBe('GET, HEAD');
  });

  it('is still healthy and right after all of them', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await json({ pixels: IMAGES[1] })).json().predictions[0].label).toBe((await predictPixels(model, [IMAGES[1]])).labels[0]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
