/**
 * kconv on image files as a process: a file that is no image ends the real process with
 * one line and exit 1. What it reads and writes, in this process, is in
 * test/unit/image-cli.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, saveModel } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';

let dir: string;
const p = (...parts: string[]) => join(dir, ...parts);

beforeAll(async () => {
  dir = tempDir('kconv-images-');
  await saveModel(p('m.json'), { input: DEFAULT_INPUT, arch: 'conv4k5,relu,pool2,dense10', net: createNetwork('conv4k5,relu,pool2,dense10', 1) });
  writeFileSync(p('not-an-image.png'), 'label,pixel0\n');
});

describe('kconv predict on image files', () => {
  it('the kconv process itself prints one line and exits 1 for a file that is no image', async () => {
    const r = await runKconv(['predict', p('not-an-image.png'), '--weights', p('m.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not-an-image\.png: not a PNG or JPEG image/);
  });
});
