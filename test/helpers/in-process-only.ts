/**
 * The unit project's setup file (vitest.config.ts): a unit test runs in this process
 * only. Starting a process (node:child_process), a thread (node:worker_threads' Worker)
 * or listening on a socket (net.Server, which http servers and fastify's listen are)
 * throws an OutOfProcessError naming the call, whether the test calls it or kconv's own
 * code does. Such a test belongs in test/cli/ (docs/development.md, "Tests").
 *
 * The functions are replaced on the modules' objects and copied into their ES module
 * exports (syncBuiltinESMExports), so `import { spawn } from 'node:child_process'` in a
 * test or in src/ gets the guard too; they are put back after each test file.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { afterAll } from 'vitest';

const require = createRequire(import.meta.url);
const childProcess = require('node:child_process') as Record<string, unknown>;
const workerThreads = require('node:worker_threads') as Record<string, unknown>;
const netServer = (require('node:net') as typeof import('node:net')).Server.prototype as unknown as Record<string, unknown>;

export class OutOfProcessError extends Error {
  override name = 'OutOfProcessError';
}

function refuse(what: string): never {
  throw new OutOfProcessError(
    `${what} in a unit test: test/unit/ runs in this process only (no child processes, worker threads or listening sockets); move the test to test/cli/`,
  );
}

const CHILD_PROCESS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];

/** [object, property, the original, the guard] for every replaced function. */
const guarded: Array<[Record<string, unknown>, string, unknown, unknown]> = [
  ...CHILD_PROCESS.map((name): [Record<string, unknown>, string, unknown, unknown] => [childProcess, name, childProcess[name], () => refuse(`child_process.${name}()`)]),
  [workerThreads, 'Worker', workerThreads.Worker, function Worker() {
    refuse('new Worker() (node:worker_threads)');
  }],
  [netServer, 'listen', netServer.listen, () => refuse('server.listen()')],
];

function put(which: 2 | 3): void {
  for (const entry of guarded) entry[0][entry[1]] = entry[which];
  syncBuiltinESMExports();
}

put(3);
afterAll(() => put(2));
