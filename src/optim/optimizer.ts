import type { Param } from '../layers/layer.js';

/** The optimizers kconv has: the one list --optimizer, weights files and the type come from. */
export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerConfig {
  name: OptimizerName;
  /** Momentum μ (momentum) or β1 (adam). */
  momentum: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to each gradient as weightDecay · w (as torch.optim does). */
  weightDecay: number;
}

export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.05, momentum: 0.05, adam: 0.001 };

export function optimizerConfig(name: OptimizerName, weightDecay = 0): OptimizerConfig {
  return { name, momentum: name === 'adam' ? 0.9 : name === 'momentum' ? 0.9 : 0, beta2: 0.999, eps: 1e-8, weightDecay };
}

/** Arrays an optimizer keeps between steps, one per parameter, saved in checkpoints. */
export interface OptimizerState {
  step: number;
  /** momentum: velocity; adam: first moment. */
  m: Float32Array[];
  /** adam: second moment. */
  v: Float32Array[];
  /**
   * With --ema the weights file holds the average; these are the live weights (every
   * parameter, then every buffer, as Sequential.state()) and the average's update count,
   * so a resume continues both.
   */
  live?: Float32Array[];
  emaUpdates?: number;
}

/**
 * Gradient-descent updates, PyTorch's formulas so recipes carry over:
 * - sgd:      w −= lr·g
 * - momentum: b = μ·b + g;  w −= lr·b
 * - adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lr·m̂ / (√v̂ + ε)
 * with g = grad + weightDecay·w.
 */
export class Optimizer {
  readonly state: OptimizerState;
  /**
   * The leading parameters left as they are (fine-tuning's frozen layers): no step and no
   * weight decay. Their state arrays stay (zeros), so a checkpoint still holds one per parameter.
   */
  frozenParams = 0;

  constructor(readonly config: OptimizerConfig, readonly params: Param[], state?: OptimizerState) {
    const zeros = () => params.map((p) => new Float32Array(p.value.length));
    this.state = state ?? {
      step: 0,
      m: config.name === 'sgd' ? [] : zeros(),
      v: config.name === 'adam' ? zeros() : [],
    };
  }

  step(lr: number): void {
    const { name, momentum, beta2, eps, weightDecay } = this.config;
    const t = ++this.state.step;
    const bias1 = 1 - Math.pow(momentum, t);
    const bias2 = 1 - Math.pow(beta2, t);
    this.params.forEach((p, k) => {
      if (k < this.frozenParams) return;
      const w = p.value;
      const g = p.grad;
      if (name === 'sgd') {
        for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] + weightDecay * w[i]);
      } else if (name === 'momentum') {
        const b = this.state.m[k];
        // PyTorch starts the buffer at the first gradient, not at zero: same thing for b = 0.
        for (let i = 0; i < w.length; i++) {
          b[i] = momentum * b[i] + g[i] + weightDecay * w[i];
          w[i] -= lr * b[i];
        }
      } else {
        const m = this.state.m[k];
        const v = this.state.v[k];
        const stepSize = lr / bias1;
        const sqrtBias2 = Math.sqrt(bias2);
        for (let i = 0; i < w.length; i++) {
          const gi = g[i] + weightDecay * w[i];
          m[i] = momentum * m[i] + (1 - momentum) * gi;
          v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
          w[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBias2 + eps);
        }
      }
    });
  }
}
