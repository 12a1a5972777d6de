/**
 * An ensemble's probabilities: the mean of its members', the one way `kconv predict` and
 * `kconv serve` both average them.
 *
 *   p[i] = fround( (Σ_m p_m[i]) / K )        K members, the sum in float64
 *
 * Summed in double precision and rounded to float32 once, so the mean depends on the
 * members' order only as much as a float64 sum does (almost never visibly in float32),
 * and two members give exactly fround((a + b) / 2). One member is its own mean: its
 * array comes back as it is (fround(a / 1) = a for a float32 a), so an ensemble of one
 * gives bit for bit what the model gives alone. Members are added one at a time, so
 * `kconv predict` holds one running sum, not K arrays of n×10 (38 MB at 16 models of 60,000
 * images, against 5 MB).
 */
export class EnsembleMean {
  /** The first member, returned as it is when it stays the only one. */
  private first: Float32Array | null = null;
  /** Σ_m p_m in float64, from the second member on (one n×10 array however many members). */
  private sum: Float64Array | null = null;
  private count = 0;

  add(p: Float32Array): void {
    if (this.first === null) {
      this.first = p;
    } else {
      if (p.length !== this.first.length) throw new RangeError(`ensemble members give ${this.first.length} and ${p.length} probabilities`);
      if (this.sum === null) this.sum = Float64Array.from(this.first);
      for (let i = 0; i < p.length; i++) this.sum[i] += p[i];
    }
    this.count++;
  }

  mean(): Float32Array {
    if (this.first === null) throw new RangeError('an ensemble mean needs at least one member');
    if (this.sum === null) return this.first;
    const mean = new Float32Array(this.sum.length);
    for (let i = 0; i < mean.length; i++) mean[i] = this.sum[i] / this.count;
    return mean;
  }
}

/** The mean of members given all at once (serve's, whose batches are small). */
export function ensembleMean(members: readonly Float32Array[]): Float32Array {
  const mean = new EnsembleMean();
  for (const p of members) mean.add(p);
  return mean.mean();
}
