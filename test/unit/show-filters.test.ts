/**
 * `kconv show --filters` on a wide net (issue "nothing lost, nothing silently wrong",
 * item 27): the first conv layer by default with a note on the others, --layer N, and a
 * bounded picture for the largest layer. Each test failed on the code before its fix.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, saveModel } from '../../src/model/weights-file.js';
import { createNetwork, formatArch, parseArch } from '../../src/net/index.js';
import { renderFilters } from '../../src/show/filters.js';
import { tempDir } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';

describe('show --filters on a wide net', () => {
  let dir: string;
  let wide: string;
  beforeAll(async () => {
    dir = tempDir('kconv-filters-');
    wide = path.join(dir, 'wide.json');
    // The wide preset's four conv layers (7,200 filter tiles), without its large dense layers.
    const arch = 'conv32k3p1,relu,conv32k3p1,relu,pool2,conv64k3p1,relu,conv64k3p1,relu,pool2,dense10';
    await saveModel(wide, { input: DEFAULT_INPUT, arch: formatArch(parseArch(arch)), net: createNetwork(arch, 1) });
  });
  const png = (file: string) => PNG.sync.read(readFileSync(file));

  it('draws the first conv layer by default, and says how to get the others', async () => {
    const out = path.join(dir, 'f.png');
    const r = await kconv(['show', '--weights', wide, '--filters', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kconv: the network has 4 conv layers with 7,200 filter tiles in all: drawing conv1; --layer N draws conv layer N, --layer all every one\n');
    expect(png(out).height).toBeLessThan(1500);
  });

  it('--layer N draws that layer alone; --layer out of range is a usage error', async () => {
    const small = path.join(dir, 'small.json');
    await saveModel(small, { input: DEFAULT_INPUT, arch: 'conv2k5,relu,conv3k3,relu,pool2,dense10', net: createNetwork('conv2k5,relu,conv3k3,relu,pool2,dense10', 1) });
    const out = path.join(dir, 'f2.png');
    const r = await kconv(['show', '--weights', small, '--filters', '--layer', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/: the filters of conv layer 2 of 2\n$/);
    const all = await kconv(['show', '--weights', small, '--filters', '--out', path.join(dir, 'f-all.png')]);
    expect(all.code, all.stderr).toBe(0);
    expect(png(out).height).toBeLessThan(png(path.join(dir, 'f-all.png')).height);
    const bad = await kconv(['show', '--weights', small, '--filters', '--layer', '9', '--out', out]);
    expect(bad.stderr).toBe(`kconv: --layer 9: ${small} has 2 conv layers; give a number from 1 to 2, or all\n`);
    expect(bad.code).toBe(2);
  });

  it('the largest layer of the wide net (64 filters over 64 channels) is drawn at a bounded size', () => {
    const { canvas } = renderFilters(createNetwork('wide', 1), 'wide.json', 'wide', { layers: [3] });
    expect(canvas.width).toBeLessThan(1600);
    expect(canvas.height).toBeLessThan(4000);
  });
});
