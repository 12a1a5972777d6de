import { Command } from 'commander';
import { runChecks, type CheckRow } from '../check/checks.js';
import type { Io } from './output.js';

export function checkCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('check')
    .description('sanity test: the article example, naive vs im2col convolution, numerical gradient checks of every layer')
    .option('--json', 'print the results as one JSON document')
    .addHelpText('after', '\nExample:\n  $ kconv check\n  $ kconv check --json | jq .pass\n')
    .action((opts: { json?: boolean }) => {
      const report = runChecks();
      if (opts.json) {
        io.out(JSON.stringify(report, (_k, v) => (v === Infinity ? 'Infinity' : v)) + '\n');
      } else {
        const [[a, b], [c, d]] = report.example;
        io.out(`Article example: [[1,0,0],[1,2,3],[3,4,5]] ⋆ [[1,0],[0,1]] =\n  [[${a}, ${b}],\n   [${c}, ${d}]]\n\n`);
        io.out(table(report.rows));
        const failed = report.rows.filter((r) => !r.pass).length;
        io.out(failed === 0 ? `\nAll ${report.rows.length} checks passed.\n` : `\n${failed} of ${report.rows.length} checks FAILED.\n`);
      }
      setExit(report.pass ? 0 : 1);
    });
}

function table(rows: CheckRow[]): string {
  const cells = rows.map((r) => [
    r.group,
    r.name,
    r.error === 0 ? '0' : r.error.toExponential(2),
    r.tolerance === 0 ? '0 (exact)' : r.tolerance.toExponential(0),
    r.pass ? 'PASS' : 'FAIL',
  ]);
  const head = ['group', 'check', 'worst error', 'tolerance', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd() + '\n';
  return line(head) + line(widths.map((w) => '-'.repeat(w))) + cells.map(line).join('');
}
