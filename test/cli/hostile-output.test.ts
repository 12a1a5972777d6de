/**
 * Hostile outputs (issue "nothing lost, nothing silently wrong") that need processes or
 * root: --out to a FIFO, a device or a pipe, on a full or read-only disk (tmpfs mounts);
 * a lock held by another process; a closed pipe and a full stdout. Each test failed on
 * the code before its fix. The rest is in test/unit/hostile-output.test.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KCONV } from '../helpers/cli.js';
import { kconv } from '../helpers/in-process.js';
import { temporaries, TINY, trainedFolder } from '../helpers/trained-folder.js';
import { fillDisk, mountTmpfs, SKIP_MOUNTS, unmount } from '../helpers/mounts.js';

const trained = trainedFolder();
const { p, folder } = trained;
const mounts: string[] = [];

afterAll(() => {
  for (const m of mounts) unmount(m);
});

describe('--out to a FIFO, a device or a pipe', () => {
  it('a FIFO is written to, not replaced', { timeout: 15_000 }, async () => {
    const fifo = p('out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = readFile(fifo, 'utf8');
    const r = await kconv(['predict', p('val.csv'), '--weights', p('m.json'), '--out', fifo]);
    expect(r.code, r.stderr).toBe(0);
    expect(await reader).toMatch(/^id,label\n0,\d\n/);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('a character device is written to, not replaced (a /dev/null made with mknod)', async () => {
    const node = p('null');
    try {
      execFileSync('mknod', [node, 'c', '1', '3'], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`cannot make a device node with mknod (${(err as Error).message}): this test needs root`);
    }
    const r = await kconv(['predict', p('val.csv'), '--weights', p('m.json'), '--out', node]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(node).isCharacterDevice()).toBe(true);
    expect(temporaries(trained.dir)).toEqual([]);
  });

  it('--out /proc/self/fd/1 (standard output, a pipe) writes to the pipe', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', `"${process.execPath}" "${KCONV}" predict val.csv --weights m.json --out /proc/self/fd/1 | cat`], { cwd: trained.dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stderr).toMatch(/^wrote 60 predictions to \/proc\/self\/fd\/1\n/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^id,label\n0,\d\n/);
  });
});

describe.skipIf(SKIP_MOUNTS)('a full disk and a read-only disk (tmpfs mounts: needs root)', () => {
  it('a full disk while saving predictions: exit 1, one line, the old file intact, no temporary file', async () => {
    const full = folder('full');
    mountTmpfs(full, 'size=256k');
    mounts.push(full);
    writeFileSync(path.join(full, 'preds.csv'), 'old\n');
    fillDisk(full);
    const out = path.join(full, 'preds.csv');
    const r = await kconv(['predict', p('val.csv'), '--weights', p('m.json'), '--out', out]);
    expect(r.stderr).toBe(`kconv: ${out}: cannot write: the disk is full (no space left on the device); ${out} was not changed; free some space and run again\n`);
    expect(r.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('old\n');
    expect(temporaries(full)).toEqual([]);
  });

  it('a full disk while saving weights after an epoch: exit 1, one line, the old file intact', async () => {
    const full = folder('full2');
    mountTmpfs(full, 'size=256k');
    mounts.push(full);
    const out = path.join(full, 'model.json');
    writeFileSync(out, '{"old": true}\n');
    // The disk fills up while the run trains (after its checks and its lock).
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out], { onErr: (t) => t.startsWith('training ') && fillDisk(full) });
    expect(r.stderr.trimEnd().split('\n').pop()).toBe(`kconv: ${out}: cannot write: the disk is full (no space left on the device); ${out} was not changed; free some space and run again`);
    expect(r.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(full).filter((n) => n !== 'model.json' && n !== 'filler')).toEqual([]); // no temporary file, no lock
  });

  it('a read-only folder is found before training, naming the path typed', async () => {
    const ro = folder('ro');
    mountTmpfs(ro, 'ro,size=64k');
    mounts.push(ro);
    const out = path.join(ro, 'model.json');
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out]);
    expect(r.stderr).toBe(`kconv: --out ${out}: ${ro} is on a read-only file system; give another path\n`);
    expect(r.code).toBe(1);
  });
});

describe('one run per output: <out>.lock', () => {
  it('a second run on the same --out is refused while the first holds the lock', async () => {
    const out = p('busy.json');
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(`${out}.lock`, `${holder.pid}\n${hostname()}\n`);
      const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out]);
      expect(r.stderr).toBe(`kconv: --out ${out}: another kconv run (pid ${holder.pid}) is writing this file; wait for it to finish or give another output file (if that run is gone, delete ${out}.lock)\n`);
      expect(r.code).toBe(1);
      expect(existsSync(out)).toBe(false);
      expect(readFileSync(`${out}.lock`, 'utf8')).toBe(`${holder.pid}\n${hostname()}\n`); // not ours to remove
    } finally {
      holder.kill();
    }
  });

  it('a stale lock (its process is gone) is taken over', async () => {
    const out = p('stale.json');
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(`${out}.lock`, `${gone.pid}\n${hostname()}\n`);
    const r = await kconv(['train', p('digits.csv'), ...TINY, '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });
});

/** The CLI in a child process, in the test folder; `stdout` may be a file descriptor, or 'closed' (a reader that went away). */
function run(args: string[], opts: { stdout?: number | 'closed' } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KCONV, ...args], {
      cwd: trained.dir,
      env: { ...process.env, XDG_CACHE_HOME: p('cache') },
      stdio: ['ignore', typeof opts.stdout === 'number' ? opts.stdout : 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    if (opts.stdout === 'closed') child.stdout!.destroy();
    else child.stdout?.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a closed pipe ends kconv quietly; other write errors are one line', () => {
  it.each([
    ['predict --probs', ['predict', 'val.csv', '--weights', 'm.json', '--probs']],
    ['help train', ['help', 'train']],
  ])('%s into a pipe whose reader is gone: no stack trace, exit 141 (as SIGPIPE)', async (_, args) => {
    const r = await run(args, { stdout: 'closed' });
    expect(r.stderr).not.toMatch(/EPIPE|node:events|\n\s+at /);
    expect(r.code).toBe(141);
  });

  it('> /dev/full: one line saying the disk is full, exit 1', async () => {
    const full = openSync('/dev/full', 'w');
    const r = await run(['predict', 'val.csv', '--weights', 'm.json'], { stdout: full });
    expect(r.stderr.trimEnd().split('\n').pop()).toBe('kconv: cannot write to standard output: the disk is full (no space left on the device)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(1);
  });
});
