import { dropoutMask, dropoutMaskReference } from '../kernels/dropout-mask.js';
import { mulFloats, mulFloatsReference } from '../kernels/elementwise.js';
import { allocF32 } from '../kernels/memory.js';
import { F2X2_3X3, F4X4_3X3, WinogradConv, type WinogradAlgorithm } from '../kernels/winograd.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Relu } from '../layers/relu.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { fuseForTraining } from '../net/fuse.js';
import { CLASSES, createNetwork, initHe, parseArch, Sequential } from '../net/index.js';
import { foldBatchNorm } from '../predict/fold-batchnorm.js';
import { Random } from '../random.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { gradCheckNetwork, gradCheckSoftmaxCrossEntropy } from './gradcheck.js';
import { LAYER_CHECKS } from './layer-checks.js';
import { gradRows, row, type CheckRow } from './row.js';

export { GRAD_TOLERANCE, type CheckRow } from './row.js';

export interface CheckReport {
  readonly rows: CheckRow[];
  readonly pass: boolean;
  /** The article's example output, as computed by im2col. */
  readonly example: number[][];
}

/** A whole net: smaller steps (kinks everywhere downstream) than a single layer's (GRAD_TOLERANCE, row.ts), so float32 noise is larger. */
export const NET_GRAD_TOLERANCE = 5e-3;
/** Naive vs im2col: both are float32 sums of the same products in different orders. */
export const CONV_TOLERANCE = 1e-5;
/**
 * Naive vs Winograd, relative to the largest output. F(2×2, 3×3)'s transforms only add,
 * subtract and halve, so it is as exact as im2col. F(4×4, 3×3) multiplies by up to 8 and
 * divides by 24 between the transforms, losing a few bits: its worst error over the shapes
 * checked (up to 64 channels) measures about 5·10⁻⁶ (wasm) and 2·10⁻⁶ (TypeScript), so
 * 3·10⁻⁵ leaves room while a wrong matrix entry (errors of 10⁻² and up) cannot pass.
 */
export const WINOGRAD_TOLERANCE: Readonly<Record<2 | 4, number>> = { 2: 1e-5, 4: 3e-5 };

/** 1. The article's worked example: [[1,0,0],[1,2,3],[3,4,5]] ⋆ [[1,0],[0,1]] = [[3,3],[5,7]]. */
export function articleExample(): { rows: CheckRow[]; output: number[][] } {
  const conv = new Conv2d([1, 3, 3], { inChannels: 1, outChannels: 1, kernel: 2 });
  conv.weight.set([1, 0, 0, 1]);
  const x: Tensor = { data: Float32Array.from([1, 0, 0, 1, 2, 3, 3, 4, 5]), shape: [1, 1, 3, 3] };
  const expected = [3, 3, 5, 7];
  const naive = conv.forwardNaive(x).data;
  const fast = conv.forward(x, false).data;
  const worst = (y: Float32Array) => Math.max(...expected.map((e, i) => Math.abs(y[i] - e)));
  return {
    rows: [
      row('article example', 'naive loops', worst(naive), 0, `[[${naive[0]},${naive[1]}],[${naive[2]},${naive[3]}]]`),
      row('article example', 'im2col + GEMM', worst(fast), 0, `[[${fast[0]},${fast[1]}],[${fast[2]},${fast[3]}]]`),
    ],
    output: [[fast[0], fast[1]], [fast[2], fast[3]]],
  };
}

/** 2. Naive and im2col convolution agree on random data over a grid of shapes. */
export function naiveVsIm2col(): CheckRow {
  const random = new Random(3);
  let worst = 0;
  let cases = 0;
  for (const channels of [1, 3])
    for (const filters of [1, 2, 8])
      for (const kernel of [1, 2, 3, 5])
        for (const stride of [1, 2])
          for (const padding of [0, 1, 2])
            for (const batch of [1, 4])
              for (const [h, w] of [[7, 9], [8, 8]]) {
                if (padding >= kernel || kernel > h + 2 * padding) continue;
                const conv = new Conv2d([channels, h, w], { inChannels: channels, outChannels: filters, kernel, stride, padding });
                conv.algorithm = 'im2col';
                for (const arr of [conv.weight, conv.bias]) for (let i = 0; i < arr.length; i++) arr[i] = random.normal();
                const x: Tensor = { data: new Float32Array(batch * channels * h * w), shape: [batch, channels, h, w] };
                for (let i = 0; i < x.data.length; i++) x.data[i] = random.normal();
                const a = conv.forwardNaive(x).data;
                const b = conv.forward(x, false).data;
                let scale = 1;
                for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
                for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
                cases++;
              }
  return row('naive vs im2col', `${cases} random shapes`, worst, CONV_TOLERANCE, 'C 1,3; F 1,2,8; k 1,2,3,5; s 1,2; p 0,1,2; N 1,4; 7×9 and 8×8 inputs');
}

/** The convolution shapes the Winograd rows run: [C, H, W, F, padding, batch]. */
const WINOGRAD_SHAPES: ReadonlyArray<readonly [number, number, number, number, number, number]> = [
  [1, 1, 1, 1, 1, 1], [1, 3, 3, 2, 0, 2], [3, 5, 7, 5, 0, 1], [3, 7, 9, 5, 1, 2], [5, 8, 8, 6, 1, 3], [2, 9, 13, 3, 2, 2],
  [6, 17, 6, 7, 1, 2], [4, 12, 12, 4, 1, 1], [7, 10, 11, 9, 0, 2], [32, 16, 16, 32, 1, 1], [64, 9, 10, 64, 1, 1],
  // Two groups of images (2 + 1: see GROUP_BYTES in winograd.ts), so backward's group-by-group weight gradient is covered.
  [64, 28, 28, 64, 1, 3],
];

function randomArray(n: number, random: Random, alloc: (n: number) => Float32Array = allocF32): Float32Array {
  const a = alloc(n);
  for (let i = 0; i < n; i++) a[i] = random.normal();
  return a;
}

function relativeError(want: Float32Array, got: Float32Array): number {
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
  return worst / Math.max(scale, 1e-30);
}

const WINOGRAD_DETAIL = 'C 1–64, F 1–64, inputs 1×1 to 28×28 and 17×6 (odd sizes, partial tiles), padding 0–2, N 1–3 (64×28×28: 2–3 groups)';

/**
 * 2b. Winograd against the naive loops (forward) and against im2col (backward: input,
 * weight and bias gradients, the adjoint of each stage) on random shapes: two rows per
 * algorithm. `algs` may include a deliberately wrong copy of one: the test suite plants
 * one and demands a FAIL.
 */
export function winogradChecks(algs: readonly WinogradAlgorithm[] = [F2X2_3X3, F4X4_3X3]): CheckRow[] {
  const random = new Random(17);
  const forward = algs.map(() => 0);
  const backward = algs.map(() => ({ dx: 0, dW: 0, db: 0 }));
  for (const [C, H, W, F, p, n] of WINOGRAD_SHAPES) {
    const conv = new Conv2d([C, H, W], { inChannels: C, outChannels: F, kernel: 3, padding: p });
    conv.algorithm = 'im2col';
    conv.weight.set(randomArray(conv.weight.length, random));
    conv.bias.set(randomArray(F, random));
    const x: Tensor = { data: randomArray(n * C * H * W, random), shape: [n, C, H, W] };
    const dy: Tensor = { data: randomArray(n * sizeOf(conv.outShape), random), shape: [n, ...conv.outShape] };
    const yWant = conv.forwardNaive(x).data;
    conv.forward(x, true);
    const dxWant = conv.backward(dy)!.data;
    algs.forEach((alg, a) => {
      const engine = new WinogradConv(C, H, W, F, p, alg);
      const y = allocF32(yWant.length), dx = allocF32(dxWant.length), dW = allocF32(conv.weight.length), db = allocF32(F);
      engine.forward(x.data, n, conv.weight, { scale: allocF32(F).fill(1), shift: conv.bias, relu: false }, y);
      engine.backward(dy.data, n, dW, db, dx);
      forward[a] = Math.max(forward[a], relativeError(yWant, y));
      const b = backward[a];
      b.dx = Math.max(b.dx, relativeError(dxWant, dx));
      b.dW = Math.max(b.dW, relativeError(conv.weightGrad, dW));
      b.db = Math.max(b.db, relativeError(conv.biasGrad, db));
    });
  }
  return algs.flatMap((alg, a) => {
    const b = backward[a];
    return [
      row('naive vs Winograd', `${alg.name}, ${WINOGRAD_SHAPES.length} random shapes`, forward[a], WINOGRAD_TOLERANCE[alg.m], WINOGRAD_DETAIL),
      row('im2col vs Winograd', `${alg.name} backward: dx, dW, db`, Math.max(b.dx, b.dW, b.db), WINOGRAD_TOLERANCE[alg.m],
        `dx ${b.dx.toExponential(1)}, dW ${b.dW.toExponential(1)}, db ${b.db.toExponential(1)}; same shapes`),
    ];
  });
}

/**
 * Whole nets with every kind of layer, on a small input so few ReLUs sit near a kink. The
 * 3×3 stride-1 convs run Winograd F(2×2, 3×3), so its backward is checked in a net too;
 * not F(4×4, 3×3), whose float32 rounding (checked on its own above) over the 1e-3 step of
 * a whole net's loss comes within the tolerance by itself (measured 3–5e-3).
 */
export const SMALL_NET = 'conv4k3p1,relu,pool2,conv6k3,relu,pool2,dense10';
export const SMALL_BN_NET = 'conv4k3p1,bn,relu,avgpool2,conv6k3,bn,relu,gap,dense8,bn,relu,dense10';
function smallNet(arch = SMALL_NET): Sequential {
  const net = new Sequential(parseArch(arch), [1, 8, 8]);
  for (const layer of net.layers) if (layer instanceof Conv2d && layer.supports('winograd2')) layer.algorithm = 'winograd2';
  initHe(net, 1);
  return net;
}

/** 3. Numerical gradient checks of every layer (and its own rules: layer-checks.ts), the loss, and two whole small nets. */
export function gradientChecks(): CheckRow[] {
  return [
    ...Object.values(LAYER_CHECKS).flatMap((rows) => rows()),
    ...gradRows('softmax cross-entropy', gradCheckSoftmaxCrossEntropy()),
    ...gradRows('softmax cross-entropy, label smoothing 0.1', gradCheckSoftmaxCrossEntropy({ smoothing: 0.1 })),
    ...gradRows('small net', gradCheckNetwork(smallNet()), NET_GRAD_TOLERANCE, `${SMALL_NET} on 1×8×8, `),
    ...gradRows('small bn net', gradCheckNetwork(smallNet(SMALL_BN_NET), { batch: 8 }), NET_GRAD_TOLERANCE, `${SMALL_BN_NET} on 1×8×8, batch 8, `),
  ];
}

/**
 * 4. Batch normalization while training brings each channel of a batch to mean 0 and
 * variance 1 (γ = 1, β = 0), whatever the batch's own mean and spread: the worst |mean|
 * and |variance − 1| over the channels (variance 1 − ε/σ² exactly, so within 1e-4 here).
 */
export function batchNormChecks(): CheckRow[] {
  const random = new Random(17);
  return ([[[5, 6, 7], 'batchnorm 2d: 5 channels of 6×7, batch 4'], [[12], 'batchnorm 1d: 12 features, batch 16']] as const).map(([shape, name]) => {
    const bn = new BatchNorm(shape);
    const n = shape.length === 3 ? 4 : 16;
    const C = shape[0];
    const plane = sizeOf(shape) / C;
    const x: Tensor = { data: new Float32Array(n * sizeOf(shape)), shape: [n, ...shape] };
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        for (let j = 0; j < plane; j++) x.data[(i * C + c) * plane + j] = 10 * (c - C / 2) + (1 + c) * random.normal();
      }
    }
    const y = bn.forward(x, true).data;
    let worst = 0;
    for (let c = 0; c < C; c++) {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < plane; j++) {
          const v = y[(i * C + c) * plane + j];
          sum += v;
          sq += v * v;
        }
      }
      const mean = sum / (n * plane);
      worst = Math.max(worst, Math.abs(mean), Math.abs(sq / (n * plane) - mean * mean - 1));
    }
    return row('batch normalization', `${name}: mean 0, variance 1 per channel`, worst, 1e-4, 'inputs with channel means −25…20 and spreads 1…12');
  });
}

/** 5. The nets every command uses build, and give probabilities that sum to 1. */
export function presetChecks(): CheckRow[] {
  return ['seed', 'default', 'bn'].map((arch) => {
    const net = createNetwork(arch, 1);
    const random = new Random(2);
    const x: Tensor = { data: new Float32Array(8 * sizeOf(net.inputShape)), shape: [8, ...net.inputShape] };
    for (let i = 0; i < x.data.length; i++) x.data[i] = random.next();
    const probs = new SoftmaxCrossEntropy(CLASSES).softmax(net.forward(x, false)).data;
    let worst = 0;
    let finite = true;
    for (let i = 0; i < 8; i++) {
      let s = 0;
      for (let k = 0; k < CLASSES; k++) {
        s += probs[i * CLASSES + k];
        finite &&= Number.isFinite(probs[i * CLASSES + k]);
      }
      worst = Math.max(worst, Math.abs(s - 1));
    }
    const shapes = [net.inputShape, ...net.layers.map((l) => l.outShape)].map((s) => s.join('×'));
    const steps = shapes.filter((s, i) => s !== shapes[i - 1]);
    return row('nets', `${arch} net: probabilities sum to 1`, finite ? worst : Infinity, 1e-5, steps.join(' → '));
  });
}

/**
 * The fused ReLU (src/net/fuse.ts: in a Winograd conv's output transform, clamping a
 * max-pool's output, or in the input copies of a Winograd conv after it) against the same net with every ReLU a layer of its own: one
 * training step's outputs and parameter gradients. Fusing moves no arithmetic, only where
 * the max(0, ·) happens, so they agree exactly.
 */
export const FUSION_NETS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['conv8k5,relu,pool2,conv16k5,relu,pool2,dense10', [1, 28, 28]],
  ['conv4k3p1,relu,conv8k3p1,relu,pool2,conv8k3p1,bn,relu,pool2,dense10', [1, 12, 12]],
  // batch norm, ReLU, Winograd conv (the bn net's pattern): the ReLU goes into the conv's input copies
  ['conv4k3p1,bn,relu,conv8k3p1,bn,relu,pool2,conv8k3p1,relu,dense10', [1, 12, 12]],
];

export function fusionCheck(fused: Sequential, separate: Sequential, batch = 4, seed = 23): number {
  const random = new Random(seed);
  const x: Tensor = { data: randomArray(batch * sizeOf(fused.inputShape), random), shape: [batch, ...fused.inputShape] };
  const dy: Tensor = { data: randomArray(batch * sizeOf(fused.outputShape), random), shape: [batch, ...fused.outputShape] };
  let worst = 0;
  const compare = (a: Float32Array, b: Float32Array) => {
    worst = Math.max(worst, relativeError(b, a));
  };
  compare(fused.forward(x, true).data, separate.forward(x, true).data);
  fused.backward(dy);
  separate.backward(dy);
  fused.params().forEach((p, i) => compare(p.grad, separate.params()[i].grad));
  return worst;
}

export function fusionChecks(): CheckRow[] {
  return FUSION_NETS.map(([arch, shape]) => {
    const fused = new Sequential(parseArch(arch), shape);
    const separate = new Sequential(parseArch(arch), shape);
    initHe(fused, 1);
    initHe(separate, 1);
    fuseForTraining(separate.layers, false);
    const into = (i: number) => {
      const before = fused.layers[i - 1], after = fused.layers[i + 1];
      return before instanceof Conv2d && before.reluInTraining ? 'conv' : after instanceof Conv2d && after.reluBeforeInTraining ? 'next conv' : 'pool';
    };
    const where = fused.layers.flatMap((l, i) => (l instanceof Relu && l.fusedInTraining ? [`${i}: into ${into(i)}`] : []));
    return row('fusion', `${arch}: fused ReLU = separate ReLU (training step)`, fusionCheck(fused, separate), 1e-6, `ReLUs fused at ${where.join(', ')}`);
  });
}

/**
 * Dropout's mask kernel (src/kernels/dropout-mask.ts: four counter-based draws per SIMD
 * vector, compared with an integer limit) against the plain loop it replaced (mulberry32
 * drawn value by value): masks, outputs and the backward product bit for bit (the error
 * is the number of values that differ), over rates, lengths with and without a tail of 1–3,
 * offsets, and seeds at the edges of 32 bits; inputs include −0, ±∞ and NaN.
 */
export function dropoutChecks(): CheckRow[] {
  const random = new Random(29);
  let differ = 0;
  let values = 0;
  for (const rate of [1e-9, 0.1, 0.3, 0.5, 0.9999]) {
    for (const n of [1, 3, 4, 7, 128, 3136, 3139]) {
      for (const state of [0, 1, 0x7fffffff, 0xffffffff, random.int(2 ** 32)]) {
        const x = randomArray(n + 2, random);
        x.set([-0, Infinity, -Infinity, NaN].slice(0, Math.min(4, n)), 1);
        const yFast = allocF32(n + 2), mFast = allocF32(n + 2), dFast = allocF32(n);
        const yRef = new Float32Array(n + 2), mRef = new Float32Array(n + 2), dRef = new Float32Array(n);
        dropoutMask(x, 1, yFast, 2, mFast, 0, n, state, rate);
        dropoutMaskReference(x, 1, yRef, 2, mRef, 0, n, state, rate);
        mulFloats(x, mFast, dFast, n);
        mulFloatsReference(x, mRef, dRef, n);
        for (const [a, b] of [[yFast, yRef], [mFast, mRef], [dFast, dRef]]) {
          for (let i = 0; i < b.length; i++) differ += Object.is(a[i], b[i]) ? 0 : 1;
          values += b.length;
        }
      }
    }
  }
  return [row('dropout', 'mask kernel = plain mulberry32 loop (mask, output, gradient)', differ, 0,
    `${values} values, rates 1e-9…0.9999, 1–3139 values from 5 seeds each, bit for bit`)];
}

export function runChecks(): CheckReport {
  const example = articleExample();
  const rows = [
    ...example.rows, naiveVsIm2col(), ...winogradChecks(), ...gradientChecks(), ...batchNormChecks(), ...dropoutChecks(),
    ...presetChecks(), ...foldChecks(), ...fusionChecks(),
  ];
  return { rows, pass: rows.every((r) => r.pass), example: example.output };
}

/** Folded batch norm vs the layers it came from: float32 products in another order, ~1e-7 apart. */
export const FOLD_TOLERANCE = 1e-5;

/**
 * 6. Predicting with batch normalization folded into the conv or dense layer before it
 * (predict/fold-batchnorm.ts) gives the unfolded net's outputs: the worst of |Δ probability|
 * and |Δ logit| relative to the largest logit, over random images, with random γ, β and
 * running statistics (fresh ones, 0 and 1, would not show a forgotten mean or variance).
 * `fold` is the folding checked (a test plants a wrong one).
 */
export function foldingError(arch: string, fold: (net: Sequential) => Sequential = foldBatchNorm): number {
  const net = createNetwork(arch, 1);
  const random = new Random(4);
  for (const layer of net.layers) {
    if (!(layer instanceof BatchNorm)) continue;
    for (let c = 0; c < layer.features; c++) {
      layer.weight[c] = 0.5 + random.next();
      layer.bias[c] = 0.3 * random.normal();
      layer.runningMean[c] = 0.5 * random.normal();
      layer.runningVar[c] = 0.3 + 2 * random.next();
    }
  }
  const x: Tensor = { data: new Float32Array(8 * sizeOf(net.inputShape)), shape: [8, ...net.inputShape] };
  for (let i = 0; i < x.data.length; i++) x.data[i] = random.normal();
  const softmax = new SoftmaxCrossEntropy(CLASSES);
  const want = net.forward(x, false).data.slice();
  const wantP = softmax.softmax({ data: want, shape: [8, CLASSES] }).data.slice();
  const folded = fold(net);
  const got = folded.forward(x, false).data;
  const gotP = softmax.softmax({ data: got, shape: [8, CLASSES] }).data;
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]) / scale, Math.abs(wantP[i] - gotP[i]));
  return worst;
}

export function foldChecks(): CheckRow[] {
  return ['bn', SMALL_BN_NET].map((arch) => row('nets', `${arch === 'bn' ? 'bn net' : 'small bn net'}: batch norm folded for predicting`, foldingError(arch), FOLD_TOLERANCE,
    'probabilities and logits, folded vs not, random γ, β and running statistics'));
}
