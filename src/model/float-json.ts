/**
 * The shortest decimal that reads back as exactly the same float32. JSON numbers are
 * float64; printing a float32 widened to float64 takes up to 17 digits, while 9 always
 * suffice to round-trip a float32, and most need fewer.
 */
export function float32ToString(x: number): string {
  if (x === 0) return '0';
  for (let digits = 6; digits < 9; digits++) {
    const s = x.toPrecision(digits);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/** A float32 array as a JSON array literal, values exact. */
export function float32ArrayToJson(a: Float32Array): string {
  let out = '[';
  for (let i = 0; i < a.length; i++) out += (i ? ',' : '') + float32ToString(a[i]);
  return out + ']';
}
