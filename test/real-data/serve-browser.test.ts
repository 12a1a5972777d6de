import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { preprocess } from '../../src/image/preprocess.js';
import { loadModel, type ModelFile } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { KCONV, runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { pngBytes } from '../helpers/images.js';
import { dataFile } from '../helpers/real-data.js';
import { renderDigit } from '../helpers/render-digit.js';

// kconv serve used as a person would: a real headless Chromium draws a val.csv digit on the
// page's canvas with mouse strokes, and uploads a PNG; the page must show the labels
// `kconv predict` gives. It needs Chromium (Debian's `chromium`; .ci/run installs it), and
// fails, saying so, when there is none: it never passes without having run.
const CHROMIUM = process.env.KCONV_CHROMIUM ?? '/usr/bin/chromium';
const CELL = 10; // canvas pixels per digit pixel: the pad is 280×280
const PEN = 12;

let dir: string;
let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;
let model: ModelFile;
let val: Dataset;
let csvLabels: number[];
let csvProbs: number[][];
let drawn: number;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });

/** The strokes that draw a digit: one per run of ink (≥ 128) along each pixel row. */
function strokes(pixels: ArrayLike<number>): { y: number; x0: number; x1: number }[] {
  const out = [];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (pixels[y * 28 + x] < 128) continue;
      let e = x;
      while (e + 1 < 28 && pixels[y * 28 + e + 1] >= 128) e++;
      out.push({ y, x0: x, x1: e });
      x = e;
    }
  }
  return out;
}

/** Roughly what those strokes leave on the pad (round pen, no antialiasing): for choosing a row. */
function simulatePad(pixels: ArrayLike<number>): Uint8Array {
  const pad = new Uint8Array(280 * 280).fill(255);
  const r = PEN / 2;
  for (const s of strokes(pixels)) {
    const cy = s.y * CELL + CELL / 2;
    for (let py = Math.floor(cy - r); py <= cy + r; py++) {
      for (let px = s.x0 * CELL + CELL / 2 - r; px <= s.x1 * CELL + CELL / 2 + r; px++) {
        const nx = Math.min(Math.max(px + 0.5, s.x0 * CELL + CELL / 2), s.x1 * CELL + CELL / 2);
        if ((px + 0.5 - nx) ** 2 + (py + 0.5 - cy) ** 2 <= r * r && px >= 0 && py >= 0 && px < 280 && py < 280) pad[py * 280 + Math.floor(px)] = 17;
      }
    }
  }
  return pad;
}

async function settled(): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { kconv: { idle: () => boolean } }).kconv.idle());
  await page.waitForTimeout(100);
  await page.waitForFunction(() => (window as unknown as { kconv: { idle: () => boolean } }).kconv.idle());
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser test cannot run: it needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium, which .ci/run does; or set KCONV_CHROMIUM to a Chromium binary)`);
  }
  dir = tempDir('kconv-browser-');
  const t = await run(['train', dataFile('train.csv'), '--no-val', '--out', 'model.json']);
  expect(t.code, t.stderr).toBe(0);
  model = await loadModel(join(dir, 'model.json'));
  ({ images: val } = await readDataset(dataFile('val.csv'), { cache: false }));
  const p = await run(['predict', dataFile('val.csv'), '--weights', 'model.json', '--probs']);
  const rows = p.stdout.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  csvLabels = rows.map((r) => r[1]);
  csvProbs = rows.map((r) => r.slice(2));

  server = spawn(process.execPath, [KCONV, 'serve', '--weights', join(dir, 'model.json'), '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  server.stderr!.on('data', (d) => (err += d));
  url = await new Promise<string>((resolve, reject) => {
    server.stderr!.on('data', () => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) resolve(m[1]);
    });
    server.on('exit', () => reject(new Error(`kconv serve exited: ${err}`)));
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright starts each browser on a new, empty profile of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') failures.push(`console: ${m.text()}`); // CSP violations show here
  });
  page.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) failures.push(`asked for ${r.url()}: not kconv's`);
  });
  (page as unknown as { failures: string[] }).failures = failures;
  await page.goto(url);
  await page.waitForSelector('#layers tbody tr');
});

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
});

describe('kconv serve in a real browser', () => {
  it('draws a val.csv digit with the mouse and shows the label kconv predict gives for that row', async () => {
    // A row the model is sure of, and whose drawing (ink ≥ 128 only, a round pen) it still reads the same.
    const simulated = new Uint8Array(val.n * 784);
    const candidates: number[] = [];
    for (let i = 0; i < val.n && candidates.length < 40; i++) {
      if (Math.max(...csvProbs[i]) < 0.99) continue;
      simulated.set(preprocess({ width: 280, height: 280, channels: 1, data: simulatePad(val.pixels.subarray(i * 784, (i + 1) * 784)) }), candidates.length * 784);
      candidates.push(i);
    }
    const sim = await predict(model, { n: candidates.length, pixels: simulated.subarray(0, candidates.length * 784), labels: null, ids: null, file: 'x', skipped: { count: 0, lines: [] }, header: 'pixels' }, 1);
    const row = candidates.find((i, k) => sim.labels[k] === csvLabels[i]);
    expect(row, 'no val.csv row whose drawing the model reads as it reads the row').toBeDefined();
    const want = csvLabels[row!];
    drawn = want;

    await page.fill('#pen', String(PEN));
    const box = (await page.locator('#pad').boundingBox())!;
    for (const s of strokes(val.pixels.subarray(row! * 784, (row! + 1) * 784))) {
      await page.mouse.move(box.x + s.x0 * CELL + CELL / 2, box.y + s.y * CELL + CELL / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + s.x1 * CELL + CELL / 2, box.y + s.y * CELL + CELL / 2, { steps: 3 });
      await page.mouse.up();
    }
    await settled();
    expect(await page.textContent('#label')).toBe(String(want));
    expect(await page.locator('.bar.top').count()).toBe(1);
    // The page preprocessed its drawing with kconv's own function: the 28×28 it shows (and
    // sent) is what preprocess() in Node makes of the pad's pixels.
    const state = await page.evaluate(() => {
      const pad = document.getElementById('pad') as HTMLCanvasElement;
      const k = (window as unknown as { kconv: { input: number[]; maps: unknown[]; latencies: number[]; updates: number } }).kconv;
      return { rgba: Array.from(pad.getContext('2d')!.getImageData(0, 0, 280, 280).data), input: k.input, maps: k.maps.length, latencies: k.latencies, updates: k.updates };
    });
    expect(state.input).toEqual(Array.from(preprocess({ width: 280, height: 280, channels: 4, data: state.rgba })));
    expect(state.maps).toBeGreaterThan(0);
    expect(await page.locator('#maps canvas').count()).toBeGreaterThan(8);
    // Stroke → bars on screen, in this run (reported, not a pass/fail: machines are shared).
    const lat = [...state.latencies].sort((a, b) => a - b);
    const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(1);
    console.log(`row ${row} (digit ${want}): ${state.updates} live updates while drawing; stroke → bars: median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${lat[lat.length - 1].toFixed(1)} ms`);
    writeFileSync(join(dir, 'latency.json'), JSON.stringify(lat));
    expect(state.updates).toBeGreaterThan(1);
  });

  it('uploads a PNG and shows the label kconv predict gives for the file', async () => {
    // A confident row of another digit, dark on light, 8× and off-centre on a 300×260 page.
    const row = csvProbs.findIndex((p, i) => Math.max(...p) > 0.99 && csvLabels[i] !== drawn);
    const data = renderDigit(val.pixels.subarray(row * 784, (row + 1) * 784), {
      width: 300, height: 260, scale: 8, x: 60, y: 20, invert: true, paper: [250, 248, 240], ink: [20, 24, 60], alpha: false, format: 'png',
    });
    const file = join(dir, 'upload-me.png');
    writeFileSync(file, pngBytes({ width: 300, height: 260, data }, 2));
    const cli = await run(['predict', file, '--weights', 'model.json']);
    expect(cli.code, cli.stderr).toBe(0);
    const want = Number(cli.stdout.trim().split('\n')[1].split(',')[1]);

    await page.setInputFiles('#upload', file);
    await page.waitForFunction(() => (window as unknown as { kconv: { source: string } }).kconv.source === 'upload-me.png');
    await settled();
    expect(await page.textContent('#label')).toBe(String(want));
    expect(await page.textContent('#source')).toMatch(/^upload-me\.png: decoded and preprocessed by the server/);

    // Nothing went wrong on the page, and it asked nothing of any other server.
    expect((page as unknown as { failures: string[] }).failures).toEqual([]);
    await page.mouse.move(0, 0);
    await page.locator('#clear').focus();
    await page.evaluate(() => (document.activeElement as HTMLElement).blur());
    const shot = join(dir, 'serve.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.KCONV_SCREENSHOT) copyFileSync(shot, process.env.KCONV_SCREENSHOT);
    console.log(`screenshot: ${shot}`);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  });
});
