import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const KCONV = fileURLToPath(new URL('../../bin/kconv.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (bin/kconv.js → dist/) as a user would, capturing both streams. */
export function runKconv(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KCONV, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export interface Served {
  child: ChildProcess;
  port: number;
  /** Its stderr so far. */
  stderr: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * Starts the built `kconv serve ...args` (give --port 0) and resolves once it says where it
 * listens and its stderr so far matches `ready` (when given); rejects with its stderr if it
 * exits before. The child is pushed onto `children` (when given) as soon as it starts.
 */
export async function startServe(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; ready?: RegExp; children?: ChildProcess[] } = {}): Promise<Served> {
  const child = spawn(process.execPath, [KCONV, 'serve', ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  opts.children?.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', () => {
      const m = /on http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m && (!opts.ready || opts.ready.test(err))) resolve(Number(m[1]));
    });
    void exit.then(() => reject(new Error(`kconv serve exited: ${err}`)));
  });
  return { child, port, stderr: () => err, exit };
}
