/**
 * A row of `kconv check` and the tolerances of the gradient checks: what checks.ts and the
 * per-layer table (layer-checks.ts) both build their rows from.
 */
import type { GradResult } from './gradcheck.js';

/** One row of `kconv check`: a named check, its worst error, the tolerance, verdict. */
export interface CheckRow {
  readonly group: string;
  readonly name: string;
  readonly error: number;
  readonly tolerance: number;
  readonly pass: boolean;
  readonly detail?: string;
}

/**
 * Gradients of single layers: float32 forward passes, float64 loss sums, steps on
 * which these layers are exactly (piecewise) linear: correct ones agree to ~1e-4,
 * a gradient scaled by 1.01 is off by 1e-2.
 */
export const GRAD_TOLERANCE = 1e-3;

export function row(group: string, name: string, error: number, tolerance: number, detail?: string): CheckRow {
  return { group, name, error, tolerance, pass: error <= tolerance, detail };
}

/** One 'gradient check' row per gradient compared (input, then each parameter). */
export function gradRows(name: string, results: GradResult[], tolerance = GRAD_TOLERANCE, about = ''): CheckRow[] {
  return results.map((r) => row('gradient check', `${name}: d/d ${r.of}`, r.error, tolerance, `${about}${r.coordinates} coordinates${r.kinks ? `, ${r.kinks} at kinks skipped` : ''}`));
}
