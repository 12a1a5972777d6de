import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { loadModel } from '../../src/model/weights-file.js';
import { KCONV, runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';
import { strokes } from '../helpers/strokes.js';

// The teach panel used as a person would, in headless Chromium: draw 20 Dig-MNIST digits
// (two of each, a new hand for a model trained on train.csv) with the mouse, confirm each
// with its key or button, fine-tune, accept, and see the prediction of a taught digit
// change. Saves examples/serve-teach.png for the README.
const CHROMIUM = process.env.KCONV_CHROMIUM ?? '/usr/bin/chromium';
const CELL = 10;
const PEN = 12;
const SHOT = new URL('../../examples/serve-teach.png', import.meta.url);

// The callbacks given to page.evaluate and waitForFunction run in Chromium, not in Node.
// This program is type-checked with Node's types only (the DOM lib would clash with
// Node's ReadableStream in src/download/fetch-file.ts), so the browser globals those
// callbacks use are declared here, for this file alone: just the members used.
declare const window: { scrollTo(x: number, y: number): void };
declare const document: { getElementById(id: string): { textContent: string | null } | null };

let dir: string;
let server: ChildProcess;
let url: string;
let err = '';
let browser: Browser;
let page: Page;
let dig: Dataset;

type Kconv = { kconv: { idle: () => boolean; input: number[] | null; label: number | null; teach: { job: { state: string } | null; samples: { total: number } } } };

async function settled(): Promise<void> {
  await page.waitForFunction(() => (window as unknown as Kconv).kconv.idle());
  await page.waitForTimeout(100);
  await page.waitForFunction(() => (window as unknown as Kconv).kconv.idle());
}

async function draw(row: number): Promise<void> {
  // Clicking a digit button may have scrolled the pad partly out of view.
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = (await page.locator('#pad').boundingBox())!;
  for (const s of strokes(dig.pixels.subarray(row * 784, (row + 1) * 784))) {
    await page.mouse.move(box.x + s.x0 * CELL + CELL / 2, box.y + s.y * CELL + CELL / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + s.x1 * CELL + CELL / 2, box.y + s.y * CELL + CELL / 2, { steps: 2 });
    await page.mouse.up();
  }
  await settled();
}

/** The served model's probabilities for prepared inputs (asked from the page, as it asks). */
async function probsOf(inputs: number[][]): Promise<number[][]> {
  return page.evaluate(async (images) => {
    const r = await fetch('/api/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images }) });
    return ((await r.json()) as { predictions: { probs: number[] }[] }).predictions.map((p) => p.probs);
  }, inputs);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser test cannot run: it needs Chromium at ${CHROMIUM} (or set KCONV_CHROMIUM)`);
  dir = tempDir('kconv-teach-browser-');
  // A quick model that names its training file, so that fine-tunes replay it by default.
  const t = await runKconv(['train', dataFile('train.csv'), '--epochs', '3', '--out', 'model.json'], { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });
  expect(t.code, t.stderr).toBe(0);
  ({ images: dig } = await readDataset(dataFile('Dig-MNIST.csv')));
  server = spawn(process.execPath, [KCONV, 'serve', '--weights', join(dir, 'model.json'), '--port', '0', '--collect', join(dir, 'mine')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr!.on('data', (d) => (err += d));
  url = await new Promise<string>((resolve, reject) => {
    server.stderr!.on('data', () => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m && /teaching:/.test(err)) resolve(m[1]);
    });
    server.on('exit', () => reject(new Error(`kconv serve exited: ${err}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') failures.push(`console: ${m.text()}`);
  });
  (page as unknown as { failures: string[] }).failures = failures;
  await page.goto(url);
  await page.waitForSelector('#teach:not([hidden])');
  await page.fill('#pen', String(PEN));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
});

describe('kconv serve --collect in a real browser', () => {
  it('teaches 20 Dig-MNIST digits, fine-tunes, accepts, and the prediction of a taught digit changes', async () => {
    expect(err).toMatch(/fine-tunes replay 8000 images of .*train\.csv \(the model's training file\)/);
    // Two of each digit from the first rows (Dig-MNIST's rows go 0, 1, …, 9, 0, …).
    const rows = Array.from({ length: 20 }, (_, i) => i);
    const inputs: number[][] = [];
    const before: (number | null)[] = [];
    for (const [i, row] of rows.entries()) {
      await draw(row);
      const k = await page.evaluate(() => ({ input: (window as unknown as Kconv).kconv.input, label: (window as unknown as Kconv).kconv.label }));
      expect(k.input, `row ${row} drew nothing`).not.toBeNull();
      inputs.push(k.input!);
      before.push(k.label);
      const label = dig.labels![row];
      // Half by key, half by button.
      if (i % 2 === 0) await page.keyboard.press(String(label));
      else await page.click(`.teach-digit[data-digit="${label}"]`);
      await page.waitForFunction((n) => (window as unknown as Kconv).kconv.teach.samples.total === n, i + 1);
    }
    const counts = await page.locator('.teach-digit .count').allTextContents();
    expect(counts).toEqual(new Array(10).fill('2'));
    // The file holds exactly what the page prepared and the labels given.
    const saved = await readDataset(join(dir, 'mine', 'samples.csv'));
    expect(Array.from(saved.images.labels!)).toEqual(rows.map((r) => dig.labels![r]));
    expect(Array.from(saved.images.pixels)).toEqual(inputs.flat());

    const probsBefore = await probsOf(inputs);
    await page.click('#teach-finetune');
    await page.waitForFunction(() => (window as unknown as Kconv).kconv.teach.job?.state === 'done' || (window as unknown as Kconv).kconv.teach.job?.state === 'failed', undefined, { timeout: 240_000 });
    expect(await page.textContent('#teach-job')).toMatch(/^fine-tuned in [\d.]+ s: model\.finetuned\.json written/);
    const table = await page.locator('#teach-compare tbody tr').allTextContents();
    expect(table).toHaveLength(2);
    expect(table[0]).toMatch(/^your held-out digits[\d.]+%[\d.]+%[+-][\d.]+$/);
    expect(table[1]).toMatch(/^train\.csv \(validation split\)[\d.]+%[\d.]+%/);
    // Still the original model until accepted.
    expect(await probsOf(inputs)).toEqual(probsBefore);
    await page.click('#teach-accept');
    await page.waitForFunction(() => document.getElementById('teach-serving')!.textContent === 'Serving the fine-tuned model.');
    const probsAfter = await probsOf(inputs);
    const tuned = await loadModel(join(dir, 'mine', 'model.finetuned.json'));
    expect(tuned.training?.init?.file).toMatch(/model\.json$/);

    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    const labels = rows.map((r) => dig.labels![r]);
    const rightBefore = probsBefore.filter((p, i) => argmax(p) === labels[i]).length;
    const rightAfter = probsAfter.filter((p, i) => argmax(p) === labels[i]).length;
    const meanTrue = (ps: number[][]) => ps.reduce((s, p, i) => s + p[labels[i]], 0) / ps.length;
    console.log(`taught digits read right: ${rightBefore}/20 before, ${rightAfter}/20 after; mean probability of the taught label ${meanTrue(probsBefore).toFixed(3)} → ${meanTrue(probsAfter).toFixed(3)}`);
    expect(meanTrue(probsAfter)).toBeGreaterThan(meanTrue(probsBefore));
    // A taught digit the model misread and now reads right: drawn again, the page shows the new label.
    const fixed = labels.findIndex((l, i) => argmax(probsBefore[i]) !== l && argmax(probsAfter[i]) === l);
    expect(fixed, 'no taught digit changed from wrong to right').toBeGreaterThanOrEqual(0);
    await page.click('#clear');
    await draw(rows[fixed]);
    expect(await page.textContent('#label')).toBe(String(labels[fixed]));
    expect(before[fixed]).not.toBe(labels[fixed]);

    // The drawing, its prediction by the fine-tuned model and the teach panel (the page lays its
    // panels out on a grid, so the picture is the box around the three).
    const boxes = await Promise.all(['.panel.draw', '.panel.predict', '#teach'].map(async (sel) => (await page.locator(sel).boundingBox())!));
    const x = Math.min(...boxes.map((b) => b.x)), y = Math.min(...boxes.map((b) => b.y));
    const clip = { x, y, width: Math.max(...boxes.map((b) => b.x + b.width)) - x, height: Math.max(...boxes.map((b) => b.y + b.height)) - y };
    await page.screenshot({ path: SHOT.pathname, clip, fullPage: true });
    expect(statSync(SHOT).size).toBeLessThan(200 * 1024);
    expect((page as unknown as { failures: string[] }).failures).toEqual([]);
    expect(readdirSync(join(dir, 'mine')).sort()).toEqual(['model.finetuned.json', 'samples.csv', 'samples.csv.lock']);
  }, 400_000);
});
