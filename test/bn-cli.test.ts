/**
 * A net with batch normalization through the CLI: the checkpoint carries the running
 * statistics, so a resumed run equals an uninterrupted one bit for bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModel } from '../src/model/weights-file.js';
import { runKconv } from './helpers/cli.js';
import { tempDir, writeDigits } from './helpers/digits.js';

let dir: string;
let data: string;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });
const ARGS = ['--arch', 'conv4k3p1,bn,relu,avgpool2,dense16,bn,relu,dense10', '--batch-size', '16', '--lr-schedule', 'constant', '--threads', '1', '--no-val'];

beforeAll(() => {
  dir = tempDir('kconv-bn-cli-');
  data = writeDigits(dir, 'digits.csv', 240, 5);
});

describe('kconv train with batch normalization', () => {
  it('2 epochs, then --resume to 3, equals 3 uninterrupted epochs, running statistics included', async () => {
    const [straight, two] = await Promise.all([
      run(['train', data, ...ARGS, '--epochs', '3', '--out', 'three.json']),
      run(['train', data, ...ARGS, '--epochs', '2', '--out', 'two.json']),
    ]);
    expect(straight.code, straight.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const resumed = await run(['train', data, '--resume', 'two.json', '--epochs', '3']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const a = parseModel(readFileSync(join(dir, 'three.json'), 'utf8'), 'three.json');
    const b = parseModel(readFileSync(join(dir, 'two.json'), 'utf8'), 'two.json');
    expect(b.training!.history).toHaveLength(3);
    const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    expect(b.net.state().map(bits)).toEqual(a.net.state().map(bits));
    expect(a.net.buffers().map((x) => x.name)).toEqual(['runningMean', 'runningVar', 'runningMean', 'runningVar']);
    expect(a.training!.history[2].loss).toBeLessThan(a.training!.history[0].loss);
  });
});
