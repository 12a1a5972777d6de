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
 * gives bit for bit what the model gives alone.
 */
export function ensembleMean(members: readonly Float32Array[]): Float32Array {
  if (members.length === 0) throw new RangeError('an ensemble mean needs at least one member');
  if (members.length === 1) return members[0];
  const length = members[0].length;
  const sum = new Float64Array(length);
  for (const p of members) {
    if (p.length !== length) throw new RangeError(`ensemble members give ${length} and ${p.length} probabilities`);
    for (let i = 0; i < length; i++) sum[i] += p[i];
  }
  const mean = new Float32Array(length);
  for (let i = 0; i < length; i++) mean[i] = sum[i] / members.length;
  return mean;
}
