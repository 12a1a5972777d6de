/**
 * What the micro benches (conv-layers and the A/B scripts) time with: this process's CPU
 * time, which a shared machine blurs less than the wall clock (another process's load takes
 * turns on the core, it does not add to our CPU time), and the load average to report beside it.
 */
import { readFileSync } from 'node:fs';
import { median } from './stats.mjs';

/** This process's user + system CPU time, in ms. */
export function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Best CPU ms per call of fn: after one warm-up call, `repeats` loops of at least minMs each. */
export function bestCpuMs(fn, minMs, repeats = 3) {
  fn();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    let calls = 0;
    const t0 = cpuMs();
    let t1 = t0;
    do {
      fn();
      calls++;
    } while ((t1 = cpuMs()) - t0 < minMs);
    best = Math.min(best, (t1 - t0) / calls);
  }
  return best;
}

/** The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them. */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * The A/B of a layer's forward and backward, old build against new, in alternating rounds
 * (old, new, then new, old, …): `setup(side, c)` builds case c on side 'old' or 'new' and
 * returns its { forward, backward } calls, each timed by bestCpuMs(fn, minMs). Per case:
 * the rounds' ratios new/old of forward (f), backward (b) and both (fb), and each side's ms
 * per round (f: forward, fb: both); the load average before the rounds and after each.
 */
export function forwardBackwardAB(rounds, cases, setup, minMs) {
  const results = cases.map(() => ({ f: [], b: [], fb: [], ms: { old: { f: [], fb: [] }, new: { f: [], fb: [] } } }));
  const loads = [loadAverage()];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    cases.forEach((c, k) => {
      const t = {};
      for (const side of order) {
        const calls = setup(side, c);
        t[side] = { f: bestCpuMs(calls.forward, minMs), b: bestCpuMs(calls.backward, minMs) };
        results[k].ms[side].f.push(t[side].f);
        results[k].ms[side].fb.push(t[side].f + t[side].b);
      }
      results[k].f.push(t.new.f / t.old.f);
      results[k].b.push(t.new.b / t.old.b);
      results[k].fb.push((t.new.f + t.new.b) / (t.old.f + t.old.b));
    });
    loads.push(loadAverage());
  }
  return { results, loads };
}

/** Rounds' values as "median (min–max)", two decimals. */
export function spread(values) {
  return `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
}
