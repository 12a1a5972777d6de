import { quoted } from './data-error.js';

/**
 * Field values parsed straight from csv-parse's strings with a charCode loop:
 * Number()/parseInt accept "1.0", " 7", "0x1f" and "", which must be errors here,
 * and a loop is faster. Each returns -1 for a bad value (the message is built
 * separately, on the slow path, by describeBadValue).
 */

/** A decimal integer 0..max, or -1. */
export function parseUint(s: string, max: number): number {
  const len = s.length;
  if (len === 0) return -1;
  let v = 0;
  for (let k = 0; k < len; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > max) return -1;
  }
  return v;
}

export const MAX_PIXEL = 255;
export const MAX_LABEL = 9;
export const MAX_ID = 0x7fffffff;

/** What is wrong with a value that parseUint rejected, e.g. `"abc" is not an integer 0–255`. */
export function describeBadValue(s: string, max: number): string {
  const range = max === MAX_ID ? 'a non-negative integer' : `an integer 0–${max}`;
  if (s === '') return `field is empty; expected ${range}`;
  if (/^-\d+$/.test(s)) return `${s} is negative; expected ${range}`;
  if (/^\d+$/.test(s)) return `${s} is out of range; expected ${range}`;
  return `${quoted(s)} is not ${range}`;
}
