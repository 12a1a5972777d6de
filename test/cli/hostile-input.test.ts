/**
 * Hostile input (issue "nothing lost, nothing silently wrong") that needs processes: a
 * FIFO (made with mkfifo), standard input of a spawned kconv, and an address-space limit
 * (ulimit -v). Each test failed on the code before its fix. The rest is in
 * test/unit/hostile-input.test.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { KCONV, runKconv } from '../helpers/cli.js';
import { makeCsv, tempDir, type TempDir } from '../helpers/csv-fixture.js';
import { writeDigits } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';

let tmp: TempDir;
let model: string;
beforeAll(async () => {
  tmp = await tempDir('kconv-hostile-in-');
  writeDigits(tmp.dir, 'digits.csv', 200, 1);
  model = path.join(tmp.dir, 'm.json');
  const r = await kconv(['train', path.join(tmp.dir, 'digits.csv'), '--arch', 'conv2k5,relu,pool2,dense10', '--epochs', '1', '--threads', '1', '--out', model]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await tmp.remove();
});

/** Labels whatever readDataset returns (the images beside the source, or, before, one flat object). */
const labelsOf = (d: unknown) => Array.from((((d as { images?: unknown }).images ?? d) as { labels: Uint8Array }).labels);
const pixelsOf = (d: unknown) => ((d as { images?: unknown }).images ?? d) as { pixels: Uint8Array };

describe('FIFOs and standard input are read as streams', () => {
  it('a FIFO is read once, as a stream (CSV and gzip\'d CSV)', { timeout: 15_000 }, async () => {
    const fx = makeCsv({ rows: 40, seed: 5 });
    for (const [name, bytes] of [['fifo.csv', Buffer.from(fx.text)], ['fifo.csv.gz', gzipSync(fx.text)]] as const) {
      const fifo = path.join(tmp.dir, name);
      execFileSync('mkfifo', [fifo]);
      const writer = (async () => {
        const fh = await open(fifo, 'w');
        try {
          await fh.writeFile(bytes);
        } finally {
          await fh.close();
        }
      })();
      writer.catch(() => undefined);
      const data = await readDataset(fifo);
      await writer;
      expect(labelsOf(data)).toEqual(Array.from(fx.labels));
      expect(Buffer.compare(pixelsOf(data).pixels, fx.pixels)).toBe(0);
    }
  });

  it('- reads standard input: predict, and train with --val -', async () => {
    const text = readFileSync(path.join(tmp.dir, 'digits.csv'), 'utf8');
    const p = await runKconv(['predict', '-', '--weights', model], { input: text, cwd: tmp.dir, env: { XDG_CACHE_HOME: path.join(tmp.dir, 'c') } });
    expect(p.stderr).toMatch(/^stdin: accuracy \d+\.\d\d% \(\d+ of 200\)/);
    expect(p.code).toBe(0);
    expect(p.stdout.split('\n')).toHaveLength(202);
    const t = await runKconv(['train', 'digits.csv', '--val', '-', '--arch', 'conv2k5,relu,pool2,dense10', '--epochs', '1', '--threads', '1', '--out', 'stdin-val.json'], {
      input: text, cwd: tmp.dir, env: { XDG_CACHE_HOME: path.join(tmp.dir, 'c') },
    });
    expect(t.stderr).toMatch(/val acc \d+\.\d\d%/);
    expect(t.code).toBe(0);
  });

});

describe('an address-space limit (ulimit -v) gets fewer threads, not a fatal OOM', () => {
  it('evaluate of a 5 MB file under ulimit -v 2000000 succeeds on one thread', async () => {
    writeDigits(tmp.dir, 'big.csv', 2700, 2);
    const child = spawn('sh', ['-c', `ulimit -v 2000000 && exec "${process.execPath}" "${KCONV}" evaluate big.csv --weights m.json`], { cwd: tmp.dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/OOM/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^big\.csv: accuracy/);
  });
});
