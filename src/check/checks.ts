import { Conv2d } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { Relu } from '../layers/relu.js';
import { SoftmaxCrossEntropy } from '../layers/softmax-cross-entropy.js';
import { createNetwork, initHe, parseArch, Sequential } from '../net/index.js';
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

/** A whole net with every kind of layer, on a small input so few ReLUs sit near a kink. */
export const SMALL_NET = 'conv4k3p1,relu,pool2,conv6k3,relu,pool2,dense10';
function smallNet(): Sequential {
  const net = new Sequential(parseArch(SMALL_NET), [1, 8, 8], 1);
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
    ...gradRows('softmax cross-entropy', gradCheckSoftmaxCrossEntropy()),
    ...gradRows('small net', gradCheckNetwork(smallNet()), NET_GRAD_TOLERANCE, `${SMALL_NET} on 1×8×8, `),
  ];
}

/** 4. The two nets every command uses build, and give probabilities that sum to 1. */
export function presetChecks(): CheckRow[] {
  return ['seed', 'default'].map((arch) => {
    const net = createNetwork(arch, 1);
    const random = new Random(2);
    const x: Tensor = { data: new Float32Array(8 * sizeOf(net.inputShape)), shape: [8, ...net.inputShape] };
    for (let i = 0; i < x.data.length; i++) x.data[i] = random.next();
    const probs = new SoftmaxCrossEntropy(10).softmax(net.forward(x, false)).data;
    let worst = 0;
    let finite = true;
    for (let i = 0; i < 8; i++) {
      let s = 0;
      for (let k = 0; k < 10; k++) {
        s += probs[i * 10 + k];
        finite &&= Number.isFinite(probs[i * 10 + k]);
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
  const rows = [...example.rows, naiveVsIm2col(), ...gradientChecks(), ...presetChecks()];
  return { rows, pass: rows.every((r) => r.pass), example: example.output };
}
