import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { naturalCompare } from '../../src/image/read-images.js';
import { DEFAULT_INPUT, loadModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { Random } from '../../src/random.js';
import { tempDir } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';
import { labelsOf } from '../helpers/pictures.js';
import { jpegBytes, pngBytes, type Rgba } from '../helpers/images.js';

let dir: string;
let model: ModelFile;
const p = (...parts: string[]) => join(dir, ...parts);

/** A random stroke picture: a few dark bars on light paper (or the reverse), any size. */
function strokes(seed: number): Rgba {
  const r = new Random(seed);
  const width = 30 + r.int(120);
  const height = 30 + r.int(120);
  const dark = r.int(2) === 0;
  const data = new Uint8Array(width * height * 4).fill(dark ? 250 : 5);
  for (let k = 0; k < 3; k++) {
    const x0 = r.int(width - 10);
    const y0 = r.int(height - 10);
    const w = 3 + r.int(width - x0 - 3);
    const h = 3 + r.int(Math.max(1, (height - y0) / 3));
    for (let y = y0; y < Math.min(height, y0 + h); y++) for (let x = x0; x < Math.min(width, x0 + w); x++) data.set(dark ? [10, 20, 40] : [250, 250, 240], (y * width + x) * 4);
  }
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

const FOLDER_FILES = ['img2.png', 'img10.jpg', 'img1.png', 'a,b.png'];

beforeAll(async () => {
  dir = tempDir('kconv-images-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
  model = await loadModel(p('m.json'));
  writeFileSync(p('one.png'), pngBytes(strokes(1)));
  writeFileSync(p('two.jpg'), jpegBytes(strokes(2)));
  mkdirSync(p('folder'));
  FOLDER_FILES.forEach((name, i) => writeFileSync(p('folder', name), name.endsWith('.jpg') ? jpegBytes(strokes(10 + i)) : pngBytes(strokes(10 + i))));
  writeFileSync(p('folder', 'notes.txt'), 'not an image');
  writeFileSync(p('folder', '.hidden'), 'ignored silently');
  writeFileSync(p('not-an-image.png'), 'label,pixel0\n');
  // Folder-per-digit: 0/ … 3/ with 2 images each.
  for (let d = 0; d < 4; d++) {
    mkdirSync(p('digits', String(d)), { recursive: true });
    for (let k = 0; k < 2; k++) writeFileSync(p('digits', String(d), `s${k}.png`), pngBytes(strokes(100 + 10 * d + k)));
  }
});

describe('kconv predict on image files', () => {
  it('writes file,label for files and a folder, in the order given, a folder in natural name order', async () => {
    const r = await kconv(['predict', p('one.png'), p('folder'), p('two.jpg'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    const folder = ['a,b.png', 'img1.png', 'img2.png', 'img10.jpg'].map((n) => p('folder', n));
    const files = [p('one.png'), ...folder, p('two.jpg')];
    const labels = await labelsOf(model, files);
    const csvName = (f: string) => (f.includes(',') ? `"${f}"` : f);
    expect(r.stdout).toBe(['file,label', ...files.map((f, i) => `${csvName(f)},${labels[i]}`)].join('\n') + '\n');
    expect(r.stderr).toBe(`kconv: ignored 1 entry that is not a .png, .jpg or .jpeg image (${p('folder', 'notes.txt')})\n`);
  });

  it('--probs adds p0..p9; --json writes {"file", "label", "probs"}', async () => {
    const probs = await kconv(['predict', p('one.png'), '--weights', p('m.json'), '--probs']);
    const [head, row] = probs.stdout.trim().split('\n');
    expect(head).toBe('file,label,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9');
    const values = row.split(',').slice(2).map(Number);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const json = await kconv(['predict', p('one.png'), '--weights', p('m.json'), '--json', '--probs']);
    expect(JSON.parse(json.stdout)).toEqual({ file: p('one.png'), label: (await labelsOf(model, [p('one.png')]))[0], probs: values });
  });

  it('a single file is read as an image by its name or by its content', async () => {
    writeFileSync(p('no-extension'), pngBytes(strokes(1)));
    const r = await kconv(['predict', p('no-extension'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`file,label\n${p('no-extension')},${(await labelsOf(model, [p('one.png')]))[0]}\n`);
  });

  it('a file that is no image stops with one line naming it (exit 1); --skip-bad-rows skips and reports it', async () => {
    const bad = await kconv(['predict', p('one.png'), p('not-an-image.png'), '--weights', p('m.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`kconv: ${p('not-an-image.png')}: not a PNG or JPEG image (it starts with "label,pixel0…"): kconv reads images in PNG and JPEG (use --skip-bad-rows to skip files that are no image)\n`);
    const skip = await kconv(['predict', p('one.png'), p('not-an-image.png'), p('two.jpg'), '--weights', p('m.json'), '--skip-bad-rows']);
    expect(skip.code).toBe(0);
    expect(skip.stdout.trim().split('\n').map((l) => l.split(',')[0])).toEqual(['file', p('one.png'), p('two.jpg')]);
    expect(skip.stderr).toMatch(new RegExp(`^kconv: skipped 1 file that is no readable image: ${p('not-an-image.png').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a PNG or JPEG image`));
    const none = await kconv(['predict', p('not-an-image.png'), '--weights', p('m.json'), '--skip-bad-rows']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no image could be read \(1 skipped/);
  });

  it('missing paths, several CSVs, and --labels with images are one-line errors', async () => {
    const missing = await kconv(['predict', p('nope.png'), '--weights', p('m.json')]);
    expect([missing.code, missing.stderr]).toEqual([1, `kconv: ${p('nope.png')}: file not found (check the path)\n`]);
    writeFileSync(p('a.csv'), 'label\n');
    const two = await kconv(['predict', p('a.csv'), p('a.csv'), '--weights', p('m.json')]);
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/a\.csv: not a PNG or JPEG image/); // several paths are images, and a CSV is not one
    const labels = await kconv(['predict', p('one.png'), '--labels', p('x'), '--weights', p('m.json')]);
    expect(labels.code).toBe(2);
    expect(labels.stderr).toMatch(/--labels goes with an idx images file/);
  });
});

describe('kconv evaluate on a folder per digit', () => {
  it('takes each image\'s label from its folder 0/ … 9/', async () => {
    const r = await kconv(['evaluate', p('digits'), '--weights', p('m.json'), '--json']);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.n).toBe(8);
    // Row d of the confusion matrix counts the images in folder d.
    expect(m.confusion.map((row: number[]) => row.reduce((a, b) => a + b, 0))).toEqual([2, 2, 2, 2, 0, 0, 0, 0, 0, 0]);
    const files = [0, 1, 2, 3].flatMap((d) => [0, 1].map((k) => p('digits', String(d), `s${k}.png`)));
    const predicted = await labelsOf(model, files);
    files.forEach((_, i) => expect(m.confusion[Math.floor(i / 2)][predicted[i]]).toBeGreaterThan(0));
    expect(m.accuracy).toBe(predicted.filter((label, i) => label === Math.floor(i / 2)).length / 8);
  });

  it('predict on the same folder writes file,label and reports the metrics', async () => {
    const r = await kconv(['predict', p('digits'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toMatch(new RegExp(`^${p('digits', '0', 's0.png')},\\d$`));
    expect(r.stderr).toMatch(/digits: accuracy \d+\.\d\d% \(\d of 8\)/);
  });

  it('images without digit folders have no labels; a folder of both is refused', async () => {
    const r = await kconv(['evaluate', p('folder'), '--weights', p('m.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no label: for labels, give a folder whose subfolders 0\/ … 9\/ hold each digit's images/);
    writeFileSync(p('digits', 'loose.png'), pngBytes(strokes(5)));
    const mixed = await kconv(['evaluate', p('digits'), '--weights', p('m.json')]);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/holds both images .* and digit folders/);
    const { rmSync } = await import('node:fs');
    rmSync(p('digits', 'loose.png'));
  });
});

describe('kconv show on an image file', () => {
  it('draws the preprocessed image in the terminal and names the file', async () => {
    const r = await kconv(['show', p('one.png'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/one\.png: predicted \d/);
    const png = await kconv(['show', p('folder'), '--row', '3', '--weights', p('m.json'), '--out', p('view.png')]);
    expect(png.code).toBe(0);
    expect(png.stderr).toMatch(/wrote .*view\.png \(\d+×\d+\): img10\.jpg, predicted \d/);
  });
});

describe('naturalCompare', () => {
  it('orders numbers by value and the rest by code unit', () => {
    expect(['img10.png', 'img2.png', 'img1.png', 'a.png', 'img02.png', 'B.png'].sort(naturalCompare)).toEqual(['B.png', 'a.png', 'img1.png', 'img02.png', 'img2.png', 'img10.png']);
  });
});
