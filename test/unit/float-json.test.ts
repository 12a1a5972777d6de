/**
 * The fast float32 formatter against the reference rule it must match byte for byte
 * (weights files stay identical): random bit patterns over every exponent, the special
 * values, powers of two and ten with their neighbours, values just below each decade
 * (where 6, 7, 8 or 9 digits round up into the next), rounding ties, and whole runs of
 * consecutive bit patterns. `node test/sweeps/float-json.mjs` runs the same comparison
 * on tens of millions of patterns and whole binades (too slow for every `npm test`).
 */
import { describe, expect, it } from 'vitest';
import { float32ArrayToJson, float32ToString, float32ToStringReference } from '../../src/model/float-json.js';

const bits = new Uint32Array(1);
const f32 = new Float32Array(bits.buffer);
const fromBits = (b: number) => {
  bits[0] = b >>> 0;
  return f32[0];
};
const toBits = (x: number) => {
  f32[0] = x;
  return bits[0];
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/** Compares both ways of writing every value; returns the mismatches (at most 10). */
function mismatches(values: Iterable<number>): string[] {
  const bad: string[] = [];
  for (const x of values) {
    const fast = float32ToString(x), ref = float32ToStringReference(x);
    if (fast !== ref && bad.length < 10) bad.push(`${x} (bits ${toBits(x).toString(16)}): ${fast} vs ${ref}`);
  }
  return bad;
}

function* neighbours(x: number, span: number): Generator<number> {
  const b = toBits(Math.abs(x));
  for (let d = -span; d <= span; d++) {
    const c = b + d;
    if (c < 0 || c >= 0x7f800000) continue;
    yield fromBits(c);
    yield -fromBits(c);
  }
}

describe('float32ToString: the fast path writes exactly what the reference rule writes', () => {
  it('on 200,000 random bit patterns (every exponent, both signs, subnormals)', () => {
    const next = rng(1);
    const values = Array.from({ length: 200_000 }, () => fromBits(next())).filter((x) => !Number.isNaN(x));
    expect(mismatches(values)).toEqual([]);
  });

  it('on the special values', () => {
    const specials = [0, -0, NaN, Infinity, -Infinity, fromBits(1), fromBits(0x7fffff), fromBits(0x800000), fromBits(0x7f7fffff), 1, -1, 0.1, 1 / 3];
    expect(mismatches(specials)).toEqual([]);
    expect([0, -0, NaN, Infinity, -Infinity].map(float32ToString)).toEqual(['0', '0', 'NaN', 'Infinity', '-Infinity']);
    expect(float32ToString(fromBits(1))).toBe('1.4013e-45'); // 6 digits first: not the shortest, the rule's
    expect(float32ToString(fromBits(0x7f7fffff))).toBe('3.4028235e+38');
    expect(float32ToString(Math.fround(0.1))).toBe('0.1');
    // Not a float32: the reference's answer (the fast path is for float32 values only).
    expect(float32ToString(0.1 + 0.2)).toBe(float32ToStringReference(0.1 + 0.2));
  });

  it('on powers of two and of ten and their neighbours, and just below every decade', () => {
    const values: number[] = [];
    for (let e = -149; e <= 127; e++) values.push(...neighbours(2 ** e, 3));
    for (let k = -45; k <= 38; k++) {
      values.push(...neighbours(Math.fround(10 ** k), 40));
      // 6, 7, 8 and 9 nines: where rounding to that many digits carries into the next decade
      for (const nines of [0.9999995, 0.99999995, 0.999999995, 0.9999999995]) values.push(...neighbours(Math.fround(nines * 10 ** (k + 1)), 20));
    }
    expect(values.length).toBeGreaterThan(30_000);
    expect(mismatches(values)).toEqual([]);
  });

  it('on rounding ties (decimals ending in 5 one digit past 6, 7 or 8) and runs of consecutive patterns', () => {
    const ties: number[] = [];
    // Integers and halves with 7–9 digits ending in 5 are float32 values: exact ties for toPrecision.
    for (let i = 0; i < 3000; i++) {
      const base = 1_000_000 + i * 2_777;
      ties.push(base * 10 + 5, base + 0.5, (base * 10 + 5) / 1024, -(base * 10 + 5) * 2 ** 30);
    }
    expect(mismatches(ties.map(Math.fround))).toEqual([]);
    const runs: number[] = [];
    for (const start of [0x00000001, 0x00400000, 0x00800000, 0x3f800000, 0x3dcccccc, 0x4b7fff00, 0x7f7f0000]) {
      for (let b = start; b < start + 8192; b++) runs.push(fromBits(b));
    }
    expect(mismatches(runs)).toEqual([]);
  });
});

describe('float32ArrayToJson', () => {
  it('is the reference texts joined into a JSON array, reading back bit for bit', () => {
    const next = rng(2);
    const a = new Float32Array(5000);
    for (let i = 0; i < a.length; i++) a[i] = i % 7 === 0 ? 0 : fromBits(next() & 0xbfffffff);
    a[1] = -0;
    const text = float32ArrayToJson(a);
    expect(text).toBe(`[${Array.from(a, float32ToStringReference).join(',')}]`);
    expect(Float32Array.from(JSON.parse(text) as number[])).toEqual(a.map((x) => (Object.is(x, -0) ? 0 : x)));
    expect(float32ArrayToJson(new Float32Array(0))).toBe('[]');
    // the output buffer is reused: a shorter array afterwards is not polluted by the longer one
    expect(float32ArrayToJson(Float32Array.of(1.5, -2))).toBe('[1.5,-2]');
  });
});

describe('the weights file as bytes', () => {
  it('is JSON.stringify of the document with every array written by the reference rule', async () => {
    const { DEFAULT_INPUT, modelBytes } = await import('../../src/model/weights-file.js');
    const { createNetwork } = await import('../../src/net/index.js');
    const net = createNetwork('conv4k3p1,bn,relu,pool2,dense10', 2);
    const next = rng(9);
    const m = net.params().map((p) => Float32Array.from(p.value, () => fromBits(next() & 0xbfffffff)));
    const bytes = modelBytes({ input: DEFAULT_INPUT, arch: 'x', net, optimizerState: { step: 3, m, v: [] } });
    const parsed = JSON.parse(bytes.toString('utf8'));
    // Rebuild the text from the parsed document: numbers in arrays by the reference rule, the rest as JSON.stringify writes it.
    const reference = JSON.stringify(parsed, (_k, v) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? `\u0000[${v.map(float32ToStringReference).join(',')}]` : v), 1)
      .replace(/"\\u0000(\[[^"]*\])"/g, '$1') + '\n';
    expect(bytes.toString('utf8')).toBe(reference);
    expect(parsed.optimizerState.m[0]).toHaveLength(m[0].length);
  });
});
