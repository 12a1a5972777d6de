/**
 * Ensembles: the manifest and its validation, the one loader of what --weights names,
 * predict's mean of the models' probabilities (one model: exactly what it gives alone),
 * the CLI commands on an ensemble, the ONNX export run by onnxruntime, the server, and
 * `kconv train --ensemble K` (each model a plain run with its own seed, bit for bit). On
 * one thread: predict on worker threads is in test/cli/ensemble.test.ts.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError, UsageError } from '../../src/errors.js';
import { encodeOnnx } from '../../src/export/onnx.js';
import { loadWeights, memberPath, parseManifest, stringifyManifest, type Ensemble } from '../../src/model/ensemble.js';
import { DEFAULT_INPUT, loadModel, parseModel, saveModel } from '../../src/model/weights-file.js';
import { CLASSES } from '../../src/net/input.js';
import { ensembleMean } from '../../src/predict/ensemble-mean.js';
import { predict } from '../../src/predict/predict.js';
import { buildServer } from '../../src/serve/server.js';
import { activations } from '../../src/show/activations.js';
import { mapRows } from '../../src/show/digit-view.js';
import { forEachPrediction } from '../../src/batch/evaluate.js';
import { inProcessIn, kconv } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { modelOf, randomImages } from '../helpers/models.js';
import { readDataset } from '../../src/data/index.js';

let dir: string;
let data: string;
const env = () => ({ XDG_CACHE_HOME: join(dir, 'cache') });
const run = inProcessIn(() => dir, env);
const SMALL = ['--arch', 'conv4k5,relu,pool2,dense10', '--batch-size', '16', '--threads', '1'];
const at = (f: string) => join(dir, f);
const read = (f: string) => parseModel(readFileSync(at(f), 'utf8'), f);
/** A weights file's text without the times, which differ from run to run. */
const timeless = (f: string) => readFileSync(at(f), 'utf8').replace(/"seconds": [\d.e+-]+/g, '');

const A = modelOf('conv4k5,relu,pool2,dense10', 1);
const B = modelOf('conv4k3p1,bn,relu,avgpool2,dense16,relu,dense10', 2, { ...DEFAULT_INPUT, mean: 0.1307, std: 0.3081 });
const C = modelOf('seed', 3);

beforeAll(async () => {
  dir = tempDir('kconv-ensemble-');
  data = writeDigits(dir, 'digits.csv', 300, 1);
  await saveModel(at('a.json'), A);
  await saveModel(at('b.json'), B);
  await saveModel(at('c.json'), C);
  writeFileSync(at('ab.json'), stringifyManifest(['a.json', 'b.json']));
  writeFileSync(at('one.json'), stringifyManifest(['a.json']));
});

describe('the ensemble manifest', () => {
  const manifest = (doc: unknown) => (typeof doc === 'string' ? doc : JSON.stringify(doc));
  const ok = { format: 'kconv-ensemble', version: 1 };
  it.each([
    ['not an object', [], /ens\.json: not a kconv ensemble manifest \(expected a JSON object\)/],
    ['not JSON', '{"format": "kconv-ensemble", ', /ens\.json: not valid JSON .*complete and not truncated\?/],
    ['another format', { format: 'kconv-model', version: 1, members: ['a.json'] }, /^ens\.json: not a kconv ensemble manifest \("format" is "kconv-model", expected "kconv-ensemble"\)$/],
    ['no format', { version: 1, members: ['a.json'] }, /^ens\.json: not a kconv ensemble manifest \("format" is missing, expected "kconv-ensemble"\)$/],
    ['a newer version', { ...ok, version: 2, members: ['a.json'] }, /ens\.json: ensemble manifest version 2 was made by a newer kconv .*upgrade kconv/],
    ['version 0', { ...ok, version: 0, members: ['a.json'] }, /ens\.json: unknown ensemble manifest version 0/],
    ['no version', { format: 'kconv-ensemble', members: ['a.json'] }, /ens\.json: "version" is missing or not an integer/],
    ['members not an array', { ...ok, members: 'a.json' }, /ens\.json: "members" must be an array of 1 to 16 weights files, got "a\.json"/],
    ['no members', { ...ok, members: [] }, /"members" must be an array of 1 to 16 weights files, got an array of 0/],
    ['17 members', { ...ok, members: Array.from({ length: 17 }, (_, i) => `m${i}.json`) }, /"members" must be an array of 1 to 16 weights files, got an array of 17/],
    ['a member not a string', { ...ok, members: ['a.json', 3] }, /members\[1\] must be the path of a weights file, got 3/],
    ['an empty path', { ...ok, members: [''] }, /members\[0\] must be the path of a weights file, got ""/],
    ['an absolute path', { ...ok, members: ['/etc/passwd'] }, /members\[0\] is "\/etc\/passwd": member paths are relative to the manifest's folder, not absolute/],
    ['a Windows drive', { ...ok, members: ['C:/x.json'] }, /members\[0\] is "C:\/x\.json": member paths are relative/],
    ['a path out of the folder', { ...ok, members: ['sub/../../x.json'] }, /members\[0\] is "sub\/\.\.\/\.\.\/x\.json": member paths stay inside the manifest's folder \(no "\.\."\)/],
    ['a backslash', { ...ok, members: ['sub\\x.json'] }, /members\[0\] is "sub\\\\x\.json": write paths with "\/"/],
    ['a member twice', { ...ok, members: ['a.json', './a.json'] }, /members\[1\] is "\.\/a\.json", the same file as members\[0\]: list each member once/],
    ['the manifest itself', { ...ok, members: ['a.json', 'ens.json'] }, /members\[1\] is "ens\.json": a member must be a weights file, not the manifest or its folder/],
    ['too large', { ...ok, members: ['a.json'], pad: 'x'.repeat(70_000) }, /ens\.json: is an ensemble manifest of more than 64 KiB/],
    ['nested too deep', `{"format": "kconv-ensemble", "version": 1, "members": ["a.json"], "x": ${'['.repeat(40)}${']'.repeat(40)}}`, /ens\.json: JSON nested more than 32 levels deep/],
  ])('refuses %s, in one line naming the file', (_name, doc, pattern) => {
    const error = (() => {
      try {
        parseManifest(manifest(doc), 'ens.json');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toMatch(pattern);
    expect((error as Error).message).not.toMatch(/\n/);
  });

  it('reads members relative to its folder, and writes what it reads', () => {
    expect(parseManifest(stringifyManifest(['m.1.json', 'sub/m.2.json']), 'x/ens.json')).toEqual(['m.1.json', 'sub/m.2.json']);
    expect(memberPath('model.json', 3)).toBe('model.3.json');
    expect(memberPath('runs/ens', 1)).toBe('runs/ens.1.json');
  });

  it('names a missing member by its path as the user would type it, and says how to finish a stopped run', async () => {
    mkdirSync(at('runs'), { recursive: true });
    writeFileSync(at('runs/ens.json'), stringifyManifest(['m.1.json']));
    const run2 = inProcessIn(() => dir, env);
    const r = await run2(['predict', data, '--weights', 'runs/ens.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kconv: runs/ens.json: member 1 of 1, runs/m.1.json, does not exist (member paths are relative to the manifest\'s folder; if a kconv train --ensemble run was stopped, finish it with kconv train <data> --resume runs/ens.json)\n');
  });

  it('validates every member fully, naming the manifest and the member', async () => {
    writeFileSync(at('broken.json'), '{"format": "kconv-model", "version": 1, "input": 3}');
    writeFileSync(at('with-broken.json'), stringifyManifest(['a.json', 'broken.json']));
    await expect(loadWeights(at('with-broken.json'))).rejects.toThrow(/with-broken\.json: member 2 of 2: .*broken\.json: "input" is missing or not an object$/);
    writeFileSync(at('nested.json'), stringifyManifest(['a.json', 'ab.json']));
    await expect(loadWeights(at('nested.json'))).rejects.toThrow(/nested\.json: member 2 of 2, .*ab\.json, is itself an ensemble manifest: a manifest lists weights files only$/);
  });

  it('a member of another class count is refused; one of other preprocessing is welcome (each model prepares its own input)', async () => {
    await saveModel(at('five.json'), modelOf('conv4k5,relu,pool2,dense10', 4));
    // A net ending in 5 scores cannot be built by kconv: write one by hand, from a valid file.
    const doc = JSON.parse(readFileSync(at('five.json'), 'utf8'));
    const dense = doc.layers.at(-1);
    Object.assign(dense, { outFeatures: 5, weight: dense.weight.slice(0, 5 * dense.inFeatures), bias: dense.bias.slice(0, 5) });
    doc.arch = 'conv4k5,relu,pool2,dense5';
    writeFileSync(at('five.json'), JSON.stringify(doc));
    writeFileSync(at('with-five.json'), stringifyManifest(['a.json', 'five.json']));
    await expect(loadWeights(at('with-five.json'))).rejects.toThrow(/with-five\.json: member 2 of 2: .*five\.json: .*expected 10 class scores$/);
    const ab = await loadWeights(at('ab.json'));
    expect(ab.members.map((m) => m.input.mean)).toEqual([0, 0.1307]);
  });

  it('symbolic links: a manifest reached by a link reads its members beside the file it points to; member links are followed; a link back to the manifest or a loop is refused in one line', async () => {
    mkdirSync(at('store'), { recursive: true });
    await saveModel(at('store/s1.json'), A);
    symlinkSync('../b.json', at('store/s2.json'));
    writeFileSync(at('store/ens.json'), stringifyManifest(['s1.json', 's2.json']));
    symlinkSync('store/ens.json', at('latest.json'));
    const e = await loadWeights(at('latest.json'));
    expect(e.files).toEqual([at('store/s1.json'), at('store/s2.json')]);
    expect(e.members.map((m) => m.arch)).toEqual([A.arch, B.arch]);
    const r = await run(['predict', data, '--weights', 'latest.json', '--probs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe((await run(['predict', data, '--weights', 'a.json,b.json', '--probs'])).stdout);
    // A member that is a link to the manifest: it lists itself.
    symlinkSync('self.json', at('store/back.json'));
    writeFileSync(at('store/self.json'), stringifyManifest(['s1.json', 'back.json']));
    await expect(loadWeights(at('store/self.json'))).rejects.toThrow(/self\.json: member 2 of 2, .*back\.json, is itself an ensemble manifest: a manifest lists weights files only$/);
    symlinkSync('loop2.json', at('store/loop1.json'));
    symlinkSync('loop1.json', at('store/loop2.json'));
    writeFileSync(at('store/loop.json'), stringifyManifest(['s1.json', 'loop1.json']));
    await expect(loadWeights(at('store/loop.json'))).rejects.toThrow(/loop\.json: member 2 of 2: .*loop1\.json: cannot read the weights file \(ELOOP\)$/);
    mkdirSync(at('store/folder.json'));
    writeFileSync(at('store/dir.json'), stringifyManifest(['folder.json']));
    await expect(loadWeights(at('store/dir.json'))).rejects.toThrow(/dir\.json: member 1 of 1: .*folder\.json: is a directory, not a weights file$/);
  });

  it('a manifest file that is huge or nested deep is refused before it is parsed', async () => {
    writeFileSync(at('huge.json'), `{"format": "kconv-ensemble", "version": 1, "members": ["a.json"], "pad": "${'x'.repeat(1 << 20)}"}`);
    await expect(loadWeights(at('huge.json'))).rejects.toThrow(/huge\.json: is an ensemble manifest of more than 64 KiB/);
    writeFileSync(at('deep.json'), `{"format": "kconv-ensemble", "version": 1, "members": ["a.json"], "x": ${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
    await expect(loadWeights(at('deep.json'))).rejects.toThrow(/deep\.json: JSON nested more than 32 levels deep: not a kconv ensemble manifest$/);
  });

  it('a comma-separated list takes weights files, each once, at most 16', async () => {
    await expect(loadWeights(`${at('a.json')},${at('ab.json')}`)).rejects.toThrow(/ab\.json: is an ensemble manifest; a comma-separated list takes weights files/);
    await expect(loadWeights(`${at('a.json')},,${at('b.json')}`)).rejects.toThrow(UsageError);
    await expect(loadWeights(`${at('a.json')},${at('a.json')}`)).rejects.toThrow(/a\.json is listed twice; list each member once/);
    await expect(loadWeights(Array(17).fill(at('a.json')).join(','))).rejects.toThrow(/17 weights files, more than an ensemble may have \(16\)/);
    await expect(loadWeights(`${at('a.json')},${at('none.json')}`)).rejects.toThrow(/none\.json: no such weights file/);
    // A file whose name holds a comma is still one file.
    await saveModel(at('odd,name.json'), A);
    expect((await loadWeights(at('odd,name.json'))).members).toHaveLength(1);
  });
});

describe('ensembleMean, the one mean kconv predict and kconv serve take', () => {
  it('sums in float64 and rounds once: a float32 running sum loses what the double keeps', () => {
    // 1 + 2⁻²⁴ is a tie in float32 and rounds back to 1, twice: a float32 sum gives fround(1/3).
    const tiny = 2 ** -24;
    const members = [Float32Array.of(1, 0.5), Float32Array.of(tiny, 0.25), Float32Array.of(tiny, 0.25)];
    const mean = ensembleMean(members);
    expect(mean[0]).toBe(Math.fround((1 + 2 * tiny) / 3));
    expect(mean[0]).not.toBe(Math.fround(1 / 3));
    expect(mean[1]).toBe(Math.fround(1 / 3));
    // The members' order moves nothing here: the double sum is exact.
    expect(Array.from(ensembleMean([members[1], members[2], members[0]]))).toEqual(Array.from(mean));
  });

  it('one member is its own mean, the same array; none, or members of different lengths, are refused', () => {
    const one = Float32Array.of(0.1, 0.9);
    expect(ensembleMean([one])).toBe(one);
    expect(() => ensembleMean([])).toThrow(RangeError);
    expect(() => ensembleMean([one, Float32Array.of(1)])).toThrow(/2 and 1/);
  });
});

describe('predict on an ensemble', () => {
  it('one model is bit for bit what it gives alone (the engine\'s own output), with and without TTA', async () => {
    const images = randomImages(300, 9);
    const one = await loadWeights(at('one.json'));
    expect(one.files).toEqual([at('a.json')]);
    const engine = new Float32Array(images.n * CLASSES);
    forEachPrediction(A.net, A.input, images, null, (start, count, p) => engine.set(p.subarray(0, count * CLASSES), start * CLASSES));
    expect(Array.from((await predict(one.members, images, 1)).probs)).toEqual(Array.from(engine));
    for (const tta of [1, 3]) {
      expect(Array.from((await predict(one.members, images, 1, tta)).probs)).toEqual(Array.from((await predict(A, images, 1, tta)).probs));
    }
  });

  it('two models: the mean of their probabilities (each with its own preprocessing, and its own test-time views)', async () => {
    const images = randomImages(300, 10);
    const ab = await loadWeights(at('ab.json'));
    expect(ab.members.map((m) => m.arch)).toEqual([A.arch, B.arch]);
    for (const tta of [1, 2]) {
      const pa = (await predict(A, images, 1, tta)).probs;
      const pb = (await predict(B, images, 1, tta)).probs;
      const p = await predict(ab.members, images, 1, tta);
      expect(Array.from(p.probs)).toEqual(Array.from(pa, (v, i) => Math.fround((v + pb[i]) / 2)));
      for (let i = 0; i < images.n; i++) {
        let best = 0;
        for (let k = 1; k < CLASSES; k++) if (p.probs[i * 10 + k] > p.probs[i * 10 + best]) best = k;
        expect(p.labels[i]).toBe(best);
      }
    }
    expect(Array.from((await predict(ab.members, images, 1)).probs)).not.toEqual(Array.from((await predict(A, images, 1)).probs));
  });

  it('kconv predict and evaluate: a comma-separated list gives what its manifest gives; one model\'s manifest what the file gives', async () => {
    const list = await run(['predict', data, '--weights', 'a.json,b.json', '--probs']);
    const manifest = await run(['predict', data, '--weights', 'ab.json', '--probs']);
    expect(list.code, list.stderr).toBe(0);
    expect(manifest.stdout).toBe(list.stdout);
    expect(list.stdout).not.toBe((await run(['predict', data, '--weights', 'a.json', '--probs'])).stdout);
    expect((await run(['predict', data, '--weights', 'one.json', '--probs', '--tta', '2'])).stdout)
      .toBe((await run(['predict', data, '--weights', 'a.json', '--probs', '--tta', '2'])).stdout);
    // evaluate reports the ensemble's own predictions: its confusion matrix and accuracy, counted here.
    const e = await run(['evaluate', data, '--weights', 'a.json,b.json,c.json', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const { images } = await readDataset(data);
    const confusionOf = async (models: Parameters<typeof predict>[0]) => {
      const { labels } = await predict(models, images, 1);
      const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
      labels.forEach((predicted, i) => confusion[images.labels![i]][predicted]++);
      return confusion;
    };
    const confusion = await confusionOf([A, B, C]);
    const report = JSON.parse(e.stdout);
    expect(report.n).toBe(300);
    expect(report.confusion).toEqual(confusion);
    expect(report.accuracy).toBe(confusion.reduce((right, row, d) => right + row[d], 0) / 300);
    // The check can fail: the first model alone would give another matrix.
    expect(await confusionOf(A)).not.toEqual(confusion);
    // --out must not replace a model of the ensemble.
    const clash = await run(['predict', data, '--weights', 'ab.json', '--out', 'b.json']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--out b\.json is the same file as --weights b\.json/);
  });
});

describe('kconv info, show and export on an ensemble', () => {
  it('info: each model, then the totals; --json the same as data', async () => {
    const r = await run(['info', 'ab.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ab\.json: an ensemble of 2 models; its probabilities are the mean of theirs\n\nmodel 1 of 2: a\.json: conv4k5,relu,pool2,dense10\n/);
    expect(r.stdout).toMatch(/\nmodel 2 of 2: b\.json: conv4k3p1,bn,relu,avgpool2,dense16,relu,dense10\n/);
    const total = [A, B].reduce((s, m) => s + m.net.params().reduce((a, p) => a + p.value.length, 0), 0);
    expect(r.stdout).toMatch(new RegExp(`\\nensemble: 2 models, ${total.toLocaleString('en-US')} parameters and [\\d,]+ mult-adds per image in all\\n$`));
    const j = JSON.parse((await run(['info', 'a.json,b.json', '--json'])).stdout);
    expect(j.file).toBe('a.json,b.json');
    expect(j.members.map((m: { file: string; arch: string }) => [m.file, m.arch])).toEqual([['a.json', A.arch], ['b.json', B.arch]]);
    expect(j.totals.params).toBe(total);
  });

  it('show: the bars are the ensemble\'s; --filters draws the first model, and says so', async () => {
    const t = await run(['show', data, '--row', '2', '--weights', 'ab.json']);
    expect(t.code, t.stderr).toBe(0);
    const { images } = await readDataset(at('digits.csv'));
    const p = await predict([A, B], { n: 1, pixels: images.pixels.subarray(2 * 784, 3 * 784), labels: null, ids: null }, 1);
    const top = p.labels[0];
    expect(t.stdout).toMatch(new RegExp(`predicted ${top}\\b`));
    expect(t.stdout).toMatch(new RegExp(`\\n +${top} +${(p.probs[top] * 100).toFixed(1)}% `));
    // Not the first model's own probability (that would mean the bars were model 1's).
    const pa = await predict(A, { n: 1, pixels: images.pixels.subarray(2 * 784, 3 * 784), labels: null, ids: null }, 1);
    expect((pa.probs[top] * 100).toFixed(1)).not.toBe((p.probs[top] * 100).toFixed(1));
    const f = await run(['show', '--weights', 'ab.json', '--filters', '--out', 'f.png']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/^kconv: note: ab\.json is an ensemble of 2 models; the filters drawn are those of model 1, a\.json/);
    const d = await run(['show', data, '--weights', 'ab.json', '--out', 'd.png']);
    expect(d.stderr).toMatch(/the probabilities are the mean of all 2; the filters and feature maps are those of model 1/);
  });

  it('export: one graph, each model under its prefix, Mean of their softmaxes; onnxruntime agrees with predict to 1e-5', async () => {
    const members = [A, B, C];
    const { bytes, summary } = encodeOnnx(members);
    expect(summary.parameters).toBe(members.reduce((s, m) => s + m.net.params().reduce((a, p) => a + p.value.length, 0), 0));
    const g = fromBinary(ModelProtoSchema, bytes).graph!;
    expect(g.input.map((v) => v.name)).toEqual(['pixels']);
    expect(g.output.map((v) => v.name)).toEqual(['probabilities']);
    const last = g.node.at(-1)!;
    expect([last.opType, last.input, last.output]).toEqual(['Mean', ['m1.softmax', 'm2.softmax', 'm3.softmax'], ['probabilities']]);
    expect(g.node.filter((n) => n.input.includes('pixels')).map((n) => n.name)).toEqual(['m1.preprocess.scaled', 'm2.preprocess.scaled', 'm3.preprocess.scaled']);
    expect(g.node.slice(0, -1).every((n) => /^m[123]\./.test(n.name) && n.output.every((o) => /^m[123]\./.test(o)))).toBe(true);
    expect(g.initializer.every((t) => /^m[123]\./.test(t.name))).toBe(true);
    const file = at('abc.onnx');
    writeFileSync(file, bytes);
    const session = await ort.InferenceSession.create(file);
    try {
      for (const n of [1, 7]) {
        const images = randomImages(n, 40 + n);
        const want = await predict(members, images, 1);
        const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(images.pixels), [n, 1, 28, 28]) });
        const got = out.probabilities.data as Float32Array;
        expect(out.probabilities.dims).toEqual([n, 10]);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.probs[i]));
        expect(worst).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      await session.release();
    }
    // The CLI: a manifest; a single model's graph is as it always was (no prefix, no Mean).
    const r = await run(['export', 'ab.json', '--onnx', 'ab.onnx']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^wrote ab\.onnx: ONNX opset 13, an ensemble of 2 models averaged by Mean, \d+ nodes \(Mul, Add, Conv, .*Softmax.*, Mean\)/);
    const single = fromBinary(ModelProtoSchema, encodeOnnx(A).bytes).graph!;
    expect(single.node.map((n) => n.name)).toEqual(['preprocess.scaled', 'preprocess.normalized', 'layer1.conv2d', 'layer2.relu', 'layer3.maxpool2d', 'layer4.flatten', 'layer5.dense', 'softmax']);
  });
});

describe('kconv serve with an ensemble', () => {
  it('/api/predict gives the mean of the models; maps, filters and curves the first model\'s; /api/model lists every model', async () => {
    const ensemble: Ensemble = { name: 'ab.json', members: [A, B], files: ['runs/a.json', 'runs/b.json'], manifest: 'runs/ab.json' };
    const app = buildServer({ model: ensemble, weightsFile: 'runs/ab.json' });
    try {
      const images = randomImages(3, 77);
      const rows = Array.from({ length: 3 }, (_, i) => Array.from(images.pixels.subarray(i * 784, (i + 1) * 784)));
      const want = await predict([A, B], images, 1);
      const r = await app.inject({ method: 'POST', url: '/api/predict', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ images: rows }) });
      expect(r.statusCode).toBe(200);
      const got = r.json().predictions;
      expect(got.map((p: { label: number }) => p.label)).toEqual(Array.from(want.labels));
      expect(got.flatMap((p: { probs: number[] }) => p.probs).map(Math.fround)).toEqual(Array.from(want.probs));
      const maps = (await app.inject({ method: 'POST', url: '/api/predict?maps=1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pixels: rows[0] }) })).json().predictions[0];
      expect(maps.probs.map(Math.fround)).toEqual(Array.from(want.probs.subarray(0, 10)));
      const first = mapRows(A.net, activations(A.net, A.input, images.pixels.subarray(0, 784))).filter((row) => row.kind !== 'filters');
      expect(maps.maps.map((m: { title: string }) => m.title)).toEqual(first.map((row) => row.title));
      const m = (await app.inject('/api/model')).json();
      expect(m.file).toBe('ab.json');
      expect(m.arch).toBe(A.arch);
      expect(m.members.map((x: { file: string; arch: string }) => [x.file, x.arch])).toEqual([['a.json', A.arch], ['b.json', B.arch]]);
      expect(m.totalParams).toBe(m.members[0].params + m.members[1].params);
      expect((await app.inject('/healthz')).json().model).toBe(`2 models: ${A.arch} | ${B.arch}`);
      expect((await app.inject('/api/model/curves.png')).json().error).toBe('a.json has no training history to draw');
    } finally {
      await app.close();
    }
  });
});

describe('kconv train --ensemble', () => {
  it('trains K models with seeds seed … seed+K−1, each bit for bit a plain run with that seed, then the manifest', async () => {
    const r = await run(['train', data, ...SMALL, '--epochs', '2', '--seed', '5', '--ensemble', '2', '--out', 'ens.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^model 1 of 2 \(seed 5, ens\.1\.json\): training conv4k5/);
    expect(r.stderr).toMatch(/\nmodel 2 of 2 \(seed 6, ens\.2\.json\): training conv4k5/);
    expect(r.stdout).toMatch(/^saved ens\.json: an ensemble of 2 models \(ens\.1\.json, ens\.2\.json\), 2 epochs each, in [\d.]+ s, val acc [\d.]+%, [\d.]+%\n$/);
    expect(JSON.parse(readFileSync(at('ens.json'), 'utf8'))).toEqual({ format: 'kconv-ensemble', version: 1, members: ['ens.1.json', 'ens.2.json'] });
    await run(['train', data, ...SMALL, '--epochs', '2', '--seed', '5', '--out', 'p5.json']);
    await run(['train', data, ...SMALL, '--epochs', '2', '--seed', '6', '--out', 'p6.json']);
    expect(timeless('ens.1.json')).toBe(timeless('p5.json'));
    expect(timeless('ens.2.json')).toBe(timeless('p6.json'));
    expect(read('ens.2.json').training!.seed).toBe(6);
    // --json says which model each epoch line is of.
    const j = await run(['train', data, ...SMALL, '--epochs', '1', '--ensemble', '2', '--out', 'ensj.json', '--json', '--no-val']);
    expect(j.stdout.trim().split('\n').map((l) => [JSON.parse(l).model, JSON.parse(l).epoch])).toEqual([[1, 1], [2, 1]]);
    // A resume of a finished ensemble with a higher target continues every model.
    const more = await run(['train', data, '--resume', 'ens.json', '--epochs', '3']);
    expect(more.code, more.stderr).toBe(0);
    expect([read('ens.1.json'), read('ens.2.json')].map((m) => m.training!.history.length)).toEqual([3, 3]);
    const again = await run(['train', data, '--resume', 'ens.json']);
    expect([again.code, again.stderr]).toEqual([2, 'kconv: ens.json: every model is already trained (3 epochs); give --epochs N with N > 3 to train more\n']);
  });

  it('--out a link: the manifest goes where the link points, its models beside it, and the link stays a link', async () => {
    mkdirSync(at('runs2'), { recursive: true });
    symlinkSync('runs2/ens.json', at('to-ens.json'));
    const r = await run(['train', data, ...SMALL, '--epochs', '1', '--no-val', '--ensemble', '2', '--out', 'to-ens.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^saved to-ens\.json: an ensemble of 2 models \(runs2\/ens\.1\.json, runs2\/ens\.2\.json\)/);
    expect(lstatSync(at('to-ens.json')).isSymbolicLink()).toBe(true);
    expect(readdirSync(at('runs2')).sort()).toEqual(['ens.1.json', 'ens.2.json', 'ens.json']);
    expect((await loadWeights(at('runs2/ens.json'))).files).toEqual([at('runs2/ens.1.json'), at('runs2/ens.2.json')]);
    expect((await run(['evaluate', data, '--weights', 'to-ens.json'])).code).toBe(0);
  });

  it('refuses what does not fit, in one line, before any work', async () => {
    for (const [args, code, pattern] of [
      [['--ensemble', '1'], 2, /--ensemble takes 2 to 16 models, got "1"/],
      [['--ensemble', '17'], 2, /--ensemble takes 2 to 16 models, got "17"/],
      [['--ensemble', '2', '--save-best'], 2, /--save-best does not go with ensembles/],
      [['--ensemble', '2', '--resume', 'a.json'], 2, /--ensemble starts a new ensemble, but a\.json is a single model's weights file/],
      [['--resume', 'ens.json', '--out', 'x.json'], 2, /--out does not go with --resume of an ensemble/],
      [['--resume', 'ens.json', '--ensemble', '3'], 2, /--ensemble 3: ens\.json is an ensemble of 2 models/],
      [['--resume', 'ens.json', '--seed', '9', '--epochs', '9'], 2, /--seed cannot change when resuming: ens\.1\.json was trained with seed 5/],
      [['--ensemble', '2', '--out', 'nowhere/ens.json'], 1, /--out nowhere\/ens\.json: the folder nowhere does not exist/],
      [['--ensemble', '2', '--out', '/dev/null'], 2, /an ensemble's manifest must be a file/],
    ] as Array<[string[], number, RegExp]>) {
      const r = await run(['train', data, ...SMALL, '--epochs', '1', ...args]);
      expect(r.stderr, args.join(' ')).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(code);
    }
  });

  it('a model\'s file locked by another run is refused, naming the model', async () => {
    writeFileSync(at('locked.2.json.lock'), `${process.ppid}\n${(await import('node:os')).hostname()}\n`);
    const r = await run(['train', data, ...SMALL, '--epochs', '1', '--ensemble', '2', '--out', 'locked.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kconv: --out locked\.json: model 2, locked\.2\.json: another kconv run \(pid \d+\) is writing this file/);
    expect(existsSync(at('locked.json'))).toBe(false);
    expect(existsSync(at('locked.json.lock'))).toBe(false);
  });

  it('Ctrl-C saves the model in training and a manifest naming all; --resume finishes the rest, equal to plain runs', async () => {
    // In process: the signal is raised as model 1's first epoch is reported, so the stop lands, every time, between its
    // epochs 1 and 2 (a resume from inside an epoch is proven equal to a straight run in test/cli/train-cli.test.ts).
    const opts = [...SMALL, '--epochs', '2', '--no-val', '--lr-schedule', 'constant', '--lr', '0.01'];
    let raised = false;
    const r = await kconv(['train', data, ...opts, '--ensemble', '2', '--out', at('int.json')], {
      onErr: (text) => {
        if (!raised && /^epoch +1\/2/.test(text)) {
          raised = true;
          process.emit('SIGINT', 'SIGINT');
        }
      },
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/\nkconv: stopped at model 1 of 2 \(checkpoint saved to .*int\.1\.json\); .*int\.json names all 2 models\. Resume with: kconv train .*digits\.csv --resume .*int\.json\n$/);
    expect(parseManifest(readFileSync(at('int.json'), 'utf8'), 'int.json')).toEqual(['int.1.json', 'int.2.json']);
    expect(read('int.1.json').training!.history).toHaveLength(1);
    expect(existsSync(at('int.2.json'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('int.') && f.endsWith('.lock'))).toEqual([]);
    // Until it is finished, a command that reads the manifest names the missing model and how to finish it.
    const early = await run(['evaluate', data, '--weights', 'int.json']);
    expect([early.code, early.stderr]).toEqual([1, 'kconv: int.json: member 2 of 2, int.2.json, does not exist (member paths are relative to the manifest\'s folder; if a kconv train --ensemble run was stopped, finish it with kconv train <data> --resume int.json)\n']);
    const resumed = await run(['train', data, '--resume', 'int.json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/^model 1 of 2 \(seed 1, int\.1\.json, resumed\): training/);
    expect(resumed.stderr).toMatch(/\nmodel 2 of 2 \(seed 2, int\.2\.json\): training/);
    await run(['train', data, ...opts, '--seed', '1', '--out', 'straight1.json']);
    await run(['train', data, ...opts, '--seed', '2', '--out', 'straight2.json']);
    for (const k of [1, 2]) {
      const a = read(`int.${k}.json`);
      const b = read(`straight${k}.json`);
      expect(a.training!.history).toHaveLength(2);
      expect(a.training!.position).toBeUndefined();
      b.net.params().forEach((p, i) => expect(Array.from(a.net.params()[i].value)).toEqual(Array.from(p.value)));
    }
    expect((await loadWeights(at('int.json'))).members).toHaveLength(2);
  });

  it('leaves no temporary files behind', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('loadModel is untouched by ensembles', () => {
  it('a manifest given where one weights file is read says what it is', async () => {
    await expect(loadModel(at('ab.json'))).rejects.toThrow(/ab\.json: not a kconv weights file \("format" is "kconv-ensemble", expected "kconv-model"\)/);
  });
});
