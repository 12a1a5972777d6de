import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/index.js';
import { ModelFileError } from '../../src/errors.js';
import { float32ToString } from '../../src/model/float-json.js';
import { DEFAULT_INPUT, loadModel, parseModel, stringifyModel } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { digitsCsv } from '../helpers/digits.js';
import { createNetwork, formatArch, parseArch } from '../../src/net/index.js';
import { Random } from '../../src/random.js';

function modelText(arch = 'seed'): string {
  const net = createNetwork(arch, 3);
  return stringifyModel({ input: DEFAULT_INPUT, arch: formatArch(parseArch(arch)), net });
}

/** The document with one change applied, as text. */
function mutate(change: (doc: any) => void, arch = 'seed'): string {
  const doc = JSON.parse(modelText(arch));
  change(doc);
  return JSON.stringify(doc);
}

const load = (text: string) => parseModel(text, 'model.json');
const message = (text: string): string => {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message;
  }
  throw new Error('expected the weights file to be rejected');
};

describe('float32 in JSON', () => {
  it('writes the shortest text that reads back to the same float32', () => {
    const random = new Random(9);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((random.next() - 0.5) * 10 ** (random.int(20) - 10));
      const s = float32ToString(x);
      expect(Math.fround(Number(s))).toBe(x);
      expect(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
  });
});

describe('weights file', () => {
  it('round-trips every weight bit for bit, in PyTorch layouts', () => {
    const net = createNetwork('default', 5);
    const text = stringifyModel({ input: DEFAULT_INPUT, arch: 'conv8k5,relu,pool2,conv16k5,relu,pool2,dense10', net });
    const back = load(text);
    const a = net.params();
    const b = back.net.params();
    expect(b.map((p) => p.shape)).toEqual([[8, 1, 5, 5], [8], [16, 8, 5, 5], [16], [10, 256], [10]]);
    a.forEach((p, i) => expect(Array.from(b[i].value)).toEqual(Array.from(p.value)));
    const doc = JSON.parse(text);
    expect(doc.format).toBe('kconv-model');
    expect(doc.version).toBe(1);
    expect(doc.layers.map((l: { type: string }) => l.type)).toEqual(['conv2d', 'relu', 'maxpool2d', 'conv2d', 'relu', 'maxpool2d', 'flatten', 'dense']);
  });

  it('rejects truncated JSON, wrong format, newer version', () => {
    const text = modelText();
    expect(message(text.slice(0, text.length / 2))).toMatch(/^model\.json: not valid JSON .*truncated/);
    expect(message(mutate((d) => (d.format = 'onnx')))).toBe('model.json: not a kconv weights file ("format" is "onnx", expected "kconv-model")');
    expect(message(mutate((d) => (d.version = 3)))).toBe('model.json: weights file version 3 was made by a newer kconv (this one reads version 2): upgrade kconv');
    expect(message('[1,2]')).toMatch(/expected a JSON object/);
  });

  it('names the layer and the fault for bad fields and arrays', () => {
    expect(message(mutate((d) => d.layers[0].weight.pop()))).toBe('model.json: layer 1 (conv2d): weight has 49 numbers, expected 50');
    expect(message(mutate((d) => delete d.layers[0].kernel))).toBe('model.json: layer 1 (conv2d): "kernel" must be an integer ≥ 1, got nothing');
    expect(message(mutate((d) => (d.layers[4].bias[3] = null)))).toBe('model.json: layer 5 (dense): bias[3] is null, not a number');
    expect(message(mutate((d) => (d.layers[4].weight[0] = '0.5')))).toBe('model.json: layer 5 (dense): weight[0] is "0.5", not a number');
    expect(message(mutate((d) => (d.layers[2].type = 'avgpool')))).toMatch(/^model\.json: layer 3 \(avgpool\): unknown layer type "avgpool"/);
    expect(message(mutate((d) => delete d.layers[0].bias))).toBe('model.json: layer 1 (conv2d): "bias" is missing or not an array');
  });

  it('rejects numbers that overflow float32 to Infinity', () => {
    const text = modelText().replace(/"bias": \[0,/, '"bias": [1e39,');
    expect(message(text)).toBe('model.json: layer 1 (conv2d): bias[0] = 1e+39 is not a finite float32');
  });

  it('rejects shapes that do not chain to 10 outputs', () => {
    expect(message(mutate((d) => (d.layers[4].inFeatures = 200)))).toBe('model.json: layer 5 (dense): inFeatures is 200 but the layer before gives 288 values');
    // Shapes are checked for every layer before any array is read.
    expect(message(mutate((d) => (d.layers[0].outChannels = 3)))).toBe('model.json: layer 5 (dense): inFeatures is 288 but the layer before gives 432 values');
    expect(message(mutate((d) => (d.layers[4].outFeatures = 9)))).toBe('model.json: the layers end in 9 values, expected 10 class scores');
    expect(message(mutate((d) => d.layers.splice(3, 1)))).toMatch(/layer 4 \(dense\): needs a flat input but gets 2×12×12/);
    expect(message(mutate((d) => {
      d.layers[4].outFeatures = 5;
      d.layers[4].weight = d.layers[4].weight.slice(0, 5 * 288);
      d.layers[4].bias = d.layers[4].bias.slice(0, 5);
    }))).toBe('model.json: the layers end in 5 values, expected 10 class scores');
  });

  it('keeps __proto__ and constructor keys away from every prototype', () => {
    const text = modelText().replace('"format":', '"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "format":')
      .replace('"type": "relu"', '"type": "relu", "__proto__": {"type": "dense", "polluted": true}');
    const model = load(text);
    expect(model.net.layers[1].type).toBe('relu');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    // A __proto__ that would supply a missing field must not count as the field.
    expect(message(mutate((d) => delete d.layers[0].kernel).replace('"type":"conv2d"', '"type":"conv2d","__proto__":{"kernel":5}'))).toMatch(/"kernel" must be an integer/);
  });
});

describe('the new layers are validated like every other', () => {
  const ARCH = 'conv4k3,bn,relu,avgpool2,dense8,bn,relu,dense10';
  const bnDoc = (change: (doc: any) => void) => mutate(change, ARCH);

  it('loads a bn net, version 2, with its running statistics', () => {
    const model = load(bnDoc(() => undefined));
    expect(model.net.layers.map((l) => l.type)).toEqual(['conv2d', 'batchnorm', 'relu', 'avgpool2d', 'flatten', 'dense', 'batchnorm', 'relu', 'dense']);
    expect(JSON.parse(modelText(ARCH)).version).toBe(2);
  });

  it('names the layer and the fault', () => {
    expect(message(bnDoc((d) => d.layers[1].runningVar[2] = -0.5))).toBe('model.json: layer 2 (batchnorm): runningVar[2] = -0.5 is below 0');
    expect(message(bnDoc((d) => d.layers[1].runningMean.pop()))).toBe('model.json: layer 2 (batchnorm): runningMean has 3 numbers, expected 4');
    expect(message(bnDoc((d) => d.layers[1].weight[0] = 'x'))).toBe('model.json: layer 2 (batchnorm): weight[0] is "x", not a number');
    expect(message(bnDoc((d) => d.layers[1].features = 5))).toBe('model.json: layer 2 (batchnorm): features is 5 but the layer before gives 4 channels');
    expect(message(bnDoc((d) => d.layers[6].features = 5))).toBe('model.json: layer 7 (batchnorm): features is 5 but the layer before gives 8 values');
    expect(message(bnDoc((d) => d.layers[1].eps = 0))).toBe('model.json: layer 2 (batchnorm): "eps" must be a number above 0, at most 1, got 0');
    expect(message(bnDoc((d) => delete d.layers[1].momentum))).toBe('model.json: layer 2 (batchnorm): "momentum" must be a number from 0 to 1, got nothing');
    expect(message(bnDoc((d) => d.layers[3].size = 30))).toBe('model.json: layer 4 (avgpool2d): a 30×30 pooling window does not fit the 4×26×26 input: use a smaller window or fewer layers before it');
    expect(message(bnDoc((d) => d.layers[3].stride = 0))).toBe('model.json: layer 4 (avgpool2d): "stride" must be an integer ≥ 1, got 0');
    expect(message(bnDoc((d) => d.layers[0].bias = [0, 0, 0, 0]))).toMatch(/^model\.json: layer 1 \(conv2d\): has a "bias", but a batchnorm layer follows/);
    expect(message(bnDoc((d) => d.layers[8].weight.push(1)))).toBe('model.json: layer 9 (dense): weight has 81 numbers, expected 80');
    expect(message(bnDoc((d) => d.layers.splice(4, 0, { type: 'globalavgpool' })))).toMatch(/layer 7 \(dense\): inFeatures is 676 but the layer before gives 4 values/);
  });
});

describe('a format-1 file written by kconv before the layer registry (test/fixtures/v1-seed.json, from bc42978)', () => {
  const FIXTURE = new URL('../fixtures/v1-seed.json', import.meta.url);
  const PROBS = new URL('../fixtures/v1-seed-probs.csv', import.meta.url);

  it('loads, and writes back byte for byte the same', async () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const model = await loadModel(fileURLToPath(FIXTURE));
    expect(model.arch).toBe('conv2k5,relu,pool2,dense10');
    expect(model.net.layers.map((l) => l.type)).toEqual(['conv2d', 'relu', 'maxpool2d', 'flatten', 'dense']);
    expect(model.training!.history).toHaveLength(1);
    expect(model.optimizerState!.m).toHaveLength(4);
    expect(stringifyModel(model)).toBe(text);
  });

  it('predicts what it predicted then: the same labels, probabilities within 1e-6', async () => {
    const model = await loadModel(fileURLToPath(FIXTURE));
    // The fixture's 20 images: digitsCsv(20, 7), as when the probabilities were written.
    const { text } = digitsCsv(20, 7);
    const rows = text.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const data: Dataset = {
      n: rows.length, pixels: Uint8Array.from(rows.flatMap((r) => r.slice(1))), labels: Uint8Array.from(rows.map((r) => r[0])),
      ids: null,
    };
    const p = await predict(model, data, 1);
    const expected = readFileSync(PROBS, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    expect(Array.from(p.labels)).toEqual(expected.map((r) => r[1]));
    expected.forEach((r, i) => r.slice(2).forEach((v, k) => expect(Math.abs(p.probs[i * 10 + k] - v)).toBeLessThanOrEqual(1e-6)));
  });
});
