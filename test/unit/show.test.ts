/**
 * kconv show in this process: the drawing primitives, the digit view, the other pictures
 * (filters, curves, mistakes, the terminal view) and the command through its own
 * commander object. The command as a process (main.ts, colours, --help) is in
 * test/cli/show.test.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeError, wantsColor, type Io } from '../../src/cli/output.js';
import { showCommand } from '../../src/cli/show.js';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { DataError, KconvError, ModelFileError, UsageError } from '../../src/errors.js';
import type { Conv2d } from '../../src/layers/conv2d.js';
import { DEFAULT_INPUT, loadModel, saveModel, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork, formatArch, parseArch } from '../../src/net/index.js';
import { predict } from '../../src/predict/predict.js';
import { Canvas } from '../../src/show/canvas.js';
import { BACKGROUND, diverging, GOOD, grey, sequential, TRAIN, VAL, type Rgb } from '../../src/show/colors.js';
import { historyOf, niceStep, renderCurves, ticks } from '../../src/show/curves.js';
import { activations } from '../../src/show/activations.js';
import { mapRows, renderDigitView } from '../../src/show/digit-view.js';
import { renderFilters } from '../../src/show/filters.js';
import { canRender, textWidth } from '../../src/show/font.js';
import { renderMistakes } from '../../src/show/mistakes.js';
import { encodePng } from '../../src/show/png.js';
import { grey256, halfBlocks, terminalView, UPPER_HALF } from '../../src/show/terminal.js';
import { digitsCsv, tempDir, writeDigits } from '../helpers/digits.js';
import { TRAINING } from '../helpers/training-record.js';

const ARCH = formatArch(parseArch('default'));

let dir: string;
let model: ModelFile;
let data: Dataset;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = tempDir('kconv-show-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: ARCH, net: createNetwork('default', 1), training: TRAINING });
  await saveModel(p('nohist.json'), { input: DEFAULT_INPUT, arch: ARCH, net: createNetwork('default', 2) });
  await saveModel(p('dense.json'), { input: DEFAULT_INPUT, arch: 'dense10', net: createNetwork('dense10', 1) });
  writeDigits(dir, 'digits.csv', 30, 1, 'label');
  writeDigits(dir, 'ids.csv', 6, 2, 'id');
  model = await loadModel(p('m.json'));
  data = (await readDataset(p('digits.csv'))).images;
  // A labelled file the (untrained) net gets all right: its labels are the net's predictions.
  const text = digitsCsv(8, 3, 'label').text.trim().split('\n');
  writeFileSync(p('right.csv'), text.join('\n') + '\n');
  const right = (await readDataset(p('right.csv'))).images;
  const guessed = (await predict(model, right, 1)).labels;
  writeFileSync(p('right.csv'), [text[0], ...text.slice(1).map((line, i) => `${guessed[i]}${line.slice(line.indexOf(','))}`)].join('\n') + '\n');
});

const readPng = (path: string) => PNG.sync.read(readFileSync(path));
const at = (png: { width: number; data: Buffer | Uint8Array }, x: number, y: number): Rgb => {
  const i = (y * png.width + x) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
};
const isRed = (c: Rgb) => c[0] > c[2] + 10;
const isBlue = (c: Rgb) => c[2] > c[0] + 10;
const pixelsOf = (d: Dataset, row: number) => d.pixels.subarray(row * 784, row * 784 + 784);
const digitView = (row: number, d = data, file = 'digits.csv') => renderDigitView({
  pixels: pixelsOf(d, row), label: d.labels ? d.labels[row] : null, row, file, id: d.ids ? d.ids[row] : null,
  net: model.net, input: model.input, arch: model.arch, weightsFile: 'm.json',
});

/** Runs `kconv show …` in process through the command's own commander object (no main.ts needed). */
async function show(args: string[]): Promise<{ code: number; stdout: string; stderr: string; error: unknown }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  let error: unknown = null;
  const io: Io = { out: (s) => (stdout += s), err: (s) => (stderr += s), errIsTTY: false, outColor: true };
  const command = showCommand(io, (c) => (code = c)).exitOverride().configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (e) {
    error = e;
    if (e instanceof CommanderError) {
      code = e.exitCode === 0 ? 0 : 2;
    } else {
      const d = describeError(e);
      stderr += d.line + '\n';
      code = d.exitCode;
    }
  }
  return { code, stdout, stderr, error };
}

describe('drawing primitives', () => {
  it('the font has every character the pictures use, digits 5 pixels wide', () => {
    for (const text of ['input', 'conv1 filters', 'after relu', 'after pool', 'p(digit)', 'true 3, predicted 3', '28×28, ×8', '0 to 2.5, ±0.61', '97.5%', 'row 12 of val.csv: id 5', 'epoch', 'accuracy (%)', 'loss (cross-entropy)', '3→8', '▲ true label', '−max', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz', '0123456789', '.,:;-+=/()[]_#?!\'"']) {
      expect(canRender(text), text).toBe(true);
    }
    expect(canRender('λ')).toBe(false);
    expect(textWidth('0', 1)).toBe(5);
    expect(textWidth('00', 2)).toBe(22);
  });

  it('a canvas starts as the background and draws enlarged images and text', () => {
    const c = new Canvas(40, 30);
    expect(c.pixel(0, 0)).toEqual(BACKGROUND);
    c.drawGrey({ width: 2, height: 1, data: [0, 200] }, 4, 4, 3);
    expect(c.pixel(4, 4)).toEqual([0, 0, 0]);
    expect(c.pixel(6, 6)).toEqual([0, 0, 0]);
    expect(c.pixel(7, 4)).toEqual([200, 200, 200]);
    expect(c.pixel(9, 6)).toEqual([200, 200, 200]);
    expect(c.pixel(10, 4)).toEqual(BACKGROUND);
    c.drawText('1', 20, 10, { color: [255, 0, 0], scale: 1 });
    expect(c.pixel(22, 10)).toEqual([255, 0, 0]); // the top of the 1's stem: ..#..
    expect(c.pixel(20, 10)).toEqual(BACKGROUND);
  });

  it('the diverging scale is red for positive, blue for negative, near white at 0; activations run black to pale yellow', () => {
    expect(isRed(diverging(0.5, 1))).toBe(true);
    expect(isBlue(diverging(-0.5, 1))).toBe(true);
    expect(diverging(0, 1)).toEqual([247, 247, 247]);
    expect(diverging(-3, 1)).toEqual(diverging(-1, 1));
    expect(sequential(0, 2)).toEqual([0, 0, 4]);
    expect(sequential(2, 2)).toEqual([252, 255, 164]);
  });

  it('encodes a canvas as a PNG that decodes to the same pixels', () => {
    const c = new Canvas(7, 5);
    c.fillRect(1, 1, 3, 2, [10, 20, 30]);
    const png = PNG.sync.read(encodePng(c));
    expect([png.width, png.height]).toEqual([7, 5]);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) expect(at(png, x, y)).toEqual(c.pixel(x, y));
  });

  it('ticks are round numbers', () => {
    expect(niceStep(0, 1.2, 5)).toBeCloseTo(0.5);
    expect(niceStep(85, 100, 5)).toBe(5);
    expect(ticks(0, 1.5, 0.5)).toEqual([0, 0.5, 1, 1.5]);
    expect(ticks(0.1, 0.35, 0.1)).toEqual([0.1, 0.2, 0.3]);
  });
});

describe('the digit view', () => {
  it('shows the input enlarged 8×, each source pixel as its grey value, on the background colour', () => {
    const { canvas, layout } = digitView(4);
    const src = pixelsOf(data, 4);
    const { x, y, scale } = layout.input;
    expect(scale).toBe(8);
    for (const [r, c] of [[0, 0], [5, 5], [14, 14], [10, 20], [27, 27], [3, 11]]) {
      expect(canvas.pixel(x + c * scale + 3, y + r * scale + 5)).toEqual(grey(src[r * 28 + c]));
    }
    expect(canvas.pixel(0, 0)).toEqual(BACKGROUND);
    expect(canvas.pixel(canvas.width - 1, canvas.height - 1)).toEqual(BACKGROUND);
  });

  it('has the rows of maps of the default net: filters, conv output, after relu, after pool, then conv2', () => {
    const { layout } = digitView(0);
    expect(layout.rows.map((r) => r.row.title)).toEqual(['conv1 filters', 'conv1 output', 'after relu', 'after pool', 'conv2 after relu', 'conv2 after pool']);
    expect(layout.rows.map((r) => [r.row.channels, r.row.height, r.row.width])).toEqual([[8, 5, 5], [8, 24, 24], [8, 24, 24], [8, 12, 12], [16, 8, 8], [16, 4, 4]]);
    for (const r of layout.rows) expect(r.scale).toBeGreaterThanOrEqual(4);
  });

  it('shows the feature maps after batch normalization too (bn, relu, avgpool and dropout after a conv; gap ends the chain)', () => {
    const net = createNetwork('conv4k3p1,bn,relu,avgpool2,dropout0.2,conv6k3,bn,relu,gap,dense10', 2);
    const pixels = pixelsOf(data, 0);
    const acts = activations(net, DEFAULT_INPUT, pixels);
    const rows = mapRows(net, acts);
    expect(rows.map((r) => r.title)).toEqual(['conv1 filters', 'conv1 output', 'after bn', 'after relu', 'after avgpool', 'conv2 after bn', 'conv2 after relu']);
    expect(rows.map((r) => [r.channels, r.height, r.width])).toEqual([[4, 3, 3], [4, 28, 28], [4, 28, 28], [4, 28, 28], [4, 14, 14], [6, 12, 12], [6, 12, 12]]);
    // After bn the maps are signed (normalized by the running statistics), after relu they are not.
    expect(rows[2].kind).toBe('signed');
    expect(rows[3].kind).toBe('activation');
    expect(rows[2].data).toEqual(acts.outputs[1].data);
  });

  it('colours each first-layer filter tile by the sign of its weight (red positive, blue negative)', () => {
    const { canvas, layout } = digitView(0);
    const conv = model.net.layers[0] as Conv2d;
    const row = layout.rows[0];
    let checked = 0;
    for (let f = 0; f < 8; f++) {
      const tile = row.tiles[f];
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          const w = conv.weight[f * 25 + i * 5 + j];
          if (Math.abs(w) < 0.2 * row.row.scaleMax) continue;
          const color = canvas.pixel(tile.x + j * row.scale + 2, tile.y + i * row.scale + 2);
          expect(color).toEqual(diverging(w, row.row.scaleMax));
          expect(w > 0 ? isRed(color) : isBlue(color)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('draws each feature map after relu on the activation scale, black where the map is 0', () => {
    const { canvas, layout } = digitView(2);
    const relu = layout.rows.find((r) => r.row.title === 'after relu')!;
    const { height, width, data: maps, scaleMax } = relu.row;
    let zeros = 0;
    for (const ch of [0, 3, 7]) {
      const tile = relu.tiles[ch];
      for (const [i, j] of [[0, 0], [12, 12], [20, 5], [23, 23]]) {
        const v = maps[ch * height * width + i * width + j];
        expect(canvas.pixel(tile.x + j * relu.scale + 1, tile.y + i * relu.scale + 1)).toEqual(sequential(v, scaleMax));
        if (v === 0) zeros++;
      }
    }
    expect(zeros).toBeGreaterThan(0);
  });

  it('draws the probabilities as bars, the predicted digit the tallest, matching what predict gives', async () => {
    const view = digitView(5);
    const { bars, chart } = view.layout;
    const probs = view.acts.probs;
    const tallest = bars.reduce((best, b, k) => (b.h > bars[best].h ? k : best), 0);
    expect(tallest).toBe(view.acts.predicted);
    expect(Math.abs(bars[tallest].h - probs[tallest] * chart.h)).toBeLessThanOrEqual(1);
    // The bar is drawn: its middle is the bar colour, just above it the background or a grid line.
    const b = bars[tallest];
    expect(view.canvas.pixel(b.x + 7, b.y + b.h - 1)).not.toEqual(BACKGROUND);
    const batch = await predict(model, data, 1);
    for (let k = 0; k < 10; k++) expect(probs[k]).toBeCloseTo(batch.probs[5 * 10 + k], 5);
  });
});

describe('the other pictures', () => {
  it('filters: every conv layer, a filter over C channels as C tiles, coloured by the sign of its weights', () => {
    const { canvas, layout } = renderFilters(model.net, 'm.json', ARCH);
    expect(layout.layers.map((l) => [l.tiles.length, l.tiles[0].length])).toEqual([[8, 1], [16, 8]]);
    const conv2 = layout.layers[1];
    const { conv, scale, scaleMax } = conv2;
    let checked = 0;
    for (const [f, ch] of [[0, 0], [5, 3], [15, 7], [9, 1]]) {
      const tile = conv2.tiles[f][ch];
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          const w = conv.weight[((f * 8 + ch) * 5 + i) * 5 + j];
          if (Math.abs(w) < 0.2 * scaleMax) continue;
          const color = canvas.pixel(tile.x + j * scale + 1, tile.y + i * scale + 1);
          expect(w > 0 ? isRed(color) : isBlue(color)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(canvas.pixel(0, 0)).toEqual(BACKGROUND);
  });

  it('curves: both series plotted where they exist, legend in their colours', () => {
    const { canvas, layout } = renderCurves({ history: historyOf(TRAINING, 'm.json'), weightsFile: 'm.json', arch: ARCH });
    const { loss, accuracy } = layout;
    expect(canvas.pixel(Math.round(loss.px(1)), Math.round(loss.py(1.2)))).toEqual(TRAIN);
    expect(canvas.pixel(Math.round(loss.px(3)), Math.round(loss.py(0.35)))).toEqual(VAL);
    expect(canvas.pixel(Math.round(accuracy.px(3)), Math.round(accuracy.py(91)))).toEqual(TRAIN);
    expect(loss.yTicks[0]).toBe(0);
    expect(loss.yTicks.at(-1)).toBeGreaterThanOrEqual(1.2);
    expect(accuracy.yTicks.at(-1)!).toBeLessThanOrEqual(100);
    const { train, val } = layout.legend;
    expect(canvas.pixel(train.x + train.w / 2, train.y + 5)).toEqual(TRAIN);
    expect(canvas.pixel(val!.x + val!.w / 2, val!.y + 5)).toEqual(VAL);
  });

  it('curves: no history is a ModelFileError naming the file (a malformed one never gets here: see weights-validation.test.ts)', () => {
    expect(() => historyOf(undefined, 'x.json')).toThrow(ModelFileError);
    expect(() => historyOf({ history: [] } as never, 'x.json')).toThrow(/x\.json: has no training history/);
  });

  it('mistakes: one cell per misclassified image (up to the limit), the digit in grey', async () => {
    const predicted = (await predict(model, data, 1));
    const { canvas, layout } = renderMistakes({ pixels: data.pixels, labels: data.labels!, predicted: predicted.labels, probs: predicted.probs, file: 'digits.csv', weightsFile: 'm.json', arch: ARCH, limit: 5 });
    const wrong = Array.from(data.labels!).flatMap((l, i) => (l !== predicted.labels[i] ? [i] : []));
    expect(wrong.length).toBeGreaterThan(5); // an untrained net
    expect(layout.mistakes).toEqual(wrong);
    expect(layout.cells.map((c) => c.row)).toEqual(wrong.slice(0, 5));
    const { row, digit, scale } = layout.cells[1];
    for (const [r, c] of [[0, 0], [13, 7], [26, 20]]) {
      expect(canvas.pixel(digit.x + c * scale + 1, digit.y + r * scale + 1)).toEqual(grey(data.pixels[row * 784 + r * 28 + c]));
    }
  });

  it('terminal: 28 columns × 14 lines of half blocks in 256-colour greys, then the prediction', () => {
    expect(grey256(0)).toBe(16);
    expect(grey256(255)).toBe(231);
    expect(grey256(128)).toBe(244); // 8 + 10·12 = 128
    const lines = halfBlocks(pixelsOf(data, 0));
    expect(lines).toHaveLength(14);
    for (const line of lines) expect([...line.replace(/\x1b\[[0-9;]*m/g, '')]).toEqual(Array(28).fill(UPPER_HALF));
    const text = terminalView({ pixels: pixelsOf(data, 0), probs: [0.05, 0.7, 0.2, 0.05, 0, 0, 0, 0, 0, 0], predicted: 1, label: 3, where: 'row 0 of digits.csv' });
    const out = text.split('\n');
    expect(out[14]).toBe('row 0 of digits.csv: true 3, predicted 1 (wrong)');
    expect(out[15]).toMatch(/^ {2}1 {3}70\.0% {2}█+/);
    expect(out[16]).toMatch(/^ {2}2 {3}20\.0%/);
    expect(out.slice(17).join('\n')).toMatch(/ 3 +5\.0% .*← true/);
  });
});

describe('kconv show (the command, in process)', () => {
  it('--out writes the digit view as a PNG; the input pixels are in it', async () => {
    const r = await show([p('digits.csv'), '--row', '4', '--weights', p('m.json'), '--out', p('digit.png')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^wrote .*digit\.png \(\d+×\d+\): row 4 of digits\.csv, true \d, predicted \d\n$/);
    const png = readPng(p('digit.png'));
    const expected = digitView(4);
    expect([png.width, png.height]).toEqual([expected.canvas.width, expected.canvas.height]);
    const { x, y, scale } = expected.layout.input;
    const src = pixelsOf(data, 4);
    for (const [r2, c] of [[6, 9], [14, 14], [20, 3]]) expect(at(png, x + c * scale + 4, y + r2 * scale + 4)).toEqual(grey(src[r2 * 28 + c]));
    expect(at(png, 0, 0)).toEqual(BACKGROUND);
  });

  it('without --out draws the digit in the terminal (stdout), then the prediction; rows default to 0', async () => {
    const r = await show([p('digits.csv'), '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 14).every((l) => l.replace(/\x1b\[[0-9;]*m/g, '') === UPPER_HALF.repeat(28))).toBe(true);
    expect(lines[14]).toMatch(new RegExp(`^row 0 of digits\\.csv: true ${data.labels![0]}, predicted \\d`));
    expect(r.stderr).toBe('');
  });

  it('names the id of a file with ids, and needs no labels for the digit view', async () => {
    const r = await show([p('ids.csv'), '--row', '2', '--weights', p('m.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[14]).toMatch(/^row 2 of ids\.csv \(id 1002\): predicted \d$/);
  });

  it('--filters, --curves and --mistakes write PNGs, atomically (no temporary files left)', async () => {
    for (const [args, name] of [[['--filters'], 'filters.png'], [['--curves'], 'curves.png'], [[p('digits.csv'), '--mistakes', '--limit', '4'], 'mistakes.png']] as const) {
      const r = await show([...args, '--weights', p('m.json'), '--out', p(name)]);
      expect(r.code, r.stderr).toBe(0);
      const png = readPng(p(name));
      expect(png.width).toBeGreaterThan(300);
      expect(at(png, 0, 0)).toEqual(BACKGROUND);
    }
    const filters = renderFilters(model.net, 'm.json', ARCH).canvas;
    const png = readPng(p('filters.png'));
    expect([png.width, png.height]).toEqual([filters.width, filters.height]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--mistakes on a file the net gets all right says so and writes a small picture saying so', async () => {
    const r = await show([p('right.csv'), '--mistakes', '--weights', p('m.json'), '--out', p('none.png')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no mistakes: all 8 images of .*right\.csv are classified correctly/);
    const png = readPng(p('none.png'));
    expect(png.height).toBeLessThan(200);
    // The green note is there.
    let green = 0;
    for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) if (at(png, x, y).join() === GOOD.join()) green++;
    expect(green).toBeGreaterThan(50);
  });

  const usage: [string, string[], RegExp][] = [
    ['a data file with --filters', ['DATA', '--filters', '--out', 'f.png'], /--filters draws from the weights file alone: leave out the data file/],
    ['a data file with --curves', ['DATA', '--curves', '--out', 'c.png'], /--curves draws from the weights file alone/],
    ['--row without a data file', ['--row', '3'], /--row picks an image of a data file: give the file too/],
    ['--row with --mistakes', ['DATA', '--row', '3', '--mistakes', '--out', 'x.png'], /--row .* does not go with --mistakes/],
    ['--mistakes without a data file', ['--mistakes', '--out', 'x.png'], /--mistakes needs a labelled data file/],
    ['two pictures at once', ['--filters', '--curves', '--out', 'x.png'], /--filters and --curves draw different pictures/],
    ['--filters without --out', ['--filters'], /--filters draws a picture: give the file to write it to/],
    ['--out not a .png', ['--curves', '--out', 'model.json'], /--out writes a PNG picture: give a file name ending in \.png/],
    ['--limit without --mistakes', ['DATA', '--limit', '3'], /--limit goes with --mistakes/],
    ['nothing to show', [], /nothing to show: give a data file/],
    ['--row out of range', ['DATA', '--row', '30'], /--row 30 is out of range: .*digits\.csv has 30 images, rows 0 to 29/],
    ['a net without conv layers with --filters', ['--filters', '--out', 'x.png', '--weights', 'DENSE'], /has no conv layers, so it has no filters to draw/],
  ];
  for (const [what, args, message] of usage) {
    it(`usage mistake, exit 2 with one line: ${what}`, async () => {
      const r = await show([...args.map((a) => (a === 'DATA' ? p('digits.csv') : a === 'DENSE' ? p('dense.json') : a)), ...(args.includes('--weights') ? [] : ['--weights', p('m.json')])]);
      expect(r.error).toBeInstanceOf(UsageError);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
  }

  it('a bad --row value is commander\'s usage error (exit 2)', async () => {
    const r = await show([p('digits.csv'), '--row', '-1', '--weights', p('m.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--row must be a whole number ≥ 0/);
  });

  it('a missing weights file, a model without history for --curves, and --mistakes on unlabelled images are file errors (exit 1)', async () => {
    const missing = await show(['--filters', '--weights', p('nope.json'), '--out', p('x.png')]);
    expect(missing.error).toBeInstanceOf(ModelFileError);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json: no such weights file/);
    const nohist = await show(['--curves', '--weights', p('nohist.json'), '--out', p('x.png')]);
    expect(nohist.error).toBeInstanceOf(ModelFileError);
    expect(nohist.stderr).toMatch(/nohist\.json: has no training history to plot/);
    const unlabelled = await show([p('ids.csv'), '--mistakes', '--weights', p('m.json'), '--out', p('x.png')]);
    expect(unlabelled.error).toBeInstanceOf(DataError);
    expect(unlabelled.code).toBe(1);
    expect(unlabelled.stderr).toMatch(/ids\.csv: has no label column, so there are no mistakes to find/);
    for (const r of [missing, nohist, unlabelled]) expect(r.error).toBeInstanceOf(KconvError);
    expect(existsSync(p('x.png'))).toBe(false);
  });

  it('--help says rows are 0-based', async () => {
    const r = await show(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--row <n> +which image of the data file to show, 0-based/);
    expect(r.stdout).toMatch(/--filters/);
    expect(r.stdout).toMatch(/--curves/);
    expect(r.stdout).toMatch(/--mistakes/);
  });
});

// These go through bin/kconv.js, so they need `show` registered in src/cli/main.ts (and a build).
describe('colours', () => {
  it('colours: on a terminal unless NO_COLOR; FORCE_COLOR forces them; NO_COLOR wins', () => {
    expect(wantsColor(true, {})).toBe(true);
    expect(wantsColor(false, {})).toBe(false);
    expect(wantsColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColor(false, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColor(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(wantsColor(true, { TERM: 'dumb' })).toBe(false);
  });
});
