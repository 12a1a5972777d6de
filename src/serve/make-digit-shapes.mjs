// Makes src/serve/public/digit-shapes.png, the picture of each digit the page shows to people
// who do not read Kannada (no font needed): the mean of train.csv's images of each class,
// 0…9 left to right, each 28×28, grey 0 (background) … 255 (ink) as in the CSV files.
// A few kB, committed; the dataset itself never is. Regenerate (after npm run build) with
//
//   node src/serve/make-digit-shapes.mjs ../shared/data/kannada/train.csv
//
// The PNG carries this command in a tEXt chunk ("Comment"). A second argument writes elsewhere.
import { writeFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { readDataset } from '../../dist/data/index.js';

const SIDE = 28;
const CLASSES = 10;
const file = process.argv[2] ?? '../shared/data/kannada/train.csv';
const out = process.argv[3] ? resolve(process.argv[3]) : fileURLToPath(new URL('./public/digit-shapes.png', import.meta.url));

const { images } = await readDataset(file);
if (!images.labels) throw new Error(`${file} has no labels: give a labelled CSV such as train.csv`);
const sums = new Float64Array(CLASSES * SIDE * SIDE);
const counts = new Array(CLASSES).fill(0);
for (let i = 0; i < images.n; i++) {
  const k = images.labels[i];
  counts[k]++;
  for (let p = 0; p < SIDE * SIDE; p++) sums[k * SIDE * SIDE + p] += images.pixels[i * SIDE * SIDE + p];
}
if (counts.some((c) => c === 0)) throw new Error(`${file} lacks a class: counts ${counts.join(', ')}`);

// The strip: class k in columns 28k … 28k+27.
const png = new PNG({ width: CLASSES * SIDE, height: SIDE, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
png.data = Buffer.alloc(CLASSES * SIDE * SIDE);
for (let k = 0; k < CLASSES; k++) {
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) png.data[y * CLASSES * SIDE + k * SIDE + x] = Math.round(sums[k * SIDE * SIDE + y * SIDE + x] / counts[k]);
  }
}
const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });

// A tEXt chunk after IHDR (8 signature bytes + 25 of IHDR) saying where the picture comes from.
const text = Buffer.from(`Comment\0kconv: mean of ${images.n} train.csv images per class (${counts.join(', ')}), digits 0-9 left to right; made by src/serve/make-digit-shapes.mjs: node src/serve/make-digit-shapes.mjs ../shared/data/kannada/train.csv`, 'latin1');
const head = Buffer.alloc(8);
head.writeUInt32BE(text.length, 0);
head.write('tEXt', 4, 'latin1');
const crc = Buffer.alloc(4);
crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), text])) >>> 0);
const withText = Buffer.concat([bytes.subarray(0, 33), head, text, crc, bytes.subarray(33)]);

// Written whole or not at all: a temporary name, then renamed.
const tmp = resolve(dirname(out), `.digit-shapes.png.${process.pid}.tmp`);
writeFileSync(tmp, withText);
renameSync(tmp, out);
process.stderr.write(`wrote ${out} (${withText.length} bytes): means of ${counts.join(', ')} images of 0…9\n`);
