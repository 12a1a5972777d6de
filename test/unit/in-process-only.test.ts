/**
 * The unit project's guard (test/helpers/in-process-only.ts): a process, a worker thread
 * or a listening socket started in a unit test throws, whether the test starts it or
 * kconv's own code does, and says where such a test belongs.
 */
import { exec, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../src/serve/server.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { OutOfProcessError } from '../helpers/in-process-only.js';
import { kconv } from '../helpers/in-process.js';
import { modelOf } from '../helpers/models.js';

const MOVE = /in a unit test: test\/unit\/ runs in this process only .*; move the test to test\/cli\/$/;

describe('the unit project runs in this process only', () => {
  it('child_process refuses to start a process, by any of its functions', () => {
    const calls: Array<[string, () => unknown]> = [
      ['spawn', () => spawn(process.execPath, ['-e', '0'])],
      ['spawnSync', () => spawnSync(process.execPath, ['-e', '0'])],
      ['exec', () => exec('true')],
      ['execFileSync', () => execFileSync('true')],
      ['fork', () => fork('-e')],
    ];
    for (const [name, call] of calls) {
      expect(call, name).toThrow(OutOfProcessError);
      expect(call, name).toThrow(new RegExp(`^child_process\\.${name}\\(\\) ${MOVE.source}`));
    }
  });

  it('a worker thread is refused', () => {
    expect(() => new Worker('0', { eval: true })).toThrow(/^new Worker\(\) \(node:worker_threads\) in a unit test/);
  });

  it('a socket is not listened on: net, http, and kconv serve\'s fastify', async () => {
    expect(() => createNetServer().listen(0)).toThrow(MOVE);
    expect(() => createServer().listen(0, '127.0.0.1')).toThrow(/^server\.listen\(\) in a unit test/);
    const app = buildServer({ model: modelOf('conv2k5,relu,pool2,dense10'), weightsFile: 'm.json' });
    try {
      await expect(app.listen({ port: 0, host: '127.0.0.1' })).rejects.toThrow(OutOfProcessError);
      // Requests injected into the app stay in this process: they are what unit tests use.
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('kconv\'s own worker threads are refused too (train --threads 2, in this process)', async () => {
    const dir = tempDir('kconv-guard-');
    const data = writeDigits(dir, 'digits.csv', 64, 1);
    const r = await kconv(['train', data, '--arch', 'conv2k5,relu,pool2,dense10', '--epochs', '1', '--threads', '2', '--out', join(dir, 'm.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/new Worker\(\) \(node:worker_threads\) in a unit test/);
    // On one thread the same run needs no worker.
    const one = await kconv(['train', data, '--arch', 'conv2k5,relu,pool2,dense10', '--epochs', '1', '--threads', '1', '--out', join(dir, 'm.json')]);
    expect(one.code, one.stderr).toBe(0);
  });
});
