export type ScheduleName = 'constant' | 'step' | 'cosine' | 'onecycle';
export const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'cosine', 'onecycle'];

/**
 * Learning rate at optimisation step t of T (0-based), for base rate lr:
 * - constant: lr throughout.
 * - step:     lr, then lr/10 from half way, lr/100 from three quarters.
 * - cosine:   lr·(1 + cos(π·t/T))/2, from lr down to 0.
 * - onecycle: as PyTorch's OneCycleLR: 30% warm-up from lr/25 to lr, then cosine
 *             annealing down to lr/25/10⁴ (lr is the peak).
 */
export function learningRate(schedule: ScheduleName, lr: number, t: number, T: number): number {
  const f = T <= 1 ? 0 : t / (T - 1);
  switch (schedule) {
    case 'constant':
      return lr;
    case 'step':
      return f < 0.5 ? lr : f < 0.75 ? lr / 10 : lr / 100;
    case 'cosine':
      return (lr * (1 + Math.cos(Math.PI * f))) / 2;
    case 'onecycle': {
      const start = lr / 25;
      const end = start / 1e4;
      const warm = 0.3;
      const anneal = (from: number, to: number, x: number) => to + ((from - to) * (1 + Math.cos(Math.PI * x))) / 2;
      return f < warm ? anneal(start, lr, f / warm) : anneal(lr, end, (f - warm) / (1 - warm));
    }
  }
}
