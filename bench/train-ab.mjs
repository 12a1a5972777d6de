/**
 * End-to-end A/B of training speed: this checkout against another build (`--old DIR`, a
 * checkout with dist/ built, default /tmp/main-copy; see bench/dropout-ab.mjs), each
 * measurement bench/kconv-measure.mjs of its own side in a fresh process (the fastest
 * epoch after the first, batch 64, as `npm run bench`), in alternating rounds (old, new,
 * then new, old, …). Prints per net the median rate of each side and the median of the
 * rounds' ratios new/old (images/s: above 1 is faster) with min–max, and the load average
 * before and after every measurement. Also the CPU time of each measurement's whole process
 * (user + system, all threads, by /usr/bin/time when there is one: data loading, every epoch
 * and a short prediction, the same work on both sides) and the rounds' ratios old/new of it:
 * speed per core, which time given to other processes on a shared machine does not blur
 * the way it blurs a wall-clock rate.
 *
 *   node bench/train-ab.mjs [--old DIR] [--new DIR] [--nets wide,bn] [--threads 1] [--rounds 5] [--epochs 3] [--limit-3x3 2000]
 *
 * `--new DIR` (default: this checkout) measures a frozen copy instead, so rebuilding here
 * during a long run does not change the new side half way.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './stats.mjs';

const { values } = parseArgs({
  options: {
    old: { type: 'string', default: '/tmp/main-copy' }, new: { type: 'string', default: resolve(import.meta.dirname, '..') }, nets: { type: 'string', default: 'wide,bn' }, threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' }, epochs: { type: 'string', default: '3' }, 'limit-3x3': { type: 'string', default: '2000' },
  },
});
const here = import.meta.dirname;
const roots = { old: resolve(values.old), new: resolve(values.new) };
const dataDir = resolve(process.env.KCONV_DATA ?? join(here, '../../shared/data/kannada'));
const nets = values.nets.split(',');
const tmp = mkdtempSync(join(tmpdir(), 'kconv-train-ab-'));

function measure(sideName, net) {
  const job = {
    dataDir, net, epochs: +values.epochs, limit: net === 'wide' || net === 'bn' ? +values['limit-3x3'] : null,
    threads: +values.threads, predictImages: 256, out: join(tmp, `${sideName}-${net}.json`),
  };
  const argv = [process.execPath, join(roots[sideName], 'bench/kconv-measure.mjs'), JSON.stringify(job)];
  const p = timeAvailable ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', ...argv], { encoding: 'utf8' }) : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${sideName} ${net}: ${p.stderr}`);
  const r = JSON.parse(p.stdout.trim().split('\n').pop());
  const cpu = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(p.stderr);
  return { ...r.train, cpu: cpu ? +cpu[1] + +cpu[2] : NaN };
}

const timeAvailable = existsSync('/usr/bin/time');

const results = Object.fromEntries(nets.map((n) => [n, { old: [], new: [], ratio: [], loads: [], cpuOld: [], cpuNew: [], cpuRatio: [] }]));
for (let round = 0; round < +values.rounds; round++) {
  const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
  for (const net of nets) {
    const t = {};
    for (const s of order) {
      t[s] = measure(s, net);
      results[net][s].push(t[s].rate);
      results[net][s === 'old' ? 'cpuOld' : 'cpuNew'].push(t[s].cpu);
      results[net].loads.push(t[s].load_before, t[s].load_after);
    }
    results[net].ratio.push(t.new.rate / t.old.rate);
    results[net].cpuRatio.push(t.old.cpu / t.new.cpu);
    process.stderr.write(`round ${round + 1} ${net}: old ${t.old.rate.toFixed(0)}, new ${t.new.rate.toFixed(0)} images/s (${(t.new.rate / t.old.rate).toFixed(3)}); ` +
      `CPU s old ${t.old.cpu.toFixed(2)}, new ${t.new.cpu.toFixed(2)} (${(t.old.cpu / t.new.cpu).toFixed(3)})\n`);
  }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`training A/B, ${values.threads} thread(s), ${values.rounds} alternating rounds, old = ${roots.old}, new = ${roots.new}`);
for (const net of nets) {
  const r = results[net];
  const range = (a) => `${median(a).toFixed(3)} (${Math.min(...a).toFixed(3)}–${Math.max(...a).toFixed(3)})`;
  console.log(`${net}: old ${median(r.old).toFixed(0)}, new ${median(r.new).toFixed(0)} images/s; new/old ${range(r.ratio)}; ` +
    `CPU s old ${median(r.cpuOld).toFixed(2)}, new ${median(r.cpuNew).toFixed(2)}, old/new ${range(r.cpuRatio)}; load ${Math.min(...r.loads).toFixed(2)}–${Math.max(...r.loads).toFixed(2)}`);
}
