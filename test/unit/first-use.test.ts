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
import type { Io } from '../../src/cli/output.js';
import { commandLine, invokedAs } from '../../src/cli/invocation.js';
import { decodeImage } from '../../src/image/decode.js';
import { preprocessImage } from '../../src/image/preprocess.js';
import { DEFAULT_INPUT, loadModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';
import { labelsOf, OTHER_PICTURES, writePictures } from '../helpers/pictures.js';

let dir: string;
let model: ModelFile;
const p = (...parts: string[]) => join(dir, ...parts);

beforeAll(async () => {
  dir = tempDir('kconv-edges-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
  model = await loadModel(p('m.json'));
  writePictures(dir);
  writeDigits(dir, 'train.csv', 40, 1);
  writeDigits(dir, 'unlabelled.csv', 20, 2, 'id');
});

describe('pictures are told by their first bytes, for files and standard input', () => {
  it('GIF, WebP, BMP and TIFF files get one line: what they are, and to convert them (not read as CSV)', async () => {
    for (const [name, format] of OTHER_PICTURES) {
      const r = await kconv(['predict', p(name), '--weights', p('m.json')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`kconv: ${p(name)}: a ${format} image: kconv reads PNG and JPEG: convert it to PNG or JPEG (e.g. with ImageMagick: convert ${p(name)} ${p(name).replace(/\.\w+$/, '.png')})\n`);
    }
    // train reads CSV and idx: a picture given to it says what it is too.
    const train = await kconv(['train', p('x.webp'), '--out', p('never.json')]);
    expect(train.stderr).toMatch(/^kconv: \S+x\.webp: a WebP image: kconv reads PNG and JPEG: convert it/);
    expect(train.stderr).not.toMatch(/NUL|CSV text/);
    const png = await kconv(['train', p('one.png'), '--out', p('never.json')]);
    expect(png.stderr).toMatch(/^kconv: \S+one\.png: a PNG image, not a CSV or idx file: training reads labelled images from a CSV .*; kconv predict, evaluate and show read PNG and JPEG files\n$/);
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
      expect(r.stderr).toBe(`kconv: ${p(name)}: ${BLANK}\n`);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(1);
    }
    const shown = await kconv(['show', p('blank.png'), '--weights', p('m.json')]);
    expect([shown.code, shown.stderr]).toEqual([1, `kconv: ${p('blank.png')}: ${BLANK}\n`]);
  });

  it('among others: left out of stdout with a line on stderr; the others are predicted; exit 0', async () => {
    const labels = await labelsOf(model, [p('one.png'), p('two.jpg')]);
    const r = await kconv(['predict', p('one.png'), p('blank.png'), p('two.jpg'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`file,label\n${p('one.png')},${labels[0]}\n${p('two.jpg')},${labels[1]}\n`);
    expect(r.stderr).toBe(`kconv: ${p('blank.png')}: ${BLANK}; left out\n`);
    const json = await kconv(['predict', p('blank.png'), p('one.png'), '--weights', p('m.json'), '--json']);
    expect(json.stdout).toBe(`{"file":${JSON.stringify(p('one.png'))},"label":${labels[0]}}\n`);
    const all = await kconv(['predict', p('blank.png'), p('black.jpg'), '--weights', p('m.json')]);
    expect([all.code, all.stdout, all.stderr]).toEqual([1, '', `kconv: ${p('blank.png')} and the 1 other picture: ${BLANK}\n`]);
  });

  it('evaluate leaves a blank picture out of the counts', async () => {
    for (const d of ['3', '7']) mkdirSync(p('scans', d), { recursive: true });
    writeFileSync(p('scans', '3', 'a.png'), readFileSync(p('one.png')));
    writeFileSync(p('scans', '7', 'b.jpg'), readFileSync(p('two.jpg')));
    writeFileSync(p('scans', '7', 'empty.png'), readFileSync(p('blank.png')));
    const r = await kconv(['evaluate', p('scans'), '--weights', p('m.json'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).n).toBe(2);
    expect(r.stderr).toContain(`kconv: ${p('scans', '7', 'empty.png')}: ${BLANK}; left out\n`);
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
    expect(r.stderr).toBe(`kconv: ${p('unlabelled.csv')}:1: has no label column (its header is id,pixel0,…: a test file?); evaluation needs labelled images with a header such as label,pixel0,…,pixel783; to classify images without labels, use kconv predict ${p('unlabelled.csv')}\n`);
    expect(r.stderr).not.toContain('training');
  });

  it('a missing train.csv (or another file kconv download makes) points to kconv download', async () => {
    for (const args of [['train', p('nowhere', 'train.csv')], ['evaluate', p('nowhere', 'Dig-MNIST.csv'), '--weights', p('m.json')], ['predict', p('nowhere', 'test.csv'), '--weights', p('m.json')]]) {
      const r = await kconv(args);
      const name = args[1].split('/').pop();
      expect(r.stderr).toBe(`kconv: ${args[1]}: file not found (check the path); ${name} is one of the Kannada-MNIST files kconv download fetches (into data/kannada/; --mirror fetches from elsewhere)\n`);
    }
    const other = await kconv(['train', p('nowhere', 'mine.csv')]);
    expect(other.stderr).toBe(`kconv: ${p('nowhere', 'mine.csv')}: file not found (check the path)\n`);
  });

  it('evaluate says which weights it used', async () => {
    const r = await kconv(['evaluate', p('train.csv'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`kconv: evaluating ${p('m.json')} (conv4k5,relu,pool2,dense10) on ${p('train.csv')}: 40 images\n`);
  });

});
