import { AvgPool2d } from '../layers/avgpool2d.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { GlobalAvgPool } from '../layers/globalavgpool.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Relu } from '../layers/relu.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { CLASSES, createNetwork, initHe, parseArch, Sequential } from '../net/index.js';
import { Random } from '../random.js';
import { sizeOf, type Tensor } from '../tensor/tensor.js';
import { gradCheckLayer, gradCheckNetwork, gradCheckSoftmaxCrossEntropy, randomDistinct, type GradResult } from './gradcheck.js';

/** One row of `kconv check`: a named check, its worst error, the tolerance, verdict. */
export interface CheckRow {
  readonly group: string;
  readonly name: string;
  readonly error: number;
  readonly tolerance: number;
  readonly pass: boolean;
  readonly detail?: string;
}

export interface CheckReport {
  readonly rows: CheckRow[];
  readonly pass: boolean;
  /** The article's example output, as computed by im2col. */
  readonly example: number[][];
}

/**
 * Gradients of single layers: float32 forward passes, float64 loss sums, steps on
 * which these layers are exactly (piecewise) linear: correct ones agree to ~1e-4,
 * a gradient scaled by 1.01 is off by 1e-2.
 */
export const GRAD_TOLERANCE = 1e-3;
/** A whole net: smaller steps (kinks everywhere downstream), so float32 noise is larger. */
export const NET_GRAD_TOLERANCE = 5e-3;
/** Naive vs im2col: both are float32 sums of the same products in different orders. */
export const CONV_TOLERANCE = 1e-5;

function row(group: string, name: string, error: number, tolerance: number, detail?: string): CheckRow {
  return { group, name, error, tolerance, pass: error <= tolerance, detail };
}

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

function gradRows(name: string, results: GradResult[], tolerance = GRAD_TOLERANCE, about = ''): CheckRow[] {
  return results.map((r) => row('gradient check', `${name}: d/d ${r.of}`, r.error, tolerance, `${about}${r.coordinates} coordinates${r.kinks ? `, ${r.kinks} at kinks skipped` : ''}`));
}

/** Whole nets with every kind of layer, on a small input so few ReLUs sit near a kink. */
export const SMALL_NET = 'conv4k3p1,relu,pool2,conv6k3,relu,pool2,dense10';
export const SMALL_BN_NET = 'conv4k3p1,bn,relu,avgpool2,conv6k3,bn,relu,gap,dense8,bn,relu,dense10';
function smallNet(arch = SMALL_NET): Sequential {
  const net = new Sequential(parseArch(arch), [1, 8, 8], 1);
  initHe(net, 1);
  return net;
}

/** 3. Numerical gradient checks of every layer, and of a whole small net. */
export function gradientChecks(): CheckRow[] {
  const conv = new Conv2d([3, 7, 9], { inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1 });
  const conv1 = new Conv2d([2, 6, 6], { inChannels: 2, outChannels: 3, kernel: 5, stride: 1, padding: 0 });
  const pool = new MaxPool2d([2, 6, 7], 2);
  const poolOverlap = new MaxPool2d([2, 7, 7], 3, 2);
  return [
    ...gradRows('conv2d 3→4, k3 s2 p1', gradCheckLayer(conv)),
    ...gradRows('conv2d 2→3, k5', gradCheckLayer(conv1)),
    ...gradRows('relu', gradCheckLayer(new Relu([3, 4, 4]))),
    ...gradRows('maxpool2d 2', gradCheckLayer(pool, { input: randomDistinct([2, 2, 6, 7]) })),
    ...gradRows('maxpool2d 3 s2', gradCheckLayer(poolOverlap, { input: randomDistinct([2, 2, 7, 7]) })),
    ...gradRows('dense 20→7', gradCheckLayer(new Dense([20], 7))),
    // Batch normalization in training mode: every output depends on every input of its channel.
    ...gradRows('batchnorm 2d, 3 channels', gradCheckLayer(new BatchNorm([3, 4, 5]), { batch: 3 }), GRAD_TOLERANCE, 'batch 3, 3×4×5, '),
    ...gradRows('batchnorm 1d, 6 features', gradCheckLayer(new BatchNorm([6]), { batch: 8 }), GRAD_TOLERANCE, 'batch 8, '),
    ...gradRows('avgpool2d 2', gradCheckLayer(new AvgPool2d([2, 6, 7], 2))),
    ...gradRows('avgpool2d 3 s2', gradCheckLayer(new AvgPool2d([2, 7, 7], 3, 2))),
    ...gradRows('gap', gradCheckLayer(new GlobalAvgPool([3, 5, 4]))),
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

export function runChecks(): CheckReport {
  const example = articleExample();
  const rows = [...example.rows, naiveVsIm2col(), ...gradientChecks(), ...batchNormChecks(), ...presetChecks()];
  return { rows, pass: rows.every((r) => r.pass), example: example.output };
}
