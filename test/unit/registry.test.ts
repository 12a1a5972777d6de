/**
 * The layer registry: every kind of layer round-trips spec → token → spec and
 * layer → weights-file record → layer, everything (grammar, weights file, ONNX, info)
 * finds each kind through it, and `kconv check` has rows for each (LAYER_CHECKS).
 */
import { describe, expect, it } from 'vitest';
import { LAYER_CHECKS, layerKindsWithoutChecks } from '../../src/check/layer-checks.js';
import { findKind, kindOf, LAYER_KINDS, LAYER_TYPES } from '../../src/layers/registry.js';
import { DEFAULT_INPUT, fileVersion, parseModel, stringifyModel } from '../../src/model/weights-file.js';
import { createNetwork, formatArch, formatLayer, GRAMMAR_HELP, parseArch, PRESETS } from '../../src/net/index.js';
import { Random } from '../../src/random.js';

/** Tokens of every layer type, in canonical form (a new kind of layer must add one here). */
const TOKENS: Record<string, string[]> = {
  conv2d: ['conv8k3', 'conv8k3s2p1', 'conv1k1', 'conv16k5p2'],
  relu: ['relu'],
  maxpool2d: ['pool2', 'pool3s2'],
  avgpool2d: ['avgpool2', 'avgpool3s1'],
  globalavgpool: ['gap'],
  flatten: ['flatten'],
  dense: ['dense10', 'dense128'],
  dropout: ['dropout0.3', 'dropout0'],
  batchnorm: ['bn'],
};

/** A net with every kind of layer, bias-free conv and dense included. */
const EVERY_LAYER = 'conv4k3p1,bn,relu,avgpool2,conv6k3,relu,pool2s1,dropout0.2,conv8k1,gap,dense16,bn,relu,flatten,dense10';

describe('the registry', () => {
  it('has a descriptor for every layer type, under its own name', () => {
    expect([...LAYER_TYPES].sort()).toEqual(Object.keys(TOKENS).sort());
    for (const type of LAYER_TYPES) expect(kindOf(type).type).toBe(type);
    expect(findKind('__proto__')).toBeUndefined();
    expect(findKind('toString')).toBeUndefined();
    expect(findKind(7)).toBeUndefined();
    expect(findKind('batchnorm')).toBe(LAYER_KINDS.batchnorm);
  });

  it('has kconv check rows for every layer type, and names a type left without any', () => {
    expect(Object.keys(LAYER_CHECKS).sort()).toEqual([...LAYER_TYPES].sort());
    expect(layerKindsWithoutChecks()).toEqual([]);
    for (const type of LAYER_TYPES) expect(LAYER_CHECKS[type]().filter((r) => !r.pass).map((r) => r.name), type).toEqual([]);
    // Planted: a table that forgot a kind, and an entry that gives no rows.
    const { dropout: _forgotten, ...withoutDropout } = LAYER_CHECKS;
    expect(layerKindsWithoutChecks(withoutDropout)).toEqual(['dropout']);
    expect(layerKindsWithoutChecks({ ...LAYER_CHECKS, flatten: () => [] })).toEqual(['flatten']);
  });

  it('round-trips every token: token → spec → token, and lists it in the grammar help', () => {
    for (const [type, tokens] of Object.entries(TOKENS)) {
      for (const token of tokens) {
        // (`bn` alone names the preset: a layer token is read as one inside a list.)
        const [spec] = parseArch(`${token},relu`);
        expect(spec.type).toBe(type);
        expect(formatLayer(spec)).toBe(token);
        expect(parseArch(`${formatLayer(spec)},relu`)[0]).toEqual(spec);
      }
      expect(GRAMMAR_HELP).toContain(kindOf(type as never).token.help);
    }
    expect(parseArch('AvgPool2S2,GAP,Bn')).toEqual([
      { type: 'avgpool2d', size: 2, stride: 2 }, { type: 'globalavgpool' }, { type: 'batchnorm', eps: 1e-5, momentum: 0.1 },
    ]);
  });

  it('the bn preset is the wide net with batch normalization after every conv and the hidden dense layer', () => {
    expect(formatArch(parseArch('bn'))).toBe(PRESETS.bn);
    expect(PRESETS.bn.replace(/,bn/g, '')).toBe(PRESETS.wide);
    expect(PRESETS.bn.split(',').filter((t) => t === 'bn')).toHaveLength(5);
  });

  it('rejects bad numbers in the new tokens, naming the token', () => {
    expect(() => parseArch('conv4k3,avgpool0,dense10')).toThrow(/token 2 "avgpool0": pool size must be at least 1/);
    expect(() => parseArch('conv4k3,avgpool2s0,dense10')).toThrow(/token 2 "avgpool2s0": pool stride must be at least 1/);
    expect(() => parseArch('conv4k3,bn2,dense10')).toThrow(/token 2 "bn2" is not a layer/);
    expect(() => createNetwork('dense16,gap,dense10')).toThrow(/layer 2 \(gap\): needs an image input/);
    expect(() => createNetwork('conv4k3,avgpool27,dense10')).toThrow(/layer 2 \(avgpool27\): a 27×27 pooling window does not fit the 4×26×26 input/);
  });

  it('layer → weights-file record → layer, every array bit for bit, for every kind of layer', () => {
    const net = createNetwork(EVERY_LAYER, 2);
    expect(new Set(net.layers.map((l) => l.type))).toEqual(new Set(LAYER_TYPES));
    // Random values everywhere, running statistics included (variances positive).
    const random = new Random(4);
    for (const p of net.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = random.normal();
    for (const b of net.buffers()) for (let i = 0; i < b.value.length; i++) b.value[i] = b.min === 0 ? random.next() + 0.1 : random.normal();
    const arch = formatArch(parseArch(EVERY_LAYER));
    const text = stringifyModel({ input: DEFAULT_INPUT, arch, net });
    const back = parseModel(text, 'every.json');
    expect(back.arch).toBe(arch);
    expect(back.net.layers.map((l) => l.spec)).toEqual(net.layers.map((l) => l.spec));
    expect(back.net.layers.map((l) => l.outShape)).toEqual(net.layers.map((l) => l.outShape));
    const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    expect(back.net.state().map(bits)).toEqual(net.state().map(bits));
    expect(stringifyModel(back)).toBe(text);
    const doc = JSON.parse(text);
    expect(doc.version).toBe(2);
    expect(doc.layers.map((l: { type: string }) => l.type)).toEqual(net.layers.map((l) => l.type));
    expect(doc.layers[1]).toMatchObject({ type: 'batchnorm', features: 4, eps: 1e-5, momentum: 0.1 });
    expect(Object.keys(doc.layers[1])).toEqual(['type', 'features', 'eps', 'momentum', 'weight', 'bias', 'runningMean', 'runningVar']);
    expect(doc.layers[3]).toEqual({ type: 'avgpool2d', size: 2, stride: 2 });
    expect(doc.layers[9]).toEqual({ type: 'globalavgpool' });
  });

  it('a conv or dense layer before bn has no bias, and is saved without one; the others keep theirs', () => {
    const net = createNetwork('conv4k3,bn,relu,conv4k3,relu,dense8,bn,relu,dense10', 1);
    expect(net.layers.map((l) => l.params().map((p) => p.name).join('+'))).toEqual([
      'weight', 'weight+bias', '', 'weight+bias', '', '', 'weight', 'weight+bias', '', 'weight+bias',
    ]);
    const doc = JSON.parse(stringifyModel({ input: DEFAULT_INPUT, arch: 'x', net }));
    expect(doc.layers.map((l: object) => 'bias' in l)).toEqual([false, true, false, true, false, false, false, true, false, true]);
  });

  it('nets of version-1 layers still write version 1; any new layer or bias-free record makes it 2', () => {
    for (const arch of ['seed', 'default', 'wide']) expect(fileVersion(createNetwork(arch))).toBe(1);
    for (const arch of ['bn', 'conv4k3,gap,dense10', 'conv4k3,avgpool2,dense10']) expect(fileVersion(createNetwork(arch))).toBe(2);
  });
});
