/**
 * Hostile weights files (issues 13.2, 13.4, 13.13, 13.14, 13.15): each must be refused at
 * load, for every command, with one ModelFileError line naming the file and the fault,
 * before anything is allocated from its numbers. Each test here failed on kconv before
 * the loader was rewritten (they loaded silently, or crashed with an internal error).
 */
import { closeSync, openSync, writeFileSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError, SpecError } from '../../src/errors.js';
import { DEFAULT_INPUT, loadModel, MAX_WEIGHTS_FILE_BYTES, parseModel, stringifyModel } from '../../src/model/weights-file.js';
import { float32ToString } from '../../src/model/float-json.js';
import { createNetwork, formatArch, LIMITS, parseArch } from '../../src/net/index.js';
import { rmSync } from 'node:fs';
import { tempDir } from '../helpers/digits.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('kconv-hostile-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRAINING = {
  epochs: 2, seed: 1, batchSize: 64,
  optimizer: { name: 'momentum', momentum: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, lr: 0.05 },
  schedule: 'cosine', validation: { kind: 'split', fraction: 0.1 }, augment: false, limit: null, threads: 2,
  history: [{ epoch: 1, loss: 0.5, acc: 0.8, valLoss: 0.4, valAcc: 0.85, seconds: 1.5, lr: 0.025 }],
};

function modelDoc(arch = 'seed'): any {
  const net = createNetwork(arch, 3);
  return JSON.parse(stringifyModel({ input: DEFAULT_INPUT, arch: formatArch(parseArch(arch)), net, training: structuredClone(TRAINING) as any }));
}

const message = (doc: unknown): string => {
  try {
    parseModel(typeof doc === 'string' ? doc : JSON.stringify(doc), 'model.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).not.toMatch(/\n/);
    return (error as Error).message;
  }
  throw new Error('expected the weights file to be rejected');
};

const mutated = (change: (doc: any) => void, arch = 'seed') => {
  const doc = modelDoc(arch);
  change(doc);
  return doc;
};

describe('absurd input preprocessing', () => {
  it.each([
    ['std 1e-300 (every probability NaN)', { std: 1e-300 }],
    ['mean 1e39 (every image "6")', { mean: 1e39 }],
    ['scale 1e-300 (NaN)', { scale: 1e-300 }],
    ['mean 1e30 (finite, but every pixel the same huge value)', { mean: 1e30 }],
    ['std 1e30 (pixels indistinguishable)', { std: 1e30 }],
  ])('%s is refused', (_name, change) => {
    expect(message(mutated((d) => Object.assign(d.input, change)))).toMatch(/^model\.json: "input" maps pixels 0 and 255 to .*: \(pixel \/ scale − mean\) \/ std must/);
  });

  it('a normalisation such as MNIST\'s mean 0.1307, std 0.3081 loads', () => {
    const model = parseModel(JSON.stringify(mutated((d) => Object.assign(d.input, { mean: 0.1307, std: 0.3081 }))), 'm.json');
    expect(model.input.std).toBe(0.3081);
  });
});

describe('an "arch" that disagrees with the layers', () => {
  it('is refused', () => {
    expect(message(mutated((d) => (d.arch = 'conv2k3,relu,pool2,dense10')))).toBe(
      'model.json: "arch" is "conv2k3,relu,pool2,dense10" but the layers are conv2k5,relu,pool2,flatten,dense10: the file was edited; fix "arch" or remove it',
    );
    expect(message(mutated((d) => (d.arch = 'conv8k5,relu,pool2,conv16k5,relu,pool2,dense10')))).toMatch(/"arch" is .* but the layers are/);
    expect(message(mutated((d) => (d.arch = 'nonsense')))).toMatch(/"arch" is "nonsense" but the layers are/);
  });

  it('an equivalent spelling (explicit flatten, spaces, capitals, a preset name) loads; a missing one is derived from the layers', () => {
    for (const arch of ['conv2k5,relu,pool2,flatten,dense10', ' Conv2K5, relu,pool2 ,dense10', 'seed']) {
      expect(parseModel(JSON.stringify(mutated((d) => (d.arch = arch))), 'm.json').arch).toBe(arch);
    }
    expect(parseModel(JSON.stringify(mutated((d) => delete d.arch)), 'm.json').arch).toBe('conv2k5,relu,pool2,dense10');
  });
});

describe('sizes bounded at load, before allocating', () => {
  /** The 515-byte file of the issue: a 1×1 conv padded by `padding`, then a pool as wide as its output. */
  function padded(padding: number): string {
    const side = 28 + 2 * padding;
    return JSON.stringify({
      format: 'kconv-model', version: 1, input: DEFAULT_INPUT, arch: `conv1k1p${padding},pool${side},dense10`,
      layers: [
        { type: 'conv2d', inChannels: 1, outChannels: 1, kernel: 1, stride: 1, padding, weight: [1], bias: [0] },
        { type: 'maxpool2d', size: side, stride: side },
        { type: 'flatten' },
        { type: 'dense', inFeatures: 1, outFeatures: 10, weight: Array(10).fill(0.5), bias: Array(10).fill(0) },
      ],
    });
  }

  it('padding 20000 and 1000 on a 1×1 kernel ("internal error: Invalid typed array length", or 24 GB in show) are refused', () => {
    expect(padded(20000).length).toBeLessThan(600);
    expect(message(padded(20000))).toBe('model.json: layer 1 (conv2d): padding must be smaller than the kernel');
    expect(message(padded(1000))).toBe('model.json: layer 1 (conv2d): padding must be smaller than the kernel');
  });

  it('a layer whose output is too large per image is refused before its arrays are read', () => {
    const doc = mutated((d) => Object.assign(d.layers[0], { kernel: 3000, padding: 2999, weight: [1] }));
    expect(message(doc)).toMatch(/^model\.json: layer 1 \(conv2d\): its output, 2×3027×3027 = 18,325,458 values per image, is more than kconv allows \(1,048,576\)/);
  });

  it('too many parameters are refused, naming the layer', () => {
    const doc = mutated((d) => Object.assign(d.layers[4], { outFeatures: 30000, weight: [1] }));
    expect(message(doc)).toMatch(/^model\.json: layer 5 \(dense\): the network would have more than 4,194,304 parameters \(8,670,000 in this layer\)/);
  });

  it('the same bounds apply to --arch specs', () => {
    expect(() => createNetwork('conv8k3p1,conv1500k3p1,dense10')).toThrow(SpecError);
    expect(() => createNetwork('conv8k3p1,conv1500k3p1,dense10')).toThrow(/layer 2 \(conv1500k3p1\): its output, 1500×28×28 = 1,176,000 values per image, is more than kconv allows/);
    expect(() => createNetwork('conv8k5,dense600000,dense10')).toThrow(/layer 2 \(dense600000\): the network would have more than 4,194,304 parameters/);
    expect(() => createNetwork('conv99999999999999999999k3,dense10')).toThrow(SpecError);
  });
});

describe('oversized and over-deep files are refused before parsing', () => {
  it('a file larger than the cap (a sparse file: nothing is read)', async () => {
    const file = join(dir, 'huge.json');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, MAX_WEIGHTS_FILE_BYTES + 1);
    closeSync(fd);
    await expect(loadModel(file)).rejects.toThrow(ModelFileError);
    await expect(loadModel(file)).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is \\d+ MB, larger than any kconv weights file can be \\(\\d+ MB\\)`));
  });

  it('JSON nested 100,000 deep ("internal error: Maximum call stack size exceeded")', async () => {
    const file = join(dir, 'deep.json');
    // A nested "format": quoting it back in the error message overflowed the stack.
    writeFileSync(file, `{"format": ${'['.repeat(100000)}${']'.repeat(100000)}}`);
    const error = await loadModel(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toBe(`${file}: JSON nested more than 32 levels deep: not a kconv weights file`);
  });

  it('the cap is far above the largest legitimate file (the wide net with Adam state), and holds the largest net kconv builds', () => {
    // Every float32 is written in at most 15 characters with its comma (e.g. -1.2345679e-10,),
    // three arrays a parameter with Adam (weights, m, v): a bound on the file's size.
    expect(float32ToString(Math.fround(-1.2345679e-10)).length + 1).toBe(15);
    const wide = createNetwork('wide', 1).params().reduce((a, p) => a + p.value.length, 0);
    expect(wide).toBe(467_818);
    expect(wide * 3 * 15).toBeLessThan(MAX_WEIGHTS_FILE_BYTES / 10);
    expect(LIMITS.params * 3 * 15).toBeLessThan(MAX_WEIGHTS_FILE_BYTES);
  });
});

describe('a damaged training record', () => {
  it.each([
    ['no optimizer', (t: any) => delete t.optimizer, 'training.optimizer must be an object'],
    ['batchSize 0', (t: any) => (t.batchSize = 0), 'training.batchSize must be an integer ≥ 1, got 0'],
    ['limit −5', (t: any) => (t.limit = -5), 'training.limit must be null or an integer ≥ 1, got -5'],
    ['schedule "bogus"', (t: any) => (t.schedule = 'bogus'), 'training.schedule must be one of constant, step, cosine, onecycle, got "bogus"'],
    ['lr "fast"', (t: any) => (t.optimizer.lr = 'fast'), 'training.optimizer.lr must be a number > 0, got "fast"'],
    ['optimizer "rmsprop"', (t: any) => (t.optimizer.name = 'rmsprop'), 'training.optimizer.name must be one of sgd, momentum, adam, got "rmsprop"'],
    ['a history record with a string loss', (t: any) => (t.history[0].loss = 'a'), 'training.history[0].loss must be a finite number, got "a"'],
    ['validation of an unknown kind', (t: any) => (t.validation = { kind: 'magic' }), 'training.validation must be {"kind": "split", "fraction": F}, {"kind": "file", "file": "…"} or {"kind": "none"}'],
    ['a position past the end', (t: any) => (t.position = { epoch: 9, batch: 3, lossSum: 1, correct: 1, seen: 3 }), 'training.position.epoch must be 2 (the epoch after the history), got 9'],
    // Each reader of the schema (model/training-record.ts) names its field and says what it must be.
    ['no limit', (t: any) => delete t.limit, 'training.limit must be null or an integer ≥ 1, got nothing'],
    ['a string valLoss', (t: any) => (t.history[0].valLoss = 'x'), 'training.history[0].valLoss must be null or a finite number, got "x"'],
    ['a history out of order', (t: any) => (t.history[0].epoch = 3), 'training.history[0].epoch must be an integer ≥ 1, got 3'],
    ['a history record that is a number', (t: any) => (t.history[0] = 7), 'training.history[0] must be an epoch record (an object), got 7'],
    ['more history than epochs', (t: any) => ((t.epochs = 1), t.history.push({ ...t.history[0], epoch: 2 })), 'training.history has 2 epochs, more than training.epochs (1)'],
    ['augment "yes"', (t: any) => (t.augment = 'yes'), 'training.augment must be true, false or the augmentation\'s settings, got "yes"'],
    ['elastic 500', (t: any) => (t.augment = { affine: true, elastic: 500, stroke: 0, contrast: 0, erase: 0 }), 'training.augment.elastic must be a number from 0 to 100, got 500'],
    ['affine "on"', (t: any) => (t.augment = { affine: 'on', elastic: 0, stroke: 0, contrast: 0, erase: 0 }), 'training.augment.affine must be true or false, got "on"'],
    ['data that is a number', (t: any) => (t.data = 5), 'training.data must be an object'],
    ['a short sha256', (t: any) => (t.data = { file: 'a.csv', images: 3, sha256: 'abc' }), 'training.data.sha256 must be 64 hex digits, got "abc"'],
    ['an empty init file', (t: any) => (t.init = { file: '' }), 'training.init.file must be a file name, got ""'],
    ['a replay ratio 0', (t: any) => (t.replay = { file: 'a.csv', images: 3, sha256: 'a'.repeat(64), ratio: 0 }), 'training.replay.ratio must be a number above 0, at most 1000, got 0'],
    ['threads 5000', (t: any) => (t.threads = 5000), 'training.threads must be an integer ≥ 1, got 5000'],
    ['bestEpoch past the history', (t: any) => (t.bestEpoch = 2), 'training.bestEpoch must be an integer ≥ 1, got 2'],
    ['more correct than seen', (t: any) => (t.position = { epoch: 2, batch: 3, lossSum: 1, correct: 5, seen: 3 }), 'training.position.correct must be an integer ≥ 0, got 5'],
    ['a position when every epoch is done', (t: any) => ((t.epochs = 1), (t.position = { epoch: 2, batch: 3, lossSum: 1, correct: 1, seen: 3 })), 'training.position is set but every epoch is done'],
    ['epochs only on the prototype', (t: any) => (delete t.epochs, Object.defineProperty(t, '__proto__', { value: { epochs: 2 }, enumerable: true })), 'training.epochs must be an integer ≥ 1, got nothing'],
  ])('%s is refused at load', (_name, change, expected) => {
    expect(message(mutated((d) => change(d.training)))).toBe(`model.json: ${expected}`);
  });

  it('an intact record loads unchanged, field for field', () => {
    expect(parseModel(JSON.stringify(modelDoc()), 'm.json').training).toEqual(TRAINING);
  });

  it('a record with every field reads back in the order kconv writes it (a file read and saved again is unchanged)', () => {
    const full = {
      epochs: 2, seed: 1, batchSize: 64, optimizer: TRAINING.optimizer, schedule: 'cosine', scheduleFrom: 4,
      validation: { kind: 'file', file: 'val.csv' }, augment: { affine: true, elastic: 8, stroke: 0.5, contrast: 0.25, erase: 0 },
      labelSmoothing: 0.1, ema: 0.99, limit: 500, threads: 2,
      data: { file: 'train.csv', images: 500, sha256: 'a'.repeat(64) }, init: { file: 'base.json' }, freeze: 2,
      replay: { file: 'train.csv', images: 500, sha256: 'b'.repeat(64), ratio: 0.5 },
      history: TRAINING.history, bestEpoch: 1,
      position: { epoch: 2, batch: 3, lossSum: 1.5, correct: 2, seen: 3, dropoutState: 12345 },
    };
    const shuffled = Object.fromEntries(Object.entries(full).reverse());
    const doc = mutated((d) => (d.training = shuffled));
    expect(JSON.stringify(parseModel(JSON.stringify(doc), 'm.json').training)).toBe(JSON.stringify(full));
  });
});

describe('the optimizer state and layer numbers', () => {
  const withState = (change: (s: any) => void) => mutated((d) => {
    d.optimizerState = { step: 3, m: d.layers.flatMap((l: any) => ['weight', 'bias'].filter((k) => l[k]).map((k) => l[k].map(() => 0))), v: [] };
    change(d.optimizerState);
  });

  it.each([
    ['a negative step', (s: any) => (s.step = -1), 'optimizerState.step must be a non-negative integer'],
    ['one moment array missing', (s: any) => s.m.pop(), 'optimizerState.m must hold one array per parameter (4)'],
    ['a short moment array', (s: any) => s.m[1].pop(), 'optimizerState.m[1] must have 2 numbers'],
    ['a NaN in a moment', (s: any) => (s.m[0][0] = 'NaN'), 'optimizerState.m[0][0] is not a finite number'],
    ['live weights without their update count', (s: any) => (s.live = s.m), 'optimizerState.emaUpdates must be a non-negative integer'],
  ])('%s is refused', (_name, change, expected) => {
    expect(parseModel(JSON.stringify(withState(() => {})), 'm.json').optimizerState!.step).toBe(3);
    expect(message(withState(change))).toBe(`model.json: ${expected}`);
  });

  it('a layer setting beyond 2³¹ − 1 is refused before anything is built', () => {
    expect(message(mutated((d) => (d.layers[0].outChannels = 1e20)))).toBe('model.json: layer 1 (conv2d): "outChannels" is 100000000000000000000, more than any layer can have');
    expect(message(mutated((d) => (d.layers[0].kernel = 2.5)))).toBe('model.json: layer 1 (conv2d): "kernel" must be an integer ≥ 1, got 2.5');
  });
});
