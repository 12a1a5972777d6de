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
import { strokes } from '../helpers/strokes.js';

// kconv serve used as a person would: a real headless Chromium draws a val.csv digit on the
// page's canvas with mouse strokes, and uploads a PNG; the page must show the labels
// `kconv predict` gives. It needs Chromium (Debian's `chromium`; .ci/run installs it), and
// fails, saying so, when there is none: it never passes without having run.
const CHROMIUM = process.env.KCONV_CHROMIUM ?? '/usr/bin/chromium';
const CELL = 10; // canvas pixels per digit pixel: the pad is 280×280
const PEN = 12;

// The callbacks given to page.evaluate (and locator.evaluate, waitForFunction) run in
// Chromium, not in Node. This program is type-checked with Node's types only (the DOM lib
// would clash with Node's ReadableStream in src/download/fetch-file.ts), so the browser
// globals those callbacks use are declared here, for this file alone: just the members used.
interface Element {
  textContent: string | null;
  readonly parentElement: Element | null;
  readonly firstChild: { textContent: string | null } | null;
  readonly scrollWidth: number;
  readonly clientWidth: number;
  readonly classList: { contains(name: string): boolean };
  getBoundingClientRect(): { width: number; right: number };
  querySelector(selector: string): Element | null;
  querySelectorAll(selector: string): ArrayLike<Element>;
}
interface HTMLElement extends Element {
  blur(): void;
}
interface HTMLCanvasElement extends HTMLElement {
  width: number;
  height: number;
  readonly dataset: Record<string, string | undefined>;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } } | null;
}
interface HTMLImageElement extends HTMLElement {
  readonly naturalWidth: number;
  readonly complete: boolean;
}
declare const document: {
  readonly documentElement: Element;
  readonly activeElement: Element | null;
  getElementById(id: string): HTMLElement | null;
  querySelectorAll(selector: string): ArrayLike<Element>;
};
declare const window: { readonly scrollX: number; readonly scrollY: number; readonly innerWidth: number };

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

/** What a shape canvas shows: its digit, whether it has ink, and its alpha channel. */
function shapeOf(selector: string, nth = 0): Promise<{ digit: number; ink: boolean; alpha: number[] }> {
  return page.locator(selector).nth(nth).evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const alpha = Array.from(data.filter((_, i) => i % 4 === 3));
    return { digit: Number(c.dataset.digit), ink: alpha.filter((a) => a > 128).length > 20, alpha };
  });
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
  ({ images: val } = await readDataset(dataFile('val.csv')));
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
  // A laptop's screen: the bars and the 28×28 input must be in view while drawing.
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
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
    const sim = await predict(model, { n: candidates.length, pixels: simulated.subarray(0, candidates.length * 784), labels: null, ids: null }, 1);
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
    // At 1280×800, unscrolled, the pad, the label, the bars with their digits and the input are all in view.
    expect(await page.evaluate(() => [window.scrollX, window.scrollY])).toEqual([0, 0]);
    for (const selector of ['#pad', '#label', '#bars', '.bar-labels', '#input28']) {
      const b = (await page.locator(selector).boundingBox())!;
      expect([b.x >= 0, b.y >= 0, b.x + b.width <= 1280, b.y + b.height <= 800], `${selector} at ${JSON.stringify(b)}`).toEqual([true, true, true, true]);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    // Beside the label, the shape of the digit predicted.
    expect(await shapeOf('#label-shape')).toMatchObject({ digit: want, ink: true });
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
  it("shows each digit's shape from a picture, not a font, in the header and under the bars", async () => {
    // This machine's Chromium has no Kannada font (the glyphs are hidden); the pictures need none.
    expect(await page.locator('#shapes canvas').count()).toBe(10);
    expect(await page.locator('.bar-labels canvas').count()).toBe(10);
    const head = await Promise.all(Array.from({ length: 10 }, (_, k) => shapeOf('#shapes canvas', k)));
    expect(head.map((h) => h.digit)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(head.every((h) => h.ink)).toBe(true);
    // Ten different pictures, each the one under its bar.
    const keys = new Set(head.map((h) => h.alpha.join(',')));
    expect(keys.size).toBe(10);
    for (const k of [0, 4, 9]) expect((await shapeOf('.bar-labels canvas', k)).alpha).toEqual(head[k].alpha);
    // In view at the top of the page.
    const box = (await page.locator('#shapes').boundingBox())!;
    expect(box.y + box.height).toBeLessThan(200);
    // The training curves at 58% of their size or more at 1280 px too, whole (no scrolling).
    const curves = await page.evaluate(() => {
      const img = document.getElementById('curves') as HTMLImageElement;
      const figure = img.parentElement!;
      return { scale: img.getBoundingClientRect().width / img.naturalWidth, scrolls: figure.scrollWidth > figure.clientWidth };
    });
    expect(curves.scale).toBeGreaterThanOrEqual(0.58);
    expect(curves.scrolls).toBe(false);
  });

  it('a failed upload clears the answer and says, beside the upload button, which file failed and why', async () => {
    // After a good picture (the test before), a text file named .png, then a blank picture.
    expect(await page.textContent('#label')).not.toBe('–');
    const notes = join(dir, 'notes.png');
    writeFileSync(notes, 'these are my notes, not a picture\n');
    const blank = join(dir, 'blank.png');
    writeFileSync(blank, pngBytes({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 4).fill(255) }));
    for (const [file, why] of [[notes, /^Upload failed: notes\.png: not a PNG or JPEG image \(it starts with "these are my notes/], [blank, /^Upload failed: blank\.png: the picture is blank \(no ink/]] as const) {
      await page.setInputFiles('#upload', file);
      await page.waitForFunction(() => (window as unknown as { kconv: { uploadError: string | null } }).kconv.uploadError !== null);
      await settled();
      const state = await page.evaluate(() => {
        const k = (window as unknown as { kconv: { source: unknown; input: unknown; label: unknown; maps: unknown; uploadError: string } }).kconv;
        const input = (document.getElementById('input28') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 28, 28).data;
        const pad = (document.getElementById('pad') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 280, 280).data;
        return {
          label: document.getElementById('label')!.textContent, confidence: document.getElementById('confidence')!.textContent,
          top: document.querySelectorAll('.bar.top').length, pct: Array.from(document.querySelectorAll('.bar .pct'), (e) => e.textContent).join(''),
          inputInk: input.some((v, i) => i % 4 !== 3 && v !== 0), padInk: pad.some((v) => v !== 255), maps: document.querySelectorAll('#maps .map-row').length,
          source: document.getElementById('source')!.textContent, error: document.getElementById('source')!.classList.contains('error'),
          stats: [k.source, k.input, k.label, k.maps],
        };
      });
      expect(state).toMatchObject({ label: '–', confidence: '', top: 0, pct: '', inputInk: false, padInk: false, error: true, stats: [null, null, null, null] });
      expect(state.maps).toBeLessThanOrEqual(1); // the filters alone
      expect(state.source).toMatch(why);
      expect(await shapeOf('#label-shape')).toMatchObject({ ink: false });
      // Next to the button: just under it, and in view.
      const button = (await page.locator('label.upload').boundingBox())!;
      const message = (await page.locator('#source').boundingBox())!;
      expect(message.y - (button.y + button.height)).toBeLessThan(24);
      expect(message.y + message.height).toBeLessThanOrEqual(800);
    }
    // Drawing again clears the message.
    const box = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(box.x + 140, box.y + 60);
    await page.mouse.down();
    await page.mouse.move(box.x + 140, box.y + 220, { steps: 4 });
    await page.mouse.up();
    await settled();
    expect(await page.locator('#source.error').count()).toBe(0);
    expect(await page.textContent('#label')).not.toBe('–');
  });

  it('fits a 390 px phone: nothing wider than the screen, readable maps and curves', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    try {
      await phone.goto(url);
      await phone.waitForSelector('#layers tbody tr');
      await phone.setInputFiles('#upload', join(dir, 'upload-me.png'));
      await phone.waitForFunction(() => (window as unknown as { kconv: { maps: unknown } }).kconv.maps !== null);
      await phone.waitForFunction(() => (document.getElementById('curves') as HTMLImageElement).complete);
      const m = await phone.evaluate(() => {
        const sizes = (title: string) => Array.from(document.querySelectorAll('#maps .map-row')).filter((r) => r.querySelector('h3')!.firstChild!.textContent === title)
          .flatMap((r) => Array.from(r.querySelectorAll('canvas'), (c) => c.getBoundingClientRect().width));
        const line = document.getElementById('model-line')!;
        const curves = document.getElementById('curves') as HTMLImageElement;
        return {
          scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          line: [line.scrollWidth, line.clientWidth, line.getBoundingClientRect().right], lineText: line.textContent,
          filters: sizes('conv1 filters'), pooled: sizes('after pool'), curves: curves.getBoundingClientRect().width / curves.naturalWidth,
        };
      });
      expect(m.scrollWidth).toBeLessThanOrEqual(m.innerWidth);
      expect(m.line[0]).toBeLessThanOrEqual(m.line[1]);
      expect(m.line[2]).toBeLessThanOrEqual(390);
      expect(m.lineText).toMatch(/dense10, [\d,]+ parameters/);
      // Filters and pooled maps at least 48 CSS pixels a side (the old page drew 30 and 24).
      expect(m.filters.length).toBeGreaterThan(0);
      expect(m.pooled.length).toBeGreaterThan(0);
      expect(Math.min(...m.filters, ...m.pooled)).toBeGreaterThanOrEqual(48);
      // The curves at 58% of their size or more: their text (14 px capitals) stays 8 px or more.
      expect(m.curves).toBeGreaterThanOrEqual(0.58);
      const shot = join(dir, 'serve-390.png');
      await phone.screenshot({ path: shot, fullPage: true });
      console.log(`screenshot: ${shot}`);
    } finally {
      await phone.close();
    }
  });
});
