/**
 * kconv show as a process (bin/kconv.js, so the command must be registered in main.ts):
 * colours when wanted and none when piped, --out, one-line mistakes, --help. The pictures
 * and the command in this process are in test/unit/show.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, saveModel } from '../../src/model/weights-file.js';
import { createNetwork, formatArch, parseArch } from '../../src/net/index.js';
import { UPPER_HALF } from '../../src/show/terminal.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir, writeDigits } from '../helpers/digits.js';
import { TRAINING } from '../helpers/training-record.js';

const ARCH = formatArch(parseArch('default'));

let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = tempDir('kconv-show-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: ARCH, net: createNetwork('default', 1), training: TRAINING });
  writeDigits(dir, 'digits.csv', 30, 1, 'label');
});

const readPng = (path: string) => PNG.sync.read(readFileSync(path));

describe('kconv show through the CLI (needs the command registered in main.ts)', () => {
  const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });

  it('draws the digit in half blocks of 256-colour greys when colours are wanted (FORCE_COLOR), then the prediction', async () => {
    const r = await runKconv(['show', 'digits.csv', '--row', '2', '--weights', 'm.json'], { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache'), FORCE_COLOR: '1', NO_COLOR: '' } });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 14).filter((l) => l.replace(/\x1b\[[0-9;]*m/g, '') === UPPER_HALF.repeat(28))).toHaveLength(14);
    expect(lines[14]).toMatch(/^row 2 of digits\.csv: true \d, predicted \d/);
  });

  it('piped, draws the digit in plain characters: no escape codes reach a file', async () => {
    const r = await runKconv(['show', 'digits.csv', '--row', '2', '--weights', 'm.json'], { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache'), NO_COLOR: '', FORCE_COLOR: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 14).every((l) => l.length <= 28 && /^[ .:\-=+*#%@]*$/.test(l))).toBe(true);
    expect(lines.slice(0, 14).join('')).toMatch(/[#%@]/); // the bright stroke
    expect(lines[14]).toMatch(/^row 2 of digits\.csv: true \d, predicted \d/);
  });

  it('writes the PNG with --out', async () => {
    const r = await run(['show', '--curves', '--weights', 'm.json', '--out', 'cli-curves.png']);
    expect(r.code).toBe(0);
    expect(readPng(p('cli-curves.png')).width).toBeGreaterThan(300);
  });

  it('a usage mistake is one line and exit 2; a missing weights file exit 1', async () => {
    const bad = await run(['show', 'digits.csv', '--filters', '--out', 'f.png', '--weights', 'm.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^kconv: --filters draws from the weights file alone.*\n$/);
    const range = await run(['show', 'digits.csv', '--row', '99', '--weights', 'm.json']);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/^kconv: --row 99 is out of range/);
    const missing = await run(['show', '--filters', '--weights', 'nope.json', '--out', 'f.png']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^kconv: nope\.json: no such weights file/);
  });

  it('kconv show --help says rows are 0-based', async () => {
    const r = await run(['show', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0-based/);
  });
});
