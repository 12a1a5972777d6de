/**
 * The long comparison of the fast float32 formatter with the reference rule (too slow
 * for `npm test`, which runs a sample of it in test/unit/float-json.test.ts). Needs
 * `npm run build` first.
 *
 *   node test/sweeps/float-json.mjs [--random MILLIONS] [--binades LIST]
 *
 * Random 32-bit patterns (default 50 million; both signs, every exponent, subnormals),
 * then every pattern of the listed binades (biased exponents; default 0 = all
 * subnormals, 1, 103, 127 = [1, 2), 150 = the integers 2²³…2²⁴, 254 = the largest), then
 * ±5,000 patterns around every power of ten. Exit code 1 on any difference.
 */
import { float32ToString, float32ToStringReference } from '../../dist/model/float-json.js';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const randomCount = Number(value('--random', '50')) * 1e6;
const binades = value('--binades', '0,1,103,127,150,254').split(',').map(Number);

const u = new Uint32Array(1);
const f = new Float32Array(u.buffer);
let checked = 0;
let bad = 0;
function check(b) {
  u[0] = b >>> 0;
  const x = f[0];
  if (Number.isNaN(x)) return;
  checked++;
  const fast = float32ToString(x);
  const ref = float32ToStringReference(x);
  if (fast !== ref && bad++ < 20) console.log(`MISMATCH bits ${(b >>> 0).toString(16)}: ${fast} vs ${ref}`);
}

const t0 = performance.now();
let s = 12345;
for (let i = 0; i < randomCount; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  check(s ^ (s >>> 13));
}
console.log(`${randomCount.toLocaleString('en')} random patterns: ${bad} differences (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
for (const e of binades) {
  const t = performance.now();
  const before = bad;
  for (let m = 0; m < 1 << 23; m++) check((e << 23) | m);
  console.log(`binade ${e} (${(2 ** (e === 0 ? -149 : e - 127)).toExponential(2)}…), all 8,388,608 patterns: ${bad - before} differences (${((performance.now() - t) / 1000).toFixed(0)} s)`);
}
const before = bad;
for (let k = -45; k <= 38; k++) {
  f[0] = 10 ** k;
  const b = u[0];
  for (let d = -5000; d <= 5000; d++) {
    if (b + d > 0 && b + d < 0x7f800000) check(b + d);
  }
}
console.log(`±5,000 patterns around each power of ten: ${bad - before} differences`);
console.log(`${checked.toLocaleString('en')} values checked, ${bad} differences`);
process.exit(bad === 0 ? 0 : 1);
