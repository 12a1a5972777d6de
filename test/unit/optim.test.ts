import { describe, expect, it } from 'vitest';
import { param } from '../../src/layers/layer.js';
import { Optimizer, optimizerConfig } from '../../src/optim/optimizer.js';
import { learningRate } from '../../src/optim/schedule.js';

function oneParam(w: number[], g: number[]) {
  return param('weight', [w.length], Float32Array.from(w), Float32Array.from(g));
}

describe('optimizers, one step against hand-computed numbers', () => {
  it('sgd: w − lr·g, with weight decay added to the gradient', () => {
    const p = oneParam([1, -2], [0.5, 0.25]);
    new Optimizer(optimizerConfig('sgd', 0.1), [p]).step(0.1);
    // g' = g + 0.1·w = [0.6, 0.05]; w − 0.1·g' = [0.94, −2.005]
    expect(p.value[0]).toBeCloseTo(0.94, 6);
    expect(p.value[1]).toBeCloseTo(-2.005, 6);
  });

  it('momentum: b = 0.9·b + g, w −= lr·b (PyTorch), over two steps', () => {
    const p = oneParam([1], [0.5]);
    const opt = new Optimizer(optimizerConfig('momentum'), [p]);
    opt.step(0.1); // b = 0.5, w = 0.95
    expect(p.value[0]).toBeCloseTo(0.95, 6);
    p.grad[0] = 1;
    opt.step(0.1); // b = 0.45 + 1 = 1.45, w = 0.95 − 0.145 = 0.805
    expect(opt.state.m[0][0]).toBeCloseTo(1.45, 6);
    expect(p.value[0]).toBeCloseTo(0.805, 6);
  });

  it('adam: bias-corrected moments; the first step moves each weight by about lr', () => {
    const p = oneParam([1, 1], [0.5, -3]);
    const opt = new Optimizer(optimizerConfig('adam'), [p]);
    opt.step(0.01);
    // m̂ = g, v̂ = g², step = lr·g/(|g| + ε) ≈ ±lr
    expect(p.value[0]).toBeCloseTo(0.99, 6);
    expect(p.value[1]).toBeCloseTo(1.01, 6);
    p.grad.set([0.5, 1]);
    opt.step(0.01);
    // second coordinate: m = 0.1·(0.9·−3·... ) computed by hand:
    const m1 = 0.9 * (0.1 * -3) + 0.1 * 1; // −0.17
    const v1 = 0.999 * (0.001 * 9) + 0.001 * 1; // 0.009991
    const mhat = m1 / (1 - 0.81);
    const vhat = v1 / (1 - 0.999 ** 2);
    expect(p.value[1]).toBeCloseTo(1.01 - (0.01 * mhat) / (Math.sqrt(vhat) + 1e-8), 6);
  });
});

describe('learning-rate schedules', () => {
  it('constant, step, cosine and one-cycle have the documented shape', () => {
    expect(learningRate('constant', 0.1, 50, 100)).toBe(0.1);
    expect(learningRate('step', 0.1, 10, 101)).toBe(0.1);
    expect(learningRate('step', 0.1, 60, 101)).toBeCloseTo(0.01, 10);
    expect(learningRate('step', 0.1, 90, 101)).toBeCloseTo(0.001, 10);
    expect(learningRate('cosine', 0.1, 0, 101)).toBeCloseTo(0.1, 10);
    expect(learningRate('cosine', 0.1, 50, 101)).toBeCloseTo(0.05, 10);
    expect(learningRate('cosine', 0.1, 100, 101)).toBeCloseTo(0, 10);
    expect(learningRate('onecycle', 0.1, 0, 101)).toBeCloseTo(0.004, 10);
    expect(learningRate('onecycle', 0.1, 30, 101)).toBeCloseTo(0.1, 10);
    expect(learningRate('onecycle', 0.1, 100, 101)).toBeCloseTo(0.004 / 1e4, 10);
  });
});
