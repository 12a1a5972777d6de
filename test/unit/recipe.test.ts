/**
 * The accuracy recipe's parts end to end: augmentation settings, label smoothing and the
 * weights' moving average (EMA) through kconv train (recorded, resumable), and test-time
 * augmentation through predict. The same weights and views on 2 threads are in
 * test/cli/recipe.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { parseModel } from '../../src/model/weights-file.js';
import { CLASSES } from '../../src/net/input.js';
import { predict } from '../../src/predict/predict.js';
import { FixedView, ttaTransforms } from '../../src/augment/tta.js';
import { forEachPrediction } from '../../src/batch/evaluate.js';
import { writeDigits } from '../helpers/digits.js';
import { RECIPE, recipeFolder, SMALL } from '../helpers/recipe.js';

const folder = recipeFolder();
const { run, read, weights } = folder;

describe('the recipe options in kconv train', () => {
  it('records augmentation, label smoothing and EMA, and kconv info says them', async () => {
    const r = await run(['train', folder.data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '1', '--out', 'r1.json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/augmented \(affine, elastic 20, stroke 0\.4, contrast 0\.2, erase 0\.3\), label smoothing 0\.1, EMA 0\.9/);
    const t = read('r1.json').training!;
    expect(t.augment).toEqual({ affine: true, elastic: 20, stroke: 0.4, contrast: 0.2, erase: 0.3 });
    expect(t.labelSmoothing).toBe(0.1);
    expect(t.ema).toBe(0.9);
    const info = await run(['info', 'r1.json']);
    expect(info.stdout).toMatch(/augmented \(affine, elastic 20, stroke 0\.4, contrast 0\.2, erase 0\.3\), label smoothing 0\.1, weights averaged \(EMA 0\.9\)/);
  });

  it('affine-only augmentation is still written as "augment": true (files as before)', async () => {
    await run(['train', folder.data, ...SMALL, '--augment', '--epochs', '1', '--threads', '1', '--out', 'aff.json']);
    expect(readFileSync(join(folder.dir, 'aff.json'), 'utf8')).toMatch(/"augment": true,/);
  });

  it('saves the moving average, keeps the live weights for a resume, and resumes exactly', async () => {
    const m = read('r1.json');
    const live = m.optimizerState!.live!;
    expect(live).toHaveLength(m.net.state().length);
    expect(m.optimizerState!.emaUpdates).toBe(2 * Math.ceil(270 / 16));
    // The file's weights are the average, not the live ones.
    expect(Array.from(m.net.state()[0])).not.toEqual(Array.from(live[0]));
    await run(['train', folder.data, ...SMALL, ...RECIPE, '--epochs', '4', '--threads', '1', '--out', 'four.json']);
    await run(['train', folder.data, ...SMALL, ...RECIPE, '--epochs', '2', '--threads', '1', '--out', 'two.json']);
    const r = await run(['train', folder.data, '--resume', 'two.json', '--epochs', '4']);
    expect(r.code).toBe(0);
    expect(weights('two.json')).toEqual(weights('four.json'));
    expect(read('two.json').optimizerState!.live!.map((v) => Array.from(v))).toEqual(read('four.json').optimizerState!.live!.map((v) => Array.from(v)));
  });

  it('refuses to change augmentation, label smoothing or EMA on resume, naming what it was', async () => {
    const r = await run(['train', folder.data, '--resume', 'two.json', '--epochs', '5', '--elastic', '10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--elastic cannot change when resuming: .*augmentation affine, elastic 20/);
    const s = await run(['train', folder.data, '--resume', 'two.json', '--epochs', '5', '--ema', '0.5']);
    expect(s.stderr).toMatch(/--ema cannot change when resuming: .*--ema 0\.9/);
  });

  it('validates the recorded settings and the live weights when loading', () => {
    const text = readFileSync(join(folder.dir, 'r1.json'), 'utf8');
    const doc = JSON.parse(text);
    doc.training.augment.elastic = -1;
    expect(() => parseModel(JSON.stringify(doc), 'bad.json')).toThrow(/bad\.json: training\.augment\.elastic must be a number from 0 to 100, got -1/);
    const doc2 = JSON.parse(text);
    doc2.optimizerState.live[0].pop();
    expect(() => parseModel(JSON.stringify(doc2), 'bad.json')).toThrow(/optimizerState\.live\[0\] must have \d+ numbers/);
    const doc3 = JSON.parse(text);
    doc3.training.labelSmoothing = 1;
    expect(() => parseModel(JSON.stringify(doc3), 'bad.json')).toThrow(/training\.labelSmoothing must be a number above 0 and below 1/);
  });
});

describe('test-time augmentation', () => {
  it('--tta 1 is plain prediction; --tta N averages the N fixed views', async () => {
    await run(['train', folder.data, ...SMALL, '--epochs', '1', '--threads', '1', '--out', 't.json']);
    const big = writeDigits(folder.dir, 'big.csv', 600, 3);
    const model = read('t.json');
    const { images } = await readDataset(big);
    const plain = await predict(model, images, 1);
    expect(Array.from((await predict(model, images, 1, 1)).probs)).toEqual(Array.from(plain.probs));
    // By hand: the mean over the views of forEachPrediction through each view.
    const views = ttaTransforms(4);
    expect(views[0]).toEqual({ angle: 0, scale: 1, dx: 0, dy: 0 });
    const sum = new Float64Array(images.n * CLASSES);
    views.forEach((v, k) => forEachPrediction(model.net, model.input, images, null, (start, count, p) => {
      for (let i = 0; i < count * CLASSES; i++) sum[start * CLASSES + i] += p[i];
    }, undefined, k === 0 ? null : new FixedView(v)));
    const tta = await predict(model, images, 1, 4);
    for (let i = 0; i < sum.length; i++) expect(tta.probs[i]).toBeCloseTo(sum[i] / 4, 6);
    expect(Array.from(tta.probs)).not.toEqual(Array.from(plain.probs));
  });

  it('kconv evaluate --tta and predict --tta take 1 to 32 views', async () => {
    const r = await run(['evaluate', folder.data, '--weights', 't.json', '--tta', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).accuracy).toBeGreaterThan(0.5);
    const bad = await run(['predict', folder.data, '--weights', 't.json', '--tta', '33']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tta takes 1 to 32 views, got "33"/);
  });
});
