/**
 * kconv serve as a process: SIGTERM and SIGINT with connections open, 127.0.0.1 only,
 * and one-line refusals (a port in use, a bad --max-body, a missing weights file). How
 * --max-body sizes are read is in test/unit/serve-cli.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, saveModel } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { main } from '../../src/cli/main.js';
import { startServe } from '../helpers/cli.js';
import { digitPixels, tempDir } from '../helpers/digits.js';
import { Random } from '../../src/random.js';

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = tempDir('kconv-serve-');
  await saveModel(join(dir, 'm.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `kconv serve --port 0` and resolves once it says where it listens. */
const serve = (args: string[] = []) => startServe(['--weights', join(dir, 'm.json'), '--port', '0', ...args], { children });

/** The CLI in-process, for errors that come before anything listens. */
async function kconv(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(['node', 'kconv', ...args], { out: () => {}, err: (t) => (err += t), errIsTTY: false });
  return { code, err };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('kconv serve, the process', () => {
  it('on SIGTERM stops taking connections, finishes the request in flight, and exits 0', async () => {
    const s = await serve();
    expect(s.stderr()).toMatch(/^kconv serve: .*m\.json \(conv4k5,relu,pool2,dense10\) on http:\/\/127\.0\.0\.1:\d+\/ \(API: POST \/api\/predict, GET \/api\/model, GET \/healthz\); Ctrl-C stops\n$/);
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
    // A request whose body is half sent when the signal comes.
    const body = Buffer.from(JSON.stringify({ pixels: digitPixels(4, new Random(1)) }));
    const socket = connect(s.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d) => (reply += d));
    await once(socket, 'connect');
    socket.write(`POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    socket.write(body.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 100));
    s.child.kill('SIGTERM');
    await until(() => /finishing the requests in flight/.test(s.stderr()));
    expect(s.stderr()).toMatch(/kconv serve: SIGTERM: no new connections; finishing the requests in flight…/);
    // No new connections…
    await expect(fetch(`http://127.0.0.1:${s.port}/healthz`)).rejects.toThrow();
    // …but the one in flight is answered in full.
    socket.end(body.subarray(100));
    await once(socket, 'close');
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply).toMatch(/\{"predictions":\[\{"label":\d,"probs":\[/);
    expect(await s.exit).toEqual([0, null]);
    expect(s.stderr()).toMatch(/kconv serve: stopped\n$/);
  });

  it('binds 127.0.0.1 only; on Ctrl-C (SIGINT) with an idle keep-alive connection open, exits 0 without waiting for it', async () => {
    const s = await serve();
    // The machine's other addresses do not reach it (when it has any besides loopback).
    const { networkInterfaces } = await import('node:os');
    const outside = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (outside) {
      const reached = await new Promise<boolean>((resolve) => {
        const c = connect(s.port, outside.address);
        c.on('connect', () => (c.destroy(), resolve(true)));
        c.on('error', () => resolve(false));
      });
      expect(reached).toBe(false);
    }
    // A keep-alive connection that stays open and idle must not hold the shutdown up: were it
    // waited for, the exit would come after fastify's keep-alive timeout (72 s), and this test
    // would time out (30 s). How soon it exits is not measured.
    const socket = connect(s.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    s.child.kill('SIGINT');
    expect(await s.exit).toEqual([0, null]);
    socket.destroy();
  }, 30_000);

  it('a port in use, a bad --max-body, a missing weights file: one line each', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const busy = (blocker.address() as AddressInfo).port;
    const inUse = await kconv(['serve', '--weights', join(dir, 'm.json'), '--port', String(busy)]);
    blocker.close();
    expect(inUse).toEqual({ code: 1, err: `kconv: port ${busy} on 127.0.0.1 is in use: pick another with --port (--port 0 picks a free one)\n` });
    const max = await kconv(['serve', '--weights', join(dir, 'm.json'), '--max-body', 'lots']);
    expect(max.code).toBe(2);
    expect(max.err).toMatch(/--max-body must be a size from 1kB to 1024MB, e.g. 10MB or 512kB, got "lots"/);
    const port = await kconv(['serve', '--weights', join(dir, 'm.json'), '--port', '70000']);
    expect(port.code).toBe(2);
    const missing = await kconv(['serve', '--weights', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^kconv: .*nope\.json: no such weights file[^\n]*\n$/);
  });
});
