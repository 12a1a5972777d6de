/**
 * kconv serve --collect where it needs a socket or root: 1,000 concurrent posts to a
 * listening server, and a disk that fills up or turns read-only (tmpfs mounts). The rest
 * is in test/unit/serve-teach.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { SampleStore } from '../../src/serve/samples.js';
import { Random } from '../../src/random.js';
import { digitPixels, tempDir } from '../helpers/digits.js';
import { fillDisk, mountTmpfs, SKIP_MOUNTS, unmount } from '../helpers/mounts.js';
import { modelOf } from '../helpers/models.js';
import { closeServers, postSample, teachServer } from '../helpers/teach-server.js';

const ARCH = 'conv4k5,relu,pool2,dense10';
const model = modelOf(ARCH, 3);
const random = new Random(11);
const DIGITS = Array.from({ length: 10 }, (_, k) => digitPixels(k, random));

const mounted: string[] = [];
afterEach(async () => {
  await closeServers();
  for (const dir of mounted.splice(0)) unmount(dir);
});

describe('kconv serve --collect: samples', () => {
  it('keeps 1,000 concurrent posts to a listening server: 1,000 whole rows, none lost, torn or interleaved', async () => {
    const { app, file } = await teachServer(model);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const labels = Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);
    const answers = await Promise.all(labels.map((label) =>
      fetch(`http://127.0.0.1:${port}/api/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: DIGITS[label], label }) })
        .then((r) => r.status)));
    expect(answers.every((s) => s === 201)).toBe(true);
    const lines = readFileSync(file, 'latin1').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.length - 2).toBe(1000);
    // Every row is a whole sample: its label and exactly that digit's pixels.
    const rows = lines.slice(1, -1).map((l) => l.split(',').map(Number));
    for (const row of rows) expect(row.slice(1)).toEqual(DIGITS[row[0]]);
    const perDigit = new Array(10).fill(0);
    for (const row of rows) perDigit[row[0]]++;
    expect(perDigit).toEqual(new Array(10).fill(100));
    expect((await app.inject('/api/samples')).json().counts).toEqual(perDigit);
    expect((await readDataset(file, { requireLabels: true })).images.n).toBe(1000);
  }, 60_000);
});

describe('kconv serve --collect: a disk that fills up or turns read-only', () => {
  it.skipIf(SKIP_MOUNTS)('a full disk (ENOSPC): 507 JSON, one line in the log, the file whole as before', async () => {
    const dir = tempDir('kconv-teach-full-');
    mountTmpfs(dir, 'size=64k');
    mounted.push(dir);
    const { app, file, lines } = await teachServer(model, { dir });
    expect((await postSample(app, { pixels: DIGITS[0], label: 0 })).statusCode).toBe(201);
    fillDisk(dir);
    // The file's last page may still have room for a row or two; then the disk is full.
    let r = await postSample(app, { pixels: DIGITS[9], label: 9 });
    let saved = 1;
    let before = readFileSync(file);
    while (r.statusCode === 201 && saved < 10) {
      saved++;
      before = readFileSync(file);
      r = await postSample(app, { pixels: DIGITS[9], label: 9 });
    }
    expect(r.statusCode).toBe(507);
    expect(r.json().error).toMatch(/cannot write .*samples\.csv: the disk is full .*; the sample was not saved/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kconv serve: cannot write .*samples\.csv: the disk is full .*\n$/);
    // Nothing half written: the rows that were saved, whole, and not a byte more.
    expect(readFileSync(file)).toEqual(before);
    expect(statSync(file).size).toBe(before.length);
    expect((await readDataset(file)).images.n).toBe(saved);
    expect((await app.inject('/api/samples')).json().total).toBe(saved);
  });

  it.skipIf(SKIP_MOUNTS)('a folder that turns read-only: 500 JSON, one line in the log, nothing written', async () => {
    const dir = tempDir('kconv-teach-ro-');
    mountTmpfs(dir, 'size=1m');
    mounted.push(dir);
    const { app, file, lines } = await teachServer(model, { dir });
    expect((await postSample(app, { pixels: DIGITS[0], label: 0 })).statusCode).toBe(201);
    const before = readFileSync(file);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const r = await postSample(app, { pixels: DIGITS[9], label: 9 });
    expect(r.statusCode).toBe(500);
    expect(r.json().error).toMatch(/cannot write .*samples\.csv: the file system is read-only; the sample was not saved/);
    expect(lines).toEqual([expect.stringMatching(/^kconv serve: cannot write .*read-only.*\n$/)]);
    expect(readFileSync(file)).toEqual(before);
  });

  it.skipIf(SKIP_MOUNTS)('a read-only DIR at start is refused in one line', async () => {
    const dir = tempDir('kconv-teach-ro0-');
    mountTmpfs(dir, 'size=64k,ro');
    mounted.push(dir);
    await expect(SampleStore.open(dir)).rejects.toThrow(/^--collect .*: cannot create the lock file .*samples\.csv\.lock: the file system is read-only$/);
  });
});
