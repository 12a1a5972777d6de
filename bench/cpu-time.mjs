/**
 * What the micro benches (conv-layers and the A/B scripts) time with: this process's CPU
 * time, which a shared machine blurs less than the wall clock (another process's load takes
 * turns on the core, it does not add to our CPU time), and the load average to report beside it.
 */
import { readFileSync } from 'node:fs';

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
