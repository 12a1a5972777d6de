/**
 * The edges a new user hits first (issue 24, the CLI's items), in this process: pictures
 * told by their first bytes, blank pictures, how kconv was started (for Ctrl-C's resume
 * hint), when progress bars are drawn, and the words of common mistakes. Standard input,
 * FIFOs, signals, terminals, npm and a dying parent are in test/cli/first-use.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTask, wantsProgress } from '../../src/cli/bar.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { commandLine, invokedAs } from '../../src/cli/invocation.js';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess, preprocessImage } from '../../src/image/preprocess.js';
import { DEFAULT_INPUT, loadModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { predict } from '../../src/predict/predict.js';
import { digitPixels, tempDir, writeDigits } from '../helpers/digits.js';
import { digitRgba, jpegBytes, pngBytes, type Rgba } from '../helpers/images.js';
import { Random } from '../../src/random.js';

let dir: string;
let model: ModelFile;
const p = (...parts: string[]) => join(dir, ...parts);

/** A digit picture: dark ink on light paper, 40×40. */
function digitPicture(label: number, seed: number): Rgba {
  const small = digitRgba(digitPixels(label, new Random(seed)), true);
  const data = new Uint8Array(40 * 40 * 4).fill(255);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) data.set(small.data.subarray((y * 28 + x) * 4, (y * 28 + x) * 4 + 4), ((y + 6) * 40 + x + 6) * 4);
  return { width: 40, height: 40, data };
}

/** A uniform picture of one grey (an empty page, a photo of nothing). */
function uniform(width: number, height: number, grey: number): Rgba {
  const data = new Uint8Array(width * height * 4).fill(grey);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

/** Starts of files in formats kconv does not decode. */
const OTHER_PICTURES: [string, string, Buffer][] = [
  ['x.webp', 'WebP', Buffer.concat([Buffer.from('RIFF\x24\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(40, 7)])],
  ['x.gif', 'GIF', Buffer.concat([Buffer.from('GIF89a\x10\0\x10\0\x80\0\0', 'latin1'), Buffer.alloc(40)])],
  ['x.bmp', 'BMP', Buffer.concat([Buffer.from('BM\x46\0\0\0\0\0\0\0\x36\0\0\0', 'latin1'), Buffer.alloc(40)])],
  ['x.tiff', 'TIFF', Buffer.concat([Buffer.from('II*\0\x08\0\0\0', 'latin1'), Buffer.alloc(40)])],
];

async function kconv(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), errIsTTY: false };
  const code = await main(['node', 'kconv', ...args], io);
  return { code, out, err };
}

async function labelsOf(files: string[]): Promise<number[]> {
  const pixels = new Uint8Array(files.length * 784);
  files.forEach((f, i) => pixels.set(preprocess(decodeImage(readFileSync(f), f)), i * 784));
  return Array.from((await predict(model, { n: files.length, pixels, labels: null, ids: null }, 1)).labels);
}

beforeAll(async () => {
  dir = tempDir('kconv-edges-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
  model = await loadModel(p('m.json'));
  writeFileSync(p('one.png'), pngBytes(digitPicture(3, 1)));
  writeFileSync(p('two.jpg'), jpegBytes(digitPicture(7, 2), 90));
  writeFileSync(p('blank.png'), pngBytes(uniform(60, 40, 250)));
  writeFileSync(p('black.jpg'), jpegBytes(uniform(30, 30, 0)));
  for (const [name, , bytes] of OTHER_PICTURES) writeFileSync(p(name), bytes);
  writeDigits(dir, 'train.csv', 40, 1);
  writeDigits(dir, 'unlabelled.csv', 20, 2, 'id');
});

describe('pictures are told by their first bytes, for files and standard input', () => {
  it('GIF, WebP, BMP and TIFF files get one line: what they are, and to convert them (not read as CSV)', async () => {
    for (const [name, format] of OTHER_PICTURES) {
      const r = await kconv(['predict', p(name), '--weights', p('m.json')]);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toBe(`kconv: ${p(name)}: a ${format} image: kconv reads PNG and JPEG: convert it to PNG or JPEG (e.g. with ImageMagick: convert ${p(name)} ${p(name).replace(/\.\w+$/, '.png')})\n`);
    }
    // train reads CSV and idx: a picture given to it says what it is too.
    const train = await kconv(['train', p('x.webp'), '--out', p('never.json')]);
    expect(train.err).toMatch(/^kconv: \S+x\.webp: a WebP image: kconv reads PNG and JPEG: convert it/);
    expect(train.err).not.toMatch(/NUL|CSV text/);
    const png = await kconv(['train', p('one.png'), '--out', p('never.json')]);
    expect(png.err).toMatch(/^kconv: \S+one\.png: a PNG image, not a CSV or idx file: training reads labelled images from a CSV .*; kconv predict, evaluate and show read PNG and JPEG files\n$/);
  });

});

describe('a blank picture is not given a label', () => {
  const BLANK = 'no ink found (an empty or uniform picture): nothing to classify';

  it('preprocessing says so: ink false, all pixels 0 (the flag the server and the page use)', () => {
    const pre = preprocessImage(decodeImage(readFileSync(p('blank.png')), 'blank.png'));
    expect(pre.ink).toBe(false);
    expect(pre.pixels.every((v) => v === 0)).toBe(true);
    expect(preprocessImage(decodeImage(readFileSync(p('one.png')), 'one.png')).ink).toBe(true);
  });

  it('alone: one line naming the file, nothing on stdout, exit 1', async () => {
    for (const name of ['blank.png', 'black.jpg']) {
      const r = await kconv(['predict', p(name), '--weights', p('m.json')]);
      expect(r.err).toBe(`kconv: ${p(name)}: ${BLANK}\n`);
      expect(r.out).toBe('');
      expect(r.code).toBe(1);
    }
    const shown = await kconv(['show', p('blank.png'), '--weights', p('m.json')]);
    expect([shown.code, shown.err]).toEqual([1, `kconv: ${p('blank.png')}: ${BLANK}\n`]);
  });

  it('among others: left out of stdout with a line on stderr; the others are predicted; exit 0', async () => {
    const labels = await labelsOf([p('one.png'), p('two.jpg')]);
    const r = await kconv(['predict', p('one.png'), p('blank.png'), p('two.jpg'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`file,label\n${p('one.png')},${labels[0]}\n${p('two.jpg')},${labels[1]}\n`);
    expect(r.err).toBe(`kconv: ${p('blank.png')}: ${BLANK}; left out\n`);
    const json = await kconv(['predict', p('blank.png'), p('one.png'), '--weights', p('m.json'), '--json']);
    expect(json.out).toBe(`{"file":${JSON.stringify(p('one.png'))},"label":${labels[0]}}\n`);
    const all = await kconv(['predict', p('blank.png'), p('black.jpg'), '--weights', p('m.json')]);
    expect([all.code, all.out, all.err]).toEqual([1, '', `kconv: ${p('blank.png')} and the 1 other picture: ${BLANK}\n`]);
  });

  it('evaluate leaves a blank picture out of the counts', async () => {
    for (const d of ['3', '7']) mkdirSync(p('scans', d), { recursive: true });
    writeFileSync(p('scans', '3', 'a.png'), readFileSync(p('one.png')));
    writeFileSync(p('scans', '7', 'b.jpg'), readFileSync(p('two.jpg')));
    writeFileSync(p('scans', '7', 'empty.png'), readFileSync(p('blank.png')));
    const r = await kconv(['evaluate', p('scans'), '--weights', p('m.json'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).n).toBe(2);
    expect(r.err).toContain(`kconv: ${p('scans', '7', 'empty.png')}: ${BLANK}; left out\n`);
  });
});

describe('Ctrl-C while training: the bar is cleared first, the hint is the command as typed, a resumed run says where', () => {
  it('how kconv was started: npx kconv, kconv on PATH, a path to the link, node and the script', () => {
    const cwd = '/home/u/proj';
    expect(invokedAs({ npm_command: 'exec', PATH: '/usr/bin' }, ['node', '/root/.npm/_npx/ab12/node_modules/.bin/kconv'], cwd)).toBe('npx kconv');
    expect(invokedAs({ npm_command: 'exec', PATH: '/usr/bin' }, ['node', '/home/u/proj/node_modules/.bin/kconv'], cwd)).toBe('npx kconv');
    // npm_command is inherited by whatever npx started (npx vitest → node bin/kconv.js): the script decides.
    expect(invokedAs({ npm_command: 'exec', PATH: '/usr/bin' }, ['node', '/home/u/proj/bin/kconv.js'], cwd)).toBe('node bin/kconv.js');
    expect(invokedAs({ PATH: '/usr/bin:/usr/local/bin' }, ['node', '/usr/local/bin/kconv'], cwd)).toBe('kconv');
    expect(invokedAs({ PATH: '/usr/bin' }, ['node', '/home/u/proj/node_modules/.bin/kconv'], cwd)).toBe('node_modules/.bin/kconv');
    expect(invokedAs({ PATH: '/usr/bin' }, ['node', '/opt/my tools/kconv/bin/kconv.js'], cwd)).toBe("node '/opt/my tools/kconv/bin/kconv.js'");
    expect(commandLine(['train', 'my data.csv', '--resume', "it's.json"], 'npx kconv')).toBe(`npx kconv train 'my data.csv' --resume 'it'\\''s.json'`);
  });

});

describe('progress on a terminal only', () => {
  it('KCONV_PROGRESS forces bars on or off; otherwise a terminal decides (not TERM=dumb)', () => {
    expect(wantsProgress(false, {})).toBe(false);
    expect(wantsProgress(true, {})).toBe(true);
    expect(wantsProgress(true, { TERM: 'dumb' })).toBe(false);
    expect(wantsProgress(false, { KCONV_PROGRESS: '1' })).toBe(true);
    expect(wantsProgress(true, { KCONV_PROGRESS: '0' })).toBe(false);
  });

  it('a task draws after half a second, through the Io, and clears its line at the end; nothing without a terminal', async () => {
    let drawn = '';
    const io: Io = { out: () => undefined, err: (s) => (drawn += s), errIsTTY: true, errColumns: () => 100 };
    const quick = startTask(io, 'classifying', 'images');
    quick.tick(10, 100);
    quick.end();
    expect(drawn).toBe(''); // done in well under 0.5 s: no bar flashes by
    const slow = startTask(io, 'classifying', 'images', 0);
    slow.tick(25, 100);
    await new Promise((r) => setTimeout(r, 250));
    slow.tick(50, 100);
    slow.end();
    expect(drawn).toMatch(/classifying \|█{6}░{18}\| 25\/100 images · 0:00 · ETA/);
    expect(drawn).toMatch(/50\/100 images/);
    expect(drawn).toMatch(/\x1b\[2K$/); // the line is cleared for what comes next
    let piped = '';
    const none = startTask({ out: () => undefined, err: (s) => (piped += s), errIsTTY: false }, 'classifying', 'images', 0);
    none.tick(5, 10);
    none.end();
    expect(piped).toBe('');
  });

});

describe('the words of common mistakes', () => {
  it('evaluate on a file without labels says evaluation needs them, and to use kconv predict', async () => {
    const r = await kconv(['evaluate', p('unlabelled.csv'), '--weights', p('m.json')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`kconv: ${p('unlabelled.csv')}:1: has no label column (its header is id,pixel0,…: a test file?); evaluation needs labelled images with a header such as label,pixel0,…,pixel783; to classify images without labels, use kconv predict ${p('unlabelled.csv')}\n`);
    expect(r.err).not.toContain('training');
  });

  it('a missing train.csv (or another file kconv download makes) points to kconv download', async () => {
    for (const args of [['train', p('nowhere', 'train.csv')], ['evaluate', p('nowhere', 'Dig-MNIST.csv'), '--weights', p('m.json')], ['predict', p('nowhere', 'test.csv'), '--weights', p('m.json')]]) {
      const r = await kconv(args);
      const name = args[1].split('/').pop();
      expect(r.err).toBe(`kconv: ${args[1]}: file not found (check the path); ${name} is one of the Kannada-MNIST files kconv download fetches (into data/kannada/; --mirror fetches from elsewhere)\n`);
    }
    const other = await kconv(['train', p('nowhere', 'mine.csv')]);
    expect(other.err).toBe(`kconv: ${p('nowhere', 'mine.csv')}: file not found (check the path)\n`);
  });

  it('evaluate says which weights it used', async () => {
    const r = await kconv(['evaluate', p('train.csv'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`kconv: evaluating ${p('m.json')} (conv4k5,relu,pool2,dense10) on ${p('train.csv')}: 40 images\n`);
  });

});
