/**
 * Start-up as a process: with a module hook, which modules `kconv predict` and
 * `kconv --help` load, and that --help and a mistyped command still work. Which commands
 * a command line loads (commandsFor) is in test/unit/cli-startup.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These go through bin/kconv.js, so they need a build (npm test builds first).
const BIN = fileURLToPath(new URL('../../bin/kconv.js', import.meta.url));
const PICTURE = fileURLToPath(new URL('../../examples/digit.png', import.meta.url));
const WEIGHTS = fileURLToPath(new URL('../fixtures/v1-seed.json', import.meta.url));

/** A module hook that prints every module the process resolves, one `LOADED url` line on stderr. */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }'));
`)}`;

function modulesLoadedBy(args: string[]): string[] {
  const p = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { encoding: 'utf8' });
  expect(p.status).toBe(0);
  return p.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length));
}

/** What predicting a picture never needs: the CSV and idx readers, the pictures' canvas and font. */
const READERS_AND_CANVAS = /node_modules\/csv-parse\/|dist\/data\/(read|read-csv|idx)\.js|dist\/show\/(canvas|font)\.js/;

const HEAVY = /node_modules\/(fastify|onnx-buf|@bufbuild|cli-progress)\/|dist\/(serve\/server|export\/onnx|train\/trainer|show\/activations)\.js/;

describe('start-up: a command loads only its own modules', () => {
  it('kconv predict does not load fastify, the ONNX schema, the trainer or the progress bars; kconv --help does', () => {
    const predict = modulesLoadedBy(['predict', '--help']);
    expect(predict.some((u) => u.endsWith('dist/cli/predict.js'))).toBe(true);
    expect(predict.filter((u) => HEAVY.test(u))).toEqual([]);
    // The same hook sees them when every command is loaded: the check above can fail.
    const help = modulesLoadedBy(['--help']);
    expect(help.filter((u) => HEAVY.test(u)).length).toBeGreaterThanOrEqual(4);
  });

  it('kconv --help still lists every command, and a mistyped one still gets a suggestion', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    for (const name of ['check', 'train', 'predict', 'evaluate', 'export', 'show', 'serve', 'info', 'download']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
    const typo = spawnSync(process.execPath, [BIN, 'predcit'], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('predict');
  });

  it('kconv predict one.png loads neither the CSV readers nor the canvas; a CSV loads the readers', () => {
    const picture = modulesLoadedBy(['predict', PICTURE, '--weights', WEIGHTS]);
    expect(picture.some((u) => u.endsWith('dist/predict/predict.js'))).toBe(true);
    expect(picture.filter((u) => READERS_AND_CANVAS.test(u))).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'kconv-startup-'));
    try {
      const csv = join(dir, 'one.csv');
      writeFileSync(csv, `label,${Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',')}\n3,${new Array(784).fill(0).join(',')}\n`);
      const table = modulesLoadedBy(['predict', csv, '--weights', WEIGHTS]);
      expect(table.filter((u) => /node_modules\/csv-parse\/|dist\/data\/read\.js/.test(u)).length).toBeGreaterThanOrEqual(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
