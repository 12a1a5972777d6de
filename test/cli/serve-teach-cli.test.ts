import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { saveModel } from '../../src/model/weights-file.js';
import { Random } from '../../src/random.js';
import type { SampleCounts } from '../../src/serve/samples.js';
import { runKconv, startServe } from '../helpers/cli.js';
import { digitPixels, tempDir } from '../helpers/digits.js';
import { modelOf } from '../helpers/models.js';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  dir = tempDir('kconv-teach-cli-');
  await saveModel(join(dir, 'm.json'), modelOf('conv4k5,relu,pool2,dense10', 1));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `kconv serve` in cwd; with --collect, resolves once it has said how it teaches. */
const serve = (cwd: string, args: string[]) =>
  startServe(['--weights', join(dir, 'm.json'), '--port', '0', ...args], { cwd, children, ready: args.includes('--collect') ? /teaching|collecting is off/ : undefined });

const sample = JSON.stringify({ pixels: digitPixels(3, new Random(1)), label: 3 });

describe('kconv serve --collect, the command', () => {
  it('without --collect writes nothing anywhere: the teach endpoints answer 404', async () => {
    const cwd = tempDir('kconv-teach-cwd-');
    const s = await serve(cwd, []);
    const r = await fetch(`http://127.0.0.1:${s.port}/api/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample });
    expect(r.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${s.port}/api/finetune`, { method: 'POST' })).status).toBe(404);
    s.child.kill('SIGTERM');
    await s.exit;
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['m.json']);
  });

  it('creates DIR, says so in one line, and refuses a second server on the same DIR in one line', async () => {
    const mine = join(tempDir('kconv-teach-two-'), 'a', 'b');
    const s = await serve(dir, ['--collect', mine]);
    expect(s.stderr()).toMatch(/\nkconv serve: teaching: 0 samples in .*b\/samples\.csv \(at most 10000\); fine-tunes replay nothing \(the model names no training file; give --replay FILE so a fine-tune keeps what the model knew\)\n$/);
    expect((await fetch(`http://127.0.0.1:${s.port}/api/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample })).status).toBe(201);
    const second = await runKconv(['serve', '--weights', join(dir, 'm.json'), '--port', '0', '--collect', mine]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^kconv: --collect .*b: another kconv run \(pid \d+\) is writing this file; .*\n$/);
    s.child.kill('SIGTERM');
    await s.exit;
    expect(readdirSync(mine)).toEqual(['samples.csv']);
  });

  it('refuses bad options in one line: --replay without --collect, a file as DIR, --max-samples 0, a --replay that is not labelled data', async () => {
    const file = join(dir, 'm.json');
    const unlabelled = join(tempDir('kconv-teach-rp-'), 'r.csv');
    writeFileSync(unlabelled, 'pixel0\n1\n');
    const cases: [string[], number, RegExp][] = [
      [['--replay', file], 2, /^kconv: --replay is for fine-tuning, which needs --collect DIR/],
      [['--collect', file], 1, /^kconv: --collect .*m\.json: cannot create the folder: a file is in the way/],
      [['--collect', join(dir, 'x'), '--max-samples', '0'], 2, /--max-samples must be a whole number 1–100000, got "0"/],
      [['--collect', join(dir, 'y'), '--replay', unlabelled], 1, /^kconv: .*r\.csv/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runKconv(['serve', '--weights', file, '--port', '0', ...args]);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('starts with collecting off when samples.csv is garbage, and says which line', async () => {
    const mine = join(tempDir('kconv-teach-bad-'), 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'samples.csv'), 'label,pixel0\n');
    const s = await serve(dir, ['--collect', mine]);
    expect(s.stderr()).toMatch(/\nkconv serve: collecting is off until samples\.csv is fixed: .*samples\.csv:1: the header is not label,pixel0,…,pixel783/);
    const r = await fetch(`http://127.0.0.1:${s.port}/api/samples`);
    expect(((await r.json()) as SampleCounts).problem).toMatch(/samples\.csv:1:/);
  });
});
