/**
 * kconv train's refusals, in this process: bad options and specs are one line and exit 2,
 * before any work. Training runs (on worker threads by default) and Ctrl-C to a process
 * are in test/cli/train-cli.test.ts.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inProcessIn } from '../helpers/in-process.js';
import { tempDir, writeDigits } from '../helpers/digits.js';

let dir: string;
let data: string;
const run = inProcessIn(() => dir, () => ({ XDG_CACHE_HOME: join(dir, 'cache') }));

beforeAll(() => {
  dir = tempDir();
  data = writeDigits(dir, 'digits.csv', 400, 1);
});

describe('kconv train', () => {
  it('rejects bad options and bad specs with one line and exit code 2', async () => {
    for (const [args, pattern] of [
      [['--epochs', '0'], /--epochs must be a whole number ≥ 1, got "0"/],
      [['--lr', 'fast'], /--lr must be a number > 0, got "fast"/],
      [['--optimizer', 'rmsprop'], /--optimizer must be one of sgd, momentum, adam/],
      [['--val-split', '1'], /--val-split must be a number ≥ 0 and < 1/],
      [['--arch', 'conv8k5,relu,pol2,dense10'], /token 3 "pol2" is not a layer/],
      [['--arch', 'conv8k5,dense4'], /ends in 4 outputs: the last layer must be dense10/],
    ] as Array<[string[], RegExp]>) {
      const r = await run(['train', data, ...args]);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
    }
  });
});
