/**
 * `kconv download` with the real official files: an HTTP server started here on 127.0.0.1
 * serves $KCONV_DATA/raw (default ../shared/data/kannada/raw), and the files must verify
 * against the official blob ids in the source. The 60,000 training images are not in that
 * folder, so their download is a real 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { downloadCommand } from '../../src/cli/download.js';
import type { Io } from '../../src/cli/output.js';
import { readIdxDataset } from '../../src/data/idx.js';
import { downloadKannada, gitBlobIdOfFile, OFFICIAL_BLOB_IDS, OFFICIAL_FILES, type OfficialFileName } from '../../src/download/index.js';
import { DATA_DIR, dataFile } from '../helpers/real-data.js';

const RAW = path.join(DATA_DIR, 'raw');
const PRESENT: readonly OfficialFileName[] = OFFICIAL_FILES.filter((f) => f !== 'X_kannada_MNIST_train-idx3-ubyte.gz');
/** sha256 of Kaggle's Dig-MNIST.csv, from the data folder's README. */
const KAGGLE_DIG_SHA256 = 'a9b3cac459416289a1d1e94f6536988a11e92abcf8c2ddf360bb8f8bdf697f54';

let server: http.Server;
let base: string;
let requests: string[] = [];
let root: string;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  for (const f of PRESENT) dataFile(`raw/${f}`); // a clear failure when the real files are not there
  root = await mkdtemp(path.join(tmpdir(), 'kconv-real-download-'));
  server = http.createServer(async (req, res) => {
    requests.push(req.url ?? '');
    const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
    try {
      const bytes = await readFile(path.join(RAW, name));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
    } catch {
      res.writeHead(404);
      res.end('404: Not Found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vinayprabhu/Kannada_MNIST/master/data/output_tensors/MNIST_format/`;
});

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  if (root) await rm(root, { recursive: true, force: true });
});

describe('kconv download, real files', () => {
  it('the files in the data folder have the official blob ids written in the source', async () => {
    for (const f of PRESENT) expect(await gitBlobIdOfFile(dataFile(`raw/${f}`)), f).toBe(OFFICIAL_BLOB_IDS[f]);
  });

  it('over HTTP: five files verified, the training images a 404; test.csv and Dig-MNIST.csv written; a rerun fetches nothing', async () => {
    const dir = path.join(root, 'http');
    const report = await downloadKannada({ dir, mirror: base });
    expect(report.files.map((f) => [f.file, f.status])).toEqual(OFFICIAL_FILES.map((f) => [f, PRESENT.includes(f) ? 'downloaded' : 'failed']));
    expect(report.failures).toEqual([
      `X_kannada_MNIST_train-idx3-ubyte.gz: HTTP 404 Not Found (from ${base}X_kannada_MNIST_train-idx3-ubyte.gz); the file is not at this address (check --mirror)`,
    ]);
    expect(report.csvs.map((c) => [c.file, c.status, c.rows])).toEqual([
      ['train.csv', 'not-made', undefined],
      ['test.csv', 'written', 10_000],
      ['Dig-MNIST.csv', 'written', 10_240],
    ]);
    for (const f of PRESENT) expect(Buffer.compare(await readFile(path.join(dir, 'raw', f)), await readFile(dataFile(`raw/${f}`))), f).toBe(0);

    // Byte for byte the Dig-MNIST.csv Kaggle ships.
    expect(await sha256(path.join(dir, 'Dig-MNIST.csv'))).toBe(KAGGLE_DIG_SHA256);
    // test.csv: label,pixel0..pixel783, the official test set with its labels.
    const text = await readFile(path.join(dir, 'test.csv'), 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toBe(['label', ...Array.from({ length: 784 }, (_, x) => `pixel${x}`)].join(','));
    expect(lines.length).toBe(10_002); // header, 10,000 rows, and the empty string after the last newline
    const { images: idx } = await readIdxDataset(dataFile('raw/X_kannada_MNIST_test-idx3-ubyte.gz'));
    for (const i of [0, 1, 4999, 9999]) {
      expect(lines[i + 1]).toBe([idx.labels![i], ...idx.pixels.subarray(i * 784, (i + 1) * 784)].join(','));
    }
    expect(existsSync(path.join(dir, 'train.csv'))).toBe(false);
    for (const f of await readdir(dir, { recursive: true })) expect(String(f)).not.toMatch(/\.(part|tmp)$/);

    requests = [];
    const again = await downloadKannada({ dir, mirror: base });
    expect(requests).toEqual([`/vinayprabhu/Kannada_MNIST/master/data/output_tensors/MNIST_format/X_kannada_MNIST_train-idx3-ubyte.gz`]);
    expect(again.files.filter((f) => f.status === 'present').length).toBe(5);
    expect(again.csvs.map((c) => c.status)).toEqual(['not-made', 'present', 'present']);
  });

  it('the command with --mirror <the raw folder>: exit 1 for the missing training images, the rest in place', async () => {
    const dir = path.join(root, 'folder');
    let stdout = '';
    let stderr = '';
    let code = -1;
    const io: Io = { out: (t) => (stdout += t), err: (t) => (stderr += t), errIsTTY: false };
    await downloadCommand(io, (c) => (code = c)).parseAsync(['--dir', dir, '--mirror', RAW], { from: 'user' });
    expect(code).toBe(1);
    expect(stdout).toBe(`${path.join(dir, 'test.csv')}: 10000 images, labelled\n${path.join(dir, 'Dig-MNIST.csv')}: 10240 images, labelled\n`);
    expect(stderr.split('\n').filter((l) => l.startsWith('kconv: '))).toEqual([
      `kconv: X_kannada_MNIST_train-idx3-ubyte.gz: not in the mirror folder (${path.join(RAW, 'X_kannada_MNIST_train-idx3-ubyte.gz')})`,
      'kconv: 1 of 6 files failed; what succeeded is kept. Run kconv download again to retry (verified files are skipped)',
    ]);
    expect(await sha256(path.join(dir, 'Dig-MNIST.csv'))).toBe(KAGGLE_DIG_SHA256);
  });
});
