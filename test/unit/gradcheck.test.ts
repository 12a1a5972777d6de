import { describe, expect, it } from 'vitest';
import { GRAD_TOLERANCE, NET_GRAD_TOLERANCE, runChecks } from '../../src/check/checks.js';
import { dropoutChecks, flattenChecks } from '../../src/check/layer-checks.js';
import { gradCheckLayer, gradCheckNetwork, randomDistinct } from '../../src/check/gradcheck.js';
import { BatchContext } from '../../src/layers/batch-context.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Dense } from '../../src/layers/dense.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten } from '../../src/layers/flatten.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { initHe, parseArch, Sequential } from '../../src/net/index.js';
import { Random } from '../../src/random.js';
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

/** Dropout whose backward forgets the mask: the gradient passes where the value was dropped. */
class UnmaskedDropout extends Dropout {
  override backward(dy: Tensor): Tensor | null {
    super.backward(dy);
    return dy;
  }
}

/** Dropout that still drops when predicting. */
class DropoutWhenPredicting extends Dropout {
  override forward(x: Tensor, _training: boolean): Tensor {
    return super.forward(x, true);
  }
}

/** Dropout that forgets to scale the survivors by 1/(1 − rate) (backward still does). */
class UnscaledDropout extends Dropout {
  override forward(x: Tensor, training: boolean): Tensor {
    const y = super.forward(x, training);
    if (training) for (let i = 0; i < y.data.length; i++) y.data[i] *= 1 - this.rate;
    return y;
  }
}

/**
 * Dropout with the comparison turned round: it keeps a value with probability `rate` and
 * drops the rest. Forward and backward agree (the gradient check passes) and survivors are
 * scaled as they should be: only the share dropped gives it away.
 */
class KeepsAtRate extends Dropout {
  private kept = new Float32Array(0);
  override forward(x: Tensor, training: boolean): Tensor {
    if (!training) return x;
    const per = x.data.length / x.shape[0];
    const random = new Random(0);
    this.kept = new Float32Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      if (i % per === 0) random.setState(this.maskSeed(i / per));
      this.kept[i] = random.next() < this.rate ? 1 / (1 - this.rate) : 0;
    }
    return { data: x.data.map((v, i) => v * this.kept[i]), shape: x.shape };
  }
  override backward(dy: Tensor): Tensor | null {
    return { data: dy.data.map((g, i) => g * this.kept[i]), shape: dy.shape };
  }
}

/** Flatten in H, W, C order (TensorFlow's): forward and backward agree, so only the order row sees it. */
class ChannelsLastFlatten extends Flatten {
  private permute(data: Float32Array, n: number, toLast: boolean): Float32Array {
    const [C, H, W] = this.inShape;
    const out = new Float32Array(data.length);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++)
        for (let p = 0; p < H * W; p++) {
          const chw = (i * C + c) * H * W + p, hwc = (i * H * W + p) * C + c;
          if (toLast) out[hwc] = data[chw];
          else out[chw] = data[hwc];
        }
    return out;
  }
  override forward(x: Tensor): Tensor {
    return { data: this.permute(x.data, x.shape[0], true), shape: [x.shape[0], ...this.outShape] };
  }
  override backward(dy: Tensor): Tensor | null {
    return { data: this.permute(dy.data, dy.shape[0], false), shape: [dy.shape[0], ...this.inShape] };
  }
}

/** Flatten whose backward hands the gradient back flat, not as [N, C, H, W]. */
class FlatBackwardFlatten extends Flatten {
  override backward(dy: Tensor): Tensor | null {
    return dy;
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

  it('dropout and flatten rows: correct layers pass, and each planted bug fails the row that guards against it', () => {
    const dropout = (D: typeof Dropout) => new D([3, 4, 5], 0.3, new BatchContext(), 0);
    const verdicts = (rows: { name: string; pass: boolean }[]) => Object.fromEntries(rows.map((r) => [r.name, r.pass]));
    const good = verdicts(dropoutChecks(dropout(Dropout)));
    expect(Object.values(good)).toEqual([true, true, true, true]);
    const [grad, scale, share, identity] = Object.keys(good);
    expect(verdicts(dropoutChecks(dropout(UnmaskedDropout)))[grad]).toBe(false);
    expect(verdicts(dropoutChecks(dropout(DropoutWhenPredicting)))[identity]).toBe(false);
    expect(verdicts(dropoutChecks(dropout(UnscaledDropout)))[scale]).toBe(false);
    // The gradient check cannot see a wrong mask; the share row can.
    expect(verdicts(dropoutChecks(dropout(KeepsAtRate)))).toEqual({ [grad]: true, [scale]: true, [share]: false, [identity]: true });

    const flatGood = flattenChecks(new Flatten([3, 4, 5]));
    expect(flatGood.map((r) => r.pass)).toEqual([true, true]);
    // A consistent wrong order passes the gradient check; the order row fails it.
    expect(flattenChecks(new ChannelsLastFlatten([3, 4, 5])).map((r) => r.pass)).toEqual([true, false]);
    expect(flattenChecks(new FlatBackwardFlatten([3, 4, 5]))[1].error).toBe(Infinity);
  });

  it('the full kconv check suite passes', () => {
    const report = runChecks();
    expect(report.rows.filter((r) => !r.pass).map((r) => r.name)).toEqual([]);
    expect(report.example).toEqual([[3, 3], [5, 7]]);
    expect(report.rows.length).toBeGreaterThan(20);
    // Every kind of layer has rows, dropout's and flatten's among them.
    expect(report.rows.filter((r) => /^(dropout|flatten) /.test(r.name)).map((r) => r.group)).toEqual(['gradient check', 'flatten', 'gradient check', 'dropout', 'dropout', 'dropout']);
  });
});
