import { describe, expect, it } from 'vitest';
import { GRAD_TOLERANCE, NET_GRAD_TOLERANCE, runChecks } from '../../src/check/checks.js';
import { gradCheckLayer, gradCheckNetwork, randomDistinct } from '../../src/check/gradcheck.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dense } from '../../src/layers/dense.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { initHe, parseArch, Sequential } from '../../src/net/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const worst = (results: { error: number }[]) => Math.max(...results.map((r) => r.error));

/** A conv layer whose weight gradient is 1% too large. */
class ScaledGradConv extends Conv2d {
  override backward(dy: Tensor): Tensor | null {
    const dx = super.backward(dy);
    for (let i = 0; i < this.weightGrad.length; i++) this.weightGrad[i] *= 1.01;
    return dx;
  }
}

/** A conv layer whose weight gradient has every k×k kernel flipped (a classic bug). */
class FlippedGradConv extends Conv2d {
  override backward(dy: Tensor): Tensor | null {
    const dx = super.backward(dy);
    const kk = this.kernel * this.kernel;
    for (let o = 0; o < this.weightGrad.length; o += kk) this.weightGrad.subarray(o, o + kk).reverse();
    return dx;
  }
}

/** A conv layer whose input gradient comes back 1% too small. */
class ScaledInputGradConv extends Conv2d {
  override backward(dy: Tensor): Tensor | null {
    const dx = super.backward(dy);
    if (dx) for (let i = 0; i < dx.data.length; i++) dx.data[i] *= 0.99;
    return dx;
  }
}

/** Max-pool that sends the gradient to the window's first element, not its maximum. */
class WrongPool extends MaxPool2d {
  override backward(dy: Tensor): Tensor | null {
    const dx = super.backward(dy)!;
    dx.data.fill(0);
    const [, OH, OW] = this.outShape;
    const [C, H, W] = this.inShape;
    for (let p = 0; p < dy.shape[0] * C; p++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) dx.data[p * H * W + oy * 2 * W + ox * 2] += dy.data[(p * OH + oy) * OW + ox];
    return dx;
  }
}

const convOpts = { inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: 1 };

describe('gradient check', () => {
  it('passes correct layers well inside the tolerance', () => {
    expect(worst(gradCheckLayer(new Conv2d([2, 6, 5], convOpts)))).toBeLessThan(GRAD_TOLERANCE / 3);
    expect(worst(gradCheckLayer(new Dense([12], 5)))).toBeLessThan(GRAD_TOLERANCE / 3);
  });

  it('reports FAIL for a weight gradient scaled by 1.01', () => {
    const r = gradCheckLayer(new ScaledGradConv([2, 6, 5], convOpts));
    expect(r.find((x) => x.of === 'weight')!.error).toBeGreaterThan(GRAD_TOLERANCE * 5);
    expect(r.find((x) => x.of === 'input')!.error).toBeLessThan(GRAD_TOLERANCE);
  });

  it('reports FAIL for flipped kernels in the weight gradient', () => {
    const r = gradCheckLayer(new FlippedGradConv([2, 6, 5], convOpts));
    expect(r.find((x) => x.of === 'weight')!.error).toBeGreaterThan(0.1);
  });

  it('reports FAIL for an input gradient scaled by 0.99', () => {
    const r = gradCheckLayer(new ScaledInputGradConv([2, 6, 5], convOpts));
    expect(r.find((x) => x.of === 'input')!.error).toBeGreaterThan(GRAD_TOLERANCE * 5);
  });

  it('reports FAIL for pooling that routes the gradient to the wrong place', () => {
    expect(worst(gradCheckLayer(new WrongPool([1, 4, 4], 2), { input: randomDistinct([2, 1, 4, 4]) }))).toBeGreaterThan(0.5);
  });

  it('catches a 1% error inside a whole network', () => {
    const net = new Sequential(parseArch('conv4k3p1,relu,pool2,conv6k3,relu,pool2,dense10'), [1, 8, 8]);
    initHe(net, 1);
    expect(worst(gradCheckNetwork(net))).toBeLessThan(NET_GRAD_TOLERANCE);
    const conv = net.layers[3] as Conv2d;
    const original = conv.backward.bind(conv);
    conv.backward = (dy) => {
      const dx = original(dy);
      for (let i = 0; i < conv.weightGrad.length; i++) conv.weightGrad[i] *= 1.01;
      return dx;
    };
    const r = gradCheckNetwork(net);
    expect(r.find((x) => x.of === 'layer 4 conv2d weight')!.error).toBeGreaterThan(NET_GRAD_TOLERANCE);
  });

  it('the full kconv check suite passes', () => {
    const report = runChecks();
    expect(report.rows.filter((r) => !r.pass).map((r) => r.name)).toEqual([]);
    expect(report.example).toEqual([[3, 3], [5, 7]]);
    expect(report.rows.length).toBeGreaterThan(20);
  });
});
