/**
 * src/io: the one file writer, the output checks, the lock and the thread budget, on
 * their own (the CLI's use of them is in the hostile-output tests). A FIFO and a process
 * that exits mid-write are in test/cli/io.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/errors.js';
import { writeAtomic, writeFileAtomic } from '../../src/io/atomic-write.js';
import { lockOutput } from '../../src/io/lock.js';
import { WORKER_RESERVATION_BYTES, workersThatFit } from '../../src/io/thread-budget.js';
import { tempDir } from '../helpers/digits.js';

let dir: string;
const p = (name: string) => path.join(dir, name);
const leftovers = () => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
beforeAll(() => {
  dir = tempDir('kconv-io-');
});

describe('writeAtomic', () => {
  it('streams pieces into a temporary file and renames it over the target only when done', async () => {
    writeFileSync(p('a.txt'), 'old');
    let seenMidway = '';
    await writeAtomic(p('a.txt'), async (sink) => {
      await sink.write('new ');
      seenMidway = readFileSync(p('a.txt'), 'utf8');
      await sink.write(Buffer.from('content'));
    });
    expect(seenMidway).toBe('old');
    expect(readFileSync(p('a.txt'), 'utf8')).toBe('new content');
    expect(leftovers()).toEqual([]);
  });

  it('a producer that fails, or a check before the rename that fails, leaves the target as it was and no temporary file', async () => {
    writeFileSync(p('b.txt'), 'old');
    await expect(writeAtomic(p('b.txt'), async (sink) => {
      await sink.write('half');
      throw new Error('producer failed');
    })).rejects.toThrow('producer failed');
    await expect(writeFileAtomic(p('b.txt'), 'new', { beforeReplace: async () => { throw new Error('does not verify'); } })).rejects.toThrow('does not verify');
    expect(readFileSync(p('b.txt'), 'utf8')).toBe('old');
    expect(leftovers()).toEqual([]);
  });

  it('a replaced file keeps its permissions', async () => {
    writeFileSync(p('c.txt'), 'old');
    chmodSync(p('c.txt'), 0o640);
    await writeFileAtomic(p('c.txt'), 'new');
    expect(statSync(p('c.txt')).mode & 0o777).toBe(0o640);
  });

  it('a folder is an OutputError naming the path as given', async () => {
    mkdirSync(p('folder'));
    await expect(writeFileAtomic(p('folder'), 'x')).rejects.toSatisfy((e) => e instanceof OutputError && e.message === `${p('folder')}: cannot write: is a folder; give a file name`);
  });
});

describe('lockOutput', () => {
  it('one holder at a time; release is idempotent; a link and its target share the lock', async () => {
    writeFileSync(p('m.json'), '{}');
    symlinkSync(p('m.json'), p('m-link.json'));
    const lock = await lockOutput(p('m.json'), '--out m.json');
    expect(readFileSync(`${p('m.json')}.lock`, 'utf8')).toBe(`${process.pid}\n${hostname()}\n`);
    await expect(lockOutput(p('m-link.json'), '--out m-link.json')).rejects.toThrow(/another kconv run \(pid \d+\) is writing this file/);
    lock.release();
    lock.release();
    expect(existsSync(`${p('m.json')}.lock`)).toBe(false);
    (await lockOutput(p('m-link.json'), '--out m-link.json')).release();
  });

  it('our own pid in a lock we do not hold is stale (left by an earlier process that had this pid)', async () => {
    writeFileSync(`${p('n.json')}.lock`, `${process.pid}\n${hostname()}\n`);
    const lock = await lockOutput(p('n.json'), '--out n.json');
    lock.release();
    expect(existsSync(`${p('n.json')}.lock`)).toBe(false);
  });
});

describe('workersThatFit', () => {
  it('every worker wanted without a limit; under one, those that fit with room for the main thread', () => {
    const GB = 2 ** 30;
    expect(workersThatFit(4, { limit: Infinity, used: 0 })).toBe(4);
    expect(workersThatFit(4, { limit: 2e9, used: 0.8e9 })).toBe(0);
    expect(workersThatFit(16, { limit: 8 * GB, used: GB })).toBe(Math.floor((7 * GB - 512 * 2 ** 20) / WORKER_RESERVATION_BYTES));
    expect(workersThatFit(2, { limit: 8 * GB, used: GB })).toBe(2);
  });
});
