/**
 * kconv serve where a test needs a real socket or another process: the page's modules
 * parsed by node --check, bodies too large or chunked past the limit sent over a socket,
 * what real curl sends, and raw ../ paths. Everything answered through inject() (in
 * this process) is in test/unit/serve-api.test.ts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { buildServer } from '../../src/serve/server.js';
import { tempDir } from '../helpers/digits.js';
import { IMAGES, predictPixels } from '../helpers/four-digits.js';
import { digitRgba, jpegBytes, pngBytes } from '../helpers/images.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const model: ModelFile = { input: DEFAULT_INPUT, arch: ARCH, net: createNetwork(ARCH, 3) };
const MAX_BODY = 256 * 1024;

describe('kconv serve: the page', () => {
  it('every module of the page, as served, parses as a JavaScript module (node --check)', async () => {
    const app = buildServer({ model, weightsFile: 'model.json' });
    try {
      const modules = new Set(['./app.js']);
      const dir = tempDir('kconv-page-');
      for (const name of modules) {
        const js = await app.inject(`/assets/${name.slice(2)}`);
        expect(js.statusCode, name).toBe(200);
        for (const m of js.body.matchAll(/^import [^;]* from '([^']+)'/gm)) modules.add(m[1]);
        const file = join(dir, name.replace('.js', '.mjs'));
        writeFileSync(file, js.body);
        const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
        expect(check.status, `${name}: ${check.stderr}`).toBe(0);
      }
      expect(modules.size).toBe(13);
    } finally {
      await app.close();
    }
  });
});

describe('kconv serve over a real socket', () => {
  let server: FastifyInstance;
  let port: number;
  let files: string;
  beforeAll(async () => {
    files = tempDir('kconv-curl-');
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

  /** Runs curl (asynchronously: the server is in this process) and resolves with its status and JSON. */
  function curl(args: string[]): Promise<{ status: number; body: { predictions?: { label: number }[]; error?: string } }> {
    return new Promise((resolve, reject) => {
      execFile('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args, `http://127.0.0.1:${port}/api/predict`], { cwd: files }, (error, stdout, stderr) => {
        if (error) return reject(new Error(`curl ${args.join(' ')}: ${stderr || error.message}`));
        const cut = stdout.lastIndexOf('\n');
        resolve({ status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) });
      });
    });
  }

  it('takes what real curl sends: -F file=@, --data-binary @ (with and without a type), -T', async () => {
    writeFileSync(join(files, 'one.png'), pngBytes(digitRgba(IMAGES[2], true)));
    writeFileSync(join(files, 'one.jpg'), jpegBytes(digitRgba(IMAGES[1]), 85));
    writeFileSync(join(files, 'notes.png'), 'these are notes, not a picture\n');
    const head = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
    writeFileSync(join(files, 'four.csv'), [head, ...IMAGES.map((p, i) => `${i},${p.join(',')}`)].join('\n') + '\n');
    const want = await server.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'image/png' }, payload: readFileSync(join(files, 'one.png')) });
    const label = want.json().predictions[0].label;
    for (const args of [['-F', 'file=@one.png'], ['--data-binary', '@one.png'], ['-H', 'content-type:', '--data-binary', '@one.png'], ['-H', 'content-type: application/octet-stream', '--data-binary', '@one.png'], ['-T', 'one.png']]) {
      const r = await curl(args);
      expect([r.status, r.body.predictions?.[0].label], args.join(' ')).toEqual([200, label]);
    }
    const jpg = await curl(['-T', 'one.jpg']);
    expect(jpg.body.predictions?.[0].label).toBe((await server.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'image/jpeg' }, payload: readFileSync(join(files, 'one.jpg')) })).json().predictions[0].label);
    const all = await curl(['-F', 'file=@four.csv']);
    expect(all.body.predictions?.map((p) => p.label)).toEqual(Array.from((await predictPixels(model, IMAGES)).labels));
    expect((await curl(['--data-binary', '@four.csv'])).body.predictions).toHaveLength(4);
    expect((await curl(['-T', 'four.csv'])).body.predictions).toHaveLength(4);
    const bad = await curl(['-F', 'file=@notes.png']);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^notes\.png: not a PNG or JPEG image \(it starts with "these are notes/);
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
