/**
 * Float32 values as decimal text that reads back to exactly the same float32. JSON
 * numbers are float64; printing a float32 widened to float64 takes up to 17 digits,
 * while 9 always suffice to round-trip a float32, and most need fewer.
 *
 * The rule, as `float32ToStringReference` below states it in four lines: the value
 * rounded to 6, 7, then 8 significant digits (toPrecision: round half away from zero),
 * the first that reads back (Number, then Math.fround) to the same float32, else 9
 * digits; written as JavaScript writes that number (String(Number(…))). Weights files
 * must stay byte-identical, so the fast path computes exactly this, not a textbook
 * shortest representation (which differs now and then, e.g. at powers of two).
 *
 * The fast path works on the float32's value in doubles: the scaled value whose
 * rounding gives the digits, and the decimal's value to test the read-back, are each
 * computed with at most two roundings (relative error < 2.3·10⁻¹⁶). Where that error
 * could change an answer (a scaled value within 10⁻⁶ of a rounding tie, a decimal within
 * 10⁻¹⁵ of the midpoint between two float32 values: a few in a million), it falls back
 * to the reference. Decimals 10^q·n with |q| ≤ 22 are computed exactly as Number()
 * reads them (one correctly rounded operation on exact operands). Tested against the
 * reference on tens of millions of float32 bit patterns, every exponent, and
 * exhaustively over whole binades.
 */

/** The rule itself, slowly (toPrecision and Number per candidate): the yardstick. */
export function float32ToStringReference(x: number): string {
  if (x === 0) return '0';
  for (let digits = 6; digits < 9; digits++) {
    const s = x.toPrecision(digits);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/** 10^k as the nearest double, k in [−64, 64] (exact for 0 ≤ k ≤ 22). */
const POW10 = new Float64Array(129);
for (let k = -64; k <= 64; k++) POW10[k + 64] = Number(`1e${k}`);
const pow10 = (k: number) => POW10[k + 64];
/** 2^k, exact, k in [−160, 127]. */
const POW2 = new Float64Array(288);
for (let k = -160; k <= 127; k++) POW2[k + 160] = 2 ** k;
/** floor(log10(2^e)) for the binary exponents of float32 (−149 … 127), indexed by e + 149. */
const DECADE_OF_BINADE = new Int16Array(277);
for (let e = -149; e <= 127; e++) DECADE_OF_BINADE[e + 149] = Math.floor(e * Math.LOG10E * Math.LN2);
/** From 9-digit units to d-digit units (d = 9, 8, 7, 6). */
const SHIFT = [1, 0.1, 0.01, 0.001];

const bits32 = new Uint32Array(1);
const float32 = new Float32Array(bits32.buffer);

/**
 * Set by fastDigits: [0] the digits n (no sign, maybe with trailing zeros), [1] the
 * decimal exponent of the first digit. (A typed array: a number stored in a module
 * variable is boxed on every store.)
 */
const result = new Float64Array(2);

/**
 * In units of the last digit kept, the scaled values below are off by less than 10⁻⁷
 * (two or three roundings of numbers below 10⁹) and Number()'s own rounding moves a
 * decimal by less than 10⁻⁸: answers closer than this to a boundary go to the reference.
 */
const MARGIN = 1e-6;

/**
 * The reference rule's digits for a positive finite float32 a, into `result`;
 * false when doubles cannot decide and the reference must.
 *
 * With s the value in units of the d-th significant digit, toPrecision(d) gives
 * n = s rounded half up, and the decimal reads back to a exactly when it lies inside
 * a's rounding interval: n − s below half the gap to the next float32 up (in the same
 * units), s − n below half the gap down (a quarter of a step at a power of two).
 */
function fastDigits(a: number): boolean {
  float32[0] = a;
  const bits = bits32[0];
  const biased = bits >>> 23;
  // Binary exponent of a's leading bit, and its step (ulp) exponent.
  const e2 = biased === 0 ? 31 - Math.clz32(bits) - 149 : biased - 127;
  const ulpExp = biased === 0 ? -149 : biased - 150;
  // The decade from the binary exponent (off by at most one), then exact: comparisons
  // with the nearest double of 10^E are exact, as no float32 equals such a double unless
  // it is the power itself (checked by the tests).
  let E = DECADE_OF_BINADE[e2 + 149];
  while (a >= pow10(E + 1)) E++;
  while (a < pow10(E)) E--;
  const halfUp = POW2[ulpExp - 1 + 160];
  const halfDown = (bits & 0x7fffff) === 0 && biased > 1 ? POW2[ulpExp - 2 + 160] : halfUp;
  // Units of the 9th significant digit.
  const k = 8 - E;
  const p = k >= 0 ? pow10(k) : pow10(-k);
  const s9 = k >= 0 ? a * p : a / p;
  const up9 = k >= 0 ? halfUp * p : halfUp / p;
  const down9 = k >= 0 ? halfDown * p : halfDown / p;
  for (let d = 6; d <= 9; d++) {
    const shift = SHIFT[9 - d];
    const s = s9 * shift;
    const floor = Math.floor(s);
    const frac = s - floor;
    if (Math.abs(frac - 0.5) < MARGIN) return false;
    const n = frac > 0.5 ? floor + 1 : floor;
    if (d < 9) {
      const diff = n - s;
      const half = diff >= 0 ? up9 * shift : down9 * shift;
      const dist = diff >= 0 ? diff : -diff;
      if (dist > half + MARGIN) continue;
      if (dist >= half - MARGIN) return false;
    }
    if (n >= pow10(d)) {
      // rounded up into the next decade: 999999.7 → 1000000
      result[0] = pow10(d - 1);
      result[1] = E + 1;
    } else {
      result[0] = n;
      result[1] = E;
    }
    return true;
  }
  return false; // not reached: d = 9 always returns
}

const digitBuf = new Uint8Array(12);

/**
 * Writes the text of float32 x at out[pos], as float32ToStringReference would give it;
 * returns the position after it. `out` needs 24 bytes of room.
 */
function writeFloat32(x: number, out: Uint8Array, pos: number): number {
  if (x === 0) {
    out[pos] = 48; // '0'
    return pos + 1;
  }
  const a = x < 0 ? -x : x;
  if (!(a < Infinity) || Math.fround(x) !== x || !fastDigits(a)) {
    const s = float32ToStringReference(x);
    for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
    return pos + s.length;
  }
  if (x < 0) out[pos++] = 45; // '-'
  let n = result[0] | 0; // < 10⁹
  while (n % 10 === 0) n = (n / 10) | 0;
  let k = 0;
  while (n > 0) {
    const q = (n / 10) | 0;
    digitBuf[k++] = 48 + n - q * 10;
    n = q;
  }
  // digitBuf holds the k digits last first; the first digit's place is 10^result[1].
  const point = result[1] + 1; // digits before the decimal point, as Number::toString counts them
  if (point >= k && point <= 21) {
    for (let i = k - 1; i >= 0; i--) out[pos++] = digitBuf[i];
    for (let i = k; i < point; i++) out[pos++] = 48;
  } else if (point > 0 && point <= 21) {
    for (let i = k - 1; i >= k - point; i--) out[pos++] = digitBuf[i];
    out[pos++] = 46; // '.'
    for (let i = k - point - 1; i >= 0; i--) out[pos++] = digitBuf[i];
  } else if (point > -6 && point <= 0) {
    out[pos++] = 48;
    out[pos++] = 46;
    for (let i = point; i < 0; i++) out[pos++] = 48;
    for (let i = k - 1; i >= 0; i--) out[pos++] = digitBuf[i];
  } else {
    out[pos++] = digitBuf[k - 1];
    if (k > 1) {
      out[pos++] = 46;
      for (let i = k - 2; i >= 0; i--) out[pos++] = digitBuf[i];
    }
    out[pos++] = 101; // 'e'
    const e = point - 1;
    out[pos++] = e < 0 ? 45 : 43; // '-' or '+'
    const abs = e < 0 ? -e : e;
    if (abs >= 10) out[pos++] = 48 + ((abs / 10) | 0);
    out[pos++] = 48 + (abs % 10);
  }
  return pos;
}

const one = new Uint8Array(32);

/** The shortest decimal (by the rule above) that reads back as exactly the same float32. */
export function float32ToString(x: number): string {
  const end = writeFloat32(x, one, 0);
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(one[i]);
  return s;
}

/** Output bytes, kept between calls: a fresh 10 MB array per call costs more in page faults than the formatting. */
let scratch = Buffer.alloc(0);

/** A float32 array as a JSON array literal, values exact. */
export function float32ArrayToJson(a: Float32Array): string {
  const end = writeFloat32Array(a);
  return scratch.toString('latin1', 0, end);
}

/** The same text as bytes (ASCII), a copy: the weights file is assembled from these without strings. */
export function float32ArrayToJsonBytes(a: Float32Array): Buffer {
  const end = writeFloat32Array(a);
  return Buffer.from(scratch.subarray(0, end));
}

/** Writes `[v0,v1,…]` into the scratch buffer; returns its length. */
function writeFloat32Array(a: Float32Array): number {
  const need = 24 * a.length + 2;
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(need);
  const out = scratch;
  let pos = 0;
  out[pos++] = 91; // '['
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out[pos++] = 44; // ','
    pos = writeFloat32(a[i], out, pos);
  }
  out[pos++] = 93; // ']'
  return pos;
}
