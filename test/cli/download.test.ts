/**
 * `kconv download` against an HTTP server started here on 127.0.0.1, serving small synthetic
 * gzip'd idx files under the official names. Their blob ids are computed here and injected
 * through the library's internal `blobIds` option, so the synthetic set verifies. The real
 * files are tested in test/real-data/download.test.ts; git blob ids in
 * test/unit/download.test.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { downloadCommand } from '../../src/cli/download.js';
import type { Io } from '../../src/cli/output.js';
import {
  DownloadInterrupted,
  downloadKannada,
  OFFICIAL_FILES,
  type DownloadEvent,
  type DownloadOptions,
} from '../../src/download/index.js';
import { KconvError, UsageError } from '../../src/errors.js';
import { idx } from '../helpers/idx-file.js';

// ---- synthetic official files ----------------------------------------------------------

function pixelsOf(n: number, seed: number): Uint8Array {
  const p = new Uint8Array(n * 784);
  // varied enough that gzip cannot squeeze a file into a few bytes (the drop test cuts one in half)
  for (let i = 0; i < p.length; i++) p[i] = (Math.imul(i + 1, 2654435761) ^ Math.imul(seed + 1, 40503)) >>> 24;
  return p;
}
const labelsOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10);

const SETS = [
  { csv: 'train.csv', x: 'X_kannada_MNIST_train-idx3-ubyte.gz', y: 'y_kannada_MNIST_train-idx1-ubyte.gz', n: 7, seed: 1 },
  { csv: 'test.csv', x: 'X_kannada_MNIST_test-idx3-ubyte.gz', y: 'y_kannada_MNIST_test-idx1-ubyte.gz', n: 5, seed: 2 },
  { csv: 'Dig-MNIST.csv', x: 'X_dig_MNIST-idx3-ubyte.gz', y: 'y_dig_MNIST-idx1-ubyte.gz', n: 4, seed: 3 },
] as const;

/** git hash-object, computed here independently of the library. */
const blobId = (bytes: Uint8Array) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

let root: string;
let serveDir: string;
const content = new Map<string, Buffer>();
const blobIds: Record<string, string> = {};

// ---- the HTTP server --------------------------------------------------------------------

type Behaviour = 'corrupt' | 'drop' | 'stall' | 'missing';
const behaviours = new Map<string, Behaviour>();
let requests: string[] = [];
let server: http.Server;
let base: string;

function startServer(): Promise<void> {
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    const name = decodeURIComponent(url.pathname.split('/').pop() ?? '');
    if (url.pathname.startsWith('/moved/')) {
      res.writeHead(302, { location: `/files/${name}` });
      res.end();
      return;
    }
    const behaviour = behaviours.get(name);
    let bytes: Buffer;
    try {
      if (behaviour === 'missing') throw new Error('404');
      bytes = await readFile(path.join(serveDir, name));
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404: Not Found');
      return;
    }
    if (behaviour === 'corrupt') {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] ^= 0x55;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    if (behaviour === 'drop') {
      res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (behaviour === 'stall') {
      res.flushHeaders();
      return;
    }
    res.end(bytes);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kconv-download-'));
  serveDir = path.join(root, 'served');
  await mkdir(serveDir);
  for (const set of SETS) {
    content.set(set.x, gzipSync(idx([set.n, 28, 28], pixelsOf(set.n, set.seed))));
    content.set(set.y, gzipSync(idx([set.n], labelsOf(set.n, set.seed))));
  }
  for (const [name, bytes] of content) {
    await writeFile(path.join(serveDir, name), bytes);
    blobIds[name] = blobId(bytes);
  }
  await startServer();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/`;
});

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(root, { recursive: true, force: true });
});

let dir: string;
let runs = 0;
beforeEach(async () => {
  behaviours.clear();
  requests = [];
  dir = path.join(root, `out-${runs++}`);
});
afterEach(() => {
  server?.closeAllConnections(); // the stalled responses
});

/** The library on the synthetic set. */
function download(opts: DownloadOptions = {}, events?: DownloadEvent[]) {
  return downloadKannada({ dir, mirror: base, timeoutMs: 5000, onEvent: events ? (e) => events.push(e) : undefined, ...opts }, { blobIds });
}

/** The CLI command in-process, as main.ts would run it. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t), errIsTTY: false };
  await downloadCommand(io, (c) => (code = c), { blobIds }).parseAsync(args, { from: 'user' });
  return { code, stdout, stderr };
}

/** Every file under dir, relative: there must never be a temporary one left. */
async function listing(folder = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(folder, path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)));
  }
  return out.sort();
}
const expectNoTemporaries = async () => {
  for (const f of await listing()) expect(f).not.toMatch(/\.(part|tmp)$/);
};

/** The CSV text the set must give: Kaggle layout, label first. */
function expectedCsv(set: (typeof SETS)[number]): string {
  const pixels = pixelsOf(set.n, set.seed);
  const labels = labelsOf(set.n, set.seed);
  const lines = [['label', ...Array.from({ length: 784 }, (_, x) => `pixel${x}`)].join(',')];
  for (let i = 0; i < set.n; i++) lines.push([labels[i], ...pixels.subarray(i * 784, (i + 1) * 784)].join(','));
  return lines.join('\n') + '\n';
}

// ---- tests ------------------------------------------------------------------------------

describe('kconv download from an HTTP server', () => {
  it('fetches, verifies and writes the three CSVs (Kaggle layout, with labels)', async () => {
    const events: DownloadEvent[] = [];
    const report = await download({}, events);
    expect(report.failures).toEqual([]);
    expect(report.files.map((f) => f.status)).toEqual(Array(6).fill('downloaded'));
    expect(report.csvs.map((c) => [c.file, c.status, c.rows])).toEqual([
      ['train.csv', 'written', 7],
      ['test.csv', 'written', 5],
      ['Dig-MNIST.csv', 'written', 4],
    ]);
    for (const name of OFFICIAL_FILES) expect(await readFile(path.join(dir, 'raw', name))).toEqual(content.get(name));
    for (const set of SETS) expect(await readFile(path.join(dir, set.csv), 'utf8')).toBe(expectedCsv(set));
    expect(requests.length).toBe(6);
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(12);
    expect(await listing()).toEqual([
      'Dig-MNIST.csv', 'raw/Dig-MNIST.csv.sources.json', ...OFFICIAL_FILES.map((f) => `raw/${f}`).sort(),
      'raw/test.csv.sources.json', 'raw/train.csv.sources.json', 'test.csv', 'train.csv',
    ].sort());
  });

  it('a missing file (HTTP 404): the others stay, its CSV is not made, the failure names the file', async () => {
    behaviours.set('X_kannada_MNIST_train-idx3-ubyte.gz', 'missing');
    const report = await download();
    expect(report.failures).toEqual([
      `X_kannada_MNIST_train-idx3-ubyte.gz: HTTP 404 Not Found (from ${base}X_kannada_MNIST_train-idx3-ubyte.gz); the file is not at this address (check --mirror)`,
    ]);
    expect(report.files.filter((f) => f.status === 'downloaded').length).toBe(5);
    expect(report.csvs.map((c) => c.status)).toEqual(['not-made', 'written', 'written']);
    expect(existsSync(path.join(dir, 'raw', 'X_kannada_MNIST_train-idx3-ubyte.gz'))).toBe(false);
    expect(existsSync(path.join(dir, 'train.csv'))).toBe(false);
    await expectNoTemporaries();
  });

  it('a corrupted file: blob id mismatch, "expected …, got …", nothing kept of it', async () => {
    behaviours.set('X_kannada_MNIST_test-idx3-ubyte.gz', 'corrupt');
    const bad = Buffer.from(content.get('X_kannada_MNIST_test-idx3-ubyte.gz')!);
    bad[bad.length >> 1] ^= 0x55;
    const report = await download();
    expect(report.failures.length).toBe(1);
    expect(report.failures[0]).toBe(
      `X_kannada_MNIST_test-idx3-ubyte.gz: blob id mismatch: expected ${blobIds['X_kannada_MNIST_test-idx3-ubyte.gz']}, got ${blobId(bad)} (from ${base}X_kannada_MNIST_test-idx3-ubyte.gz); the file is corrupt or not the official one: run kconv download again, or use another --mirror`,
    );
    expect(existsSync(path.join(dir, 'raw', 'X_kannada_MNIST_test-idx3-ubyte.gz'))).toBe(false);
    expect(report.csvs.map((c) => c.status)).toEqual(['written', 'not-made', 'written']);
    await expectNoTemporaries();
  });

  it('a connection dropped mid-file: says so with the byte counts, leaves no partial file', async () => {
    behaviours.set('X_dig_MNIST-idx3-ubyte.gz', 'drop');
    const size = content.get('X_dig_MNIST-idx3-ubyte.gz')!.length;
    const report = await download();
    expect(report.failures.length).toBe(1);
    expect(report.failures[0]).toMatch(
      new RegExp(`^X_dig_MNIST-idx3-ubyte\\.gz: (connection closed by the server|connection reset|connection closed) after ${size >> 1} of ${size} bytes \\(from ${base.replace(/[.]/g, '\\.')}X_dig_MNIST-idx3-ubyte\\.gz\\); run kconv download again to retry$`),
    );
    expect(existsSync(path.join(dir, 'raw', 'X_dig_MNIST-idx3-ubyte.gz'))).toBe(false);
    expect(existsSync(path.join(dir, 'Dig-MNIST.csv'))).toBe(false);
    expect(report.csvs.map((c) => c.status)).toEqual(['written', 'written', 'not-made']);
    await expectNoTemporaries();
  });

  it('a server that stops sending: timed out', async () => {
    behaviours.set('y_dig_MNIST-idx1-ubyte.gz', 'stall');
    const report = await download({ timeoutMs: 300 });
    expect(report.failures).toEqual([
      `y_dig_MNIST-idx1-ubyte.gz: timed out: no data for 0.3 s after 0 of ${content.get('y_dig_MNIST-idx1-ubyte.gz')!.length} bytes (from ${base}y_dig_MNIST-idx1-ubyte.gz); run kconv download again to retry`,
    ]);
    await expectNoTemporaries();
  });

  it('a server that is not there: connection refused', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const report = await download({ mirror: `http://127.0.0.1:${port}/x` });
    expect(report.failures.length).toBe(6);
    for (const line of report.failures) expect(line).toMatch(/^[Xy]_\S+\.gz: connection refused \(from http:\/\/127\.0\.0\.1:\d+\/x\/\S+\); run kconv download again to retry$/);
    expect(report.csvs.map((c) => c.status)).toEqual(['not-made', 'not-made', 'not-made']);
  });

  it('follows redirects', async () => {
    const report = await download({ mirror: base.replace('/files/', '/moved/') });
    expect(report.failures).toEqual([]);
    expect(requests.filter((r) => r.startsWith('/moved/')).length).toBe(6);
    expect(requests.filter((r) => r.startsWith('/files/')).length).toBe(6);
  });

  it('a rerun skips verified files (no requests) and up-to-date CSVs; a changed CSV or raw file is redone', async () => {
    await download();
    expect(requests.length).toBe(6);
    const csvMtime = (await stat(path.join(dir, 'test.csv'))).mtimeMs;

    requests = [];
    const again = await download();
    expect(requests).toEqual([]);
    expect(again.files.map((f) => f.status)).toEqual(Array(6).fill('present'));
    expect(again.csvs.map((c) => c.status)).toEqual(['present', 'present', 'present']);
    expect((await stat(path.join(dir, 'test.csv'))).mtimeMs).toBe(csvMtime);

    // A CSV changed by hand is made again; nothing is fetched.
    await appendFile(path.join(dir, 'test.csv'), '1,2,3\n');
    const third = await download();
    expect(requests).toEqual([]);
    expect(third.csvs.map((c) => c.status)).toEqual(['present', 'written', 'present']);
    expect(await readFile(path.join(dir, 'test.csv'), 'utf8')).toBe(expectedCsv(SETS[1]));

    // A raw file damaged on disk is fetched again (one request); its CSV, made from the verified bytes, stays.
    await writeFile(path.join(dir, 'raw', 'y_dig_MNIST-idx1-ubyte.gz'), 'damaged');
    const events: DownloadEvent[] = [];
    const fourth = await download({}, events);
    expect(requests).toEqual(['/files/y_dig_MNIST-idx1-ubyte.gz']);
    expect(events).toContainEqual({ type: 'fetch', file: 'y_dig_MNIST-idx1-ubyte.gz', from: `${base}y_dig_MNIST-idx1-ubyte.gz`, replacing: true });
    expect(fourth.files.map((f) => f.status)).toEqual(['present', 'present', 'present', 'present', 'present', 'downloaded']);
    expect(fourth.csvs.map((c) => c.status)).toEqual(['present', 'present', 'present']);
    expect(fourth.failures).toEqual([]);

    // A sidecar that does not match (e.g. deleted) makes the CSV again.
    await rm(path.join(dir, 'raw', 'train.csv.sources.json'));
    expect((await download()).csvs.map((c) => c.status)).toEqual(['written', 'present', 'present']);
  });

  it('a rerun after a failure fetches only what is missing', async () => {
    behaviours.set('X_kannada_MNIST_train-idx3-ubyte.gz', 'drop');
    expect((await download()).failures.length).toBe(1);
    behaviours.clear();
    requests = [];
    const report = await download();
    expect(report.failures).toEqual([]);
    expect(requests).toEqual(['/files/X_kannada_MNIST_train-idx3-ubyte.gz']);
    expect(report.csvs.map((c) => c.status)).toEqual(['written', 'present', 'present']);
  });

  it('Ctrl-C (the abort signal) mid-file: DownloadInterrupted (exit 130), no partial file', async () => {
    behaviours.set('X_kannada_MNIST_test-idx3-ubyte.gz', 'stall');
    const controller = new AbortController();
    const run = download({ signal: controller.signal }, undefined);
    const watcher = setInterval(() => {
      if (requests.includes('/files/X_kannada_MNIST_test-idx3-ubyte.gz')) controller.abort();
    }, 10);
    const error = await run.then(() => null, (e: unknown) => e).finally(() => clearInterval(watcher));
    expect(error).toBeInstanceOf(DownloadInterrupted);
    expect((error as DownloadInterrupted).exitCode).toBe(130);
    expect((error as Error).message).toMatch(/interrupted while fetching X_kannada_MNIST_test-idx3-ubyte\.gz; the files verified so far are kept/);
    expect(await listing()).toEqual(['raw/X_kannada_MNIST_train-idx3-ubyte.gz', 'raw/y_kannada_MNIST_train-idx1-ubyte.gz']);
  });

  it('removes temporary files left by a killed run (a dead process id), not those of a live one', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await mkdir(path.join(dir, 'raw'), { recursive: true });
    const stale = path.join(dir, 'raw', `X_dig_MNIST-idx3-ubyte.gz.${dead}.0123abcd.part`);
    const staleCsv = path.join(dir, `test.csv.${dead}.89abcdef.tmp`);
    const live = path.join(dir, 'raw', `y_dig_MNIST-idx1-ubyte.gz.${process.ppid}.0123abcd.part`);
    const notOurs = path.join(dir, `notes.txt.${dead}.0123abcd.tmp`);
    for (const f of [stale, staleCsv, live, notOurs]) await writeFile(f, 'x');
    await download();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(staleCsv)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(notOurs)).toBe(true);
  });
});

describe('the kconv download command', () => {
  it('over HTTP: exit 0, the CSVs on stdout, one line per step on stderr (no bar when stderr is not a terminal)', async () => {
    const r = await cli(['--dir', dir, '--mirror', base]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [`${path.join(dir, 'train.csv')}: 7 images, labelled`, `${path.join(dir, 'test.csv')}: 5 images, labelled`, `${path.join(dir, 'Dig-MNIST.csv')}: 4 images, labelled`, ''].join('\n'),
    );
    expect(r.stderr).toContain(`X_kannada_MNIST_test-idx3-ubyte.gz: fetching from ${base}X_kannada_MNIST_test-idx3-ubyte.gz\n`);
    expect(r.stderr).toMatch(/y_dig_MNIST-idx1-ubyte\.gz: \d+ bytes, blob id verified\n/);
    expect(r.stderr).toContain(`${path.join(dir, 'test.csv')}: written, 5 images`);
    expect(r.stderr).not.toContain('kconv:');

    const again = await cli(['--dir', dir, '--mirror', base]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('X_dig_MNIST-idx3-ubyte.gz: already here, blob id verified (skipped)');
    expect(again.stderr).toContain(`${path.join(dir, 'Dig-MNIST.csv')}: up to date (4 images; skipped)`);
  });

  it('--mirror with a folder; a file missing from it is reported, the rest kept, exit 1', async () => {
    const mirror = path.join(root, `mirror-${runs}`);
    await mkdir(mirror);
    for (const [name, bytes] of content) if (name !== 'y_kannada_MNIST_test-idx1-ubyte.gz') await writeFile(path.join(mirror, name), bytes);
    const r = await cli(['--dir', dir, '--mirror', mirror]);
    expect(r.code).toBe(1);
    expect(requests).toEqual([]);
    const failures = r.stderr.split('\n').filter((l) => l.startsWith('kconv: '));
    expect(failures).toEqual([
      `kconv: y_kannada_MNIST_test-idx1-ubyte.gz: not in the mirror folder (${path.join(mirror, 'y_kannada_MNIST_test-idx1-ubyte.gz')})`,
      'kconv: 1 of 6 files failed; what succeeded is kept. Run kconv download again to retry (verified files are skipped)',
    ]);
    expect(r.stderr).toContain('test.csv: not made (needs y_kannada_MNIST_test-idx1-ubyte.gz)');
    expect(r.stdout).toBe(`${path.join(dir, 'train.csv')}: 7 images, labelled\n${path.join(dir, 'Dig-MNIST.csv')}: 4 images, labelled\n`);
    for (const set of [SETS[0], SETS[2]]) expect(await readFile(path.join(dir, set.csv), 'utf8')).toBe(expectedCsv(set));
    await expectNoTemporaries();
  });

  it('--mirror with a file in it that does not verify', async () => {
    const mirror = path.join(root, `mirror-bad-${runs}`);
    await mkdir(mirror);
    for (const [name, bytes] of content) await writeFile(path.join(mirror, name), name === 'X_dig_MNIST-idx3-ubyte.gz' ? Buffer.from('not it') : bytes);
    const r = await cli(['--dir', dir, '--mirror', `file://${mirror}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `kconv: X_dig_MNIST-idx3-ubyte.gz: blob id mismatch: expected ${blobIds['X_dig_MNIST-idx3-ubyte.gz']}, got ${blobId(Buffer.from('not it'))} (${path.join(mirror, 'X_dig_MNIST-idx3-ubyte.gz')}); the file in the mirror folder is corrupt or not the official one\n`,
    );
  });

  it('several failures: one line each, exit 1', async () => {
    behaviours.set('X_kannada_MNIST_train-idx3-ubyte.gz', 'missing');
    behaviours.set('y_dig_MNIST-idx1-ubyte.gz', 'corrupt');
    const r = await cli(['--dir', dir, '--mirror', base]);
    expect(r.code).toBe(1);
    const failures = r.stderr.split('\n').filter((l) => l.startsWith('kconv: '));
    expect(failures.length).toBe(3);
    expect(failures[0]).toMatch(/^kconv: X_kannada_MNIST_train-idx3-ubyte\.gz: HTTP 404 Not Found/);
    expect(failures[1]).toMatch(/^kconv: y_dig_MNIST-idx1-ubyte\.gz: blob id mismatch: expected [0-9a-f]{40}, got [0-9a-f]{40}/);
    expect(failures[2]).toBe('kconv: 2 of 6 files failed; what succeeded is kept. Run kconv download again to retry (verified files are skipped)');
    expect(r.stdout).toBe(`${path.join(dir, 'test.csv')}: 5 images, labelled\n`);
  });

  it('a --mirror that is neither a URL nor a folder is a usage error (exit 2)', async () => {
    await expect(cli(['--dir', dir, '--mirror', path.join(root, 'no-such-folder')])).rejects.toThrow(UsageError);
    await expect(cli(['--dir', dir, '--mirror', path.join(root, 'no-such-folder')])).rejects.toThrow(/--mirror \S+: no such folder; give an http\(s\):\/\/ URL base or a folder/);
    await expect(cli(['--dir', dir, '--mirror', 'ftp://example.org/x/'])).rejects.toThrow(/only http:\/\/, https:\/\/ and file: URLs/);
    expect(existsSync(dir)).toBe(false);
  });

  it('a --dir that cannot be made is one line, exit 1', async () => {
    await mkdir(root, { recursive: true });
    const blocker = path.join(root, `blocker-${runs}`);
    await writeFile(blocker, 'a file');
    const error = await cli(['--dir', blocker, '--mirror', base]).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(KconvError);
    expect((error as KconvError).exitCode).toBe(1);
    expect((error as Error).message).toBe(`--dir ${blocker}: cannot create the folder ${path.join(blocker, 'raw')} (a file is in the way); give another --dir`);
  });

  it('the default source is the official repository', async () => {
    const { OFFICIAL_BASE_URL } = await import('../../src/data/official.js');
    expect(OFFICIAL_BASE_URL).toBe('https://raw.githubusercontent.com/vinayprabhu/Kannada_MNIST/master/data/output_tensors/MNIST_format/');
    const help = downloadCommand({ out: () => undefined, err: () => undefined, errIsTTY: false }, () => undefined).helpInformation();
    expect(help).toContain('--mirror <url or folder>');
    expect(help).toContain('(default: "data/kannada")');
  });
});
