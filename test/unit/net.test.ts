import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import { createNetwork, formatArch, parseArch, Sequential } from '../../src/net/index.js';

describe('architecture specs', () => {
  it('parses presets and layer tokens, and formats them back', () => {
    expect(formatArch(parseArch('default'))).toBe('conv8k5,relu,pool2,conv16k5,relu,pool2,dense10');
    expect(formatArch(parseArch('seed'))).toBe('conv2k5,relu,pool2,dense10');
    expect(parseArch('conv16k5s1p2')).toEqual([{ type: 'conv2d', outChannels: 16, kernel: 5, stride: 1, padding: 2 }]);
    expect(parseArch('pool3s2, relu ,FLATTEN,dropout0.3,dense10')).toEqual([
      { type: 'maxpool2d', size: 3, stride: 2 },
      { type: 'relu' },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', outFeatures: 10 },
    ]);
    expect(formatArch(parseArch('conv8k3s2p1,pool3s2,dense10'))).toBe('conv8k3s2p1,pool3s2,dense10');
  });

  it('points at the bad token and says what was expected', () => {
    expect(() => parseArch('conv8k5,relu,pol2,dense10')).toThrow(/token 3 "pol2" is not a layer; expected one of convFkK/);
    expect(() => parseArch('conv8k5,,dense10')).toThrow(/empty token at position 2/);
    expect(() => parseArch('')).toThrow(SpecError);
    expect(() => parseArch('conv0k5,dense10')).toThrow(/token 1 "conv0k5": needs at least 1 filter/);
    expect(() => parseArch('conv4k3p3,dense10')).toThrow(/padding must be smaller than the kernel/);
    expect(() => parseArch('dropout1,dense10')).toThrow(/rate must be at least 0 and below 1/);
  });
});

describe('Sequential', () => {
  it('infers every shape of the default net, inserting flatten before dense', () => {
    const net = createNetwork('default');
    expect(net.layers.map((l) => l.type)).toEqual(['conv2d', 'relu', 'maxpool2d', 'conv2d', 'relu', 'maxpool2d', 'flatten', 'dense']);
    expect(net.layers.map((l) => l.outShape)).toEqual([[8, 24, 24], [8, 24, 24], [8, 12, 12], [16, 8, 8], [16, 8, 8], [16, 4, 4], [256], [10]]);
    expect(createNetwork('seed').layers.map((l) => l.outShape)).toEqual([[2, 24, 24], [2, 24, 24], [2, 12, 12], [288], [10]]);
  });

  it('rejects impossible stacks naming the layer', () => {
    expect(() => createNetwork('conv8k5,pool2,conv8k5,pool2,conv8k5,dense10')).toThrow(
      'layer 5 (conv8k5): a 5×5 kernel does not fit the 8×4×4 input: use a smaller kernel, more padding, or less pooling before it',
    );
    expect(() => createNetwork('pool2,pool2,pool2,pool2,pool2,dense10')).toThrow(/layer 5 \(pool2\): a 2×2 pooling window does not fit the 1×1×1 input/);
    expect(() => createNetwork('dense10,conv2k3')).toThrow(/layer 2 \(conv2k3\): needs an image input/);
    expect(() => createNetwork('conv2k3,relu')).toThrow(/end the architecture with a dense layer/);
  });

  it('He-initialises from a seed: same seed, identical bits; biases zero; std ≈ sqrt(2/fan_in)', () => {
    const a = createNetwork('default', 42).params();
    const b = createNetwork('default', 42).params();
    const c = createNetwork('default', 43).params();
    a.forEach((p, i) => expect(Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength).equals(Buffer.from(b[i].value.buffer, b[i].value.byteOffset, b[i].value.byteLength))).toBe(true));
    expect(Array.from(a[0].value)).not.toEqual(Array.from(c[0].value));
    expect(a[1].value.every((v) => v === 0)).toBe(true);
    const w = a[2].value; // second conv: fan_in 8·5·5 = 200
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(Math.sqrt(2 / 200) * 0.9);
    expect(std).toBeLessThan(Math.sqrt(2 / 200) * 1.1);
  });

  it('does not compute a gradient for the pixels', () => {
    const net = new Sequential(parseArch('relu,conv2k3,relu,dense10'));
    expect(net.layers.map((l) => l.needsInputGrad)).toEqual([false, false, true, true, true]);
  });
});

describe('evaluation allocates its kernel memory once', () => {
  it('repeated evaluate and forEachPrediction calls do not grow the kernel arena', async () => {
    const { arenaStats } = await import('../../src/kernels/memory.js');
    const { evaluate, forEachPrediction } = await import('../../src/batch/evaluate.js');
    const { createNetwork } = await import('../../src/net/index.js');
    const { DEFAULT_INPUT } = await import('../../src/net/input.js');
    const net = createNetwork('seed', 1);
    const n = 300;
    const images = { n, pixels: new Uint8Array(n * 784).map((_, i) => (i * 7) % 256), labels: new Uint8Array(n).map((_, i) => i % 10), ids: null };
    const once = () => {
      evaluate(net, DEFAULT_INPUT, images, null);
      forEachPrediction(net, DEFAULT_INPUT, images, null, () => undefined);
    };
    once();
    const used = arenaStats().usedBytes;
    for (let i = 0; i < 20; i++) once();
    expect(arenaStats().usedBytes).toBe(used);
  });
});
