/**
 * `kconv info`: the layer table (tokens, shapes, parameters as PyTorch counts them,
 * multiply-adds), the preprocessing and the training story; run in-process through the
 * CLI's main() (no process spawned).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_INPUT, stringifyModel } from '../../src/model/weights-file.js';
import { createNetwork } from '../../src/net/index.js';
import { summarizeArch } from '../../src/model/summary.js';
import { tempDir } from '../helpers/digits.js';
import { kconv } from '../helpers/in-process.js';

const dir = tempDir('kconv-info-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kconv info', () => {
  it('counts the bn preset\'s parameters as PyTorch does: 468,138', async () => {
    // By hand, convs bias-free (bn follows), bn 2 per channel (γ, β; running statistics are buffers):
    //   conv32k3p1  1·32·9   =     288   bn 64
    //   conv32k3p1  32·32·9  =   9,216   bn 64
    //   conv64k3p1  32·64·9  =  18,432   bn 128
    //   conv64k3p1  64·64·9  =  36,864   bn 128
    //   dense128    3136·128 = 401,408   bn 256      (64×7×7 = 3136 inputs, bias-free)
    //   dense10     128·10 + 10 = 1,290
    //   466,208 + 1,290 + 640 = 468,138 (../shared/anchors: torch_ref.py --arch bn has 468,138).
    const r = await kconv(['info', '--arch', 'bn', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.totals.params).toBe(468_138);
    expect(s.layers.map((l: { params: number }) => l.params).filter((p: number) => p > 0)).toEqual([288, 64, 9216, 64, 18432, 128, 36864, 128, 401408, 256, 1290]);
    expect(s.layers[15]).toEqual({ index: 16, token: 'flatten', type: 'flatten', implied: true, outShape: [3136], params: 0, macs: 0 });
    // conv F·OH·OW·C·k·k; bn one per value; dense in·out.
    expect(s.layers[0].macs).toBe(32 * 28 * 28 * 1 * 9);
    expect(s.layers[3].macs).toBe(32 * 28 * 28 * 32 * 9);
    expect(s.layers[1].macs).toBe(32 * 28 * 28);
    expect(s.layers[16].macs).toBe(3136 * 128);
    expect(s.training).toBeNull();
    expect(s.input).toEqual(DEFAULT_INPUT);
  });

  it('agrees with the parameters the built network really has, for every preset and a net of every layer', () => {
    for (const arch of ['seed', 'default', 'wide', 'bn', 'conv4k3p1,bn,relu,avgpool2,conv6k3,relu,pool2s1,dropout0.2,conv8k1,gap,dense16,bn,relu,flatten,dense10']) {
      const real = createNetwork(arch).params().reduce((a, p) => a + p.value.length, 0);
      expect(summarizeArch(arch).totals.params, arch).toBe(real);
    }
  });

  it('prints a table, the preprocessing, and from a file the training story', async () => {
    const table = await kconv(['info', '--arch', 'seed']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^architecture: conv2k5,relu,pool2,dense10\n\n#\s+layer\s+output\s+parameters\s+mult-adds\n/);
    expect(table.stdout).toMatch(/\n1\s+conv2k5\s+2×24×24\s+52\s+28,800\n/);
    expect(table.stdout).toMatch(/\n4\s+flatten \(implied\)\s+288\s+0\s+0\n/);
    expect(table.stdout).toMatch(/\n\s+total\s+2,942\s+31,680\n/);
    expect(table.stdout).toContain('input: 1×28×28 pixels, 0 = background … 255 = ink, as (pixel / 255 − 0) / 1');

    const file = join(dir, 'trained.json');
    const history = [1, 2].map((epoch) => ({ epoch, loss: 1 / epoch, acc: 0.8, valLoss: 0.5, valAcc: [0.91, 0.905][epoch - 1], seconds: 1.25, lr: 0.01 }));
    writeFileSync(file, stringifyModel({
      input: { ...DEFAULT_INPUT, mean: 0.1307, std: 0.3081 }, arch: 'conv2k5,relu,pool2,dense10', net: createNetwork('seed'),
      training: {
        epochs: 3, seed: 7, batchSize: 32, optimizer: { name: 'adam', momentum: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0005, lr: 0.003 },
        schedule: 'onecycle', validation: { kind: 'file', file: 'val.csv' }, augment: true, limit: 2000, threads: 2, history,
        position: { epoch: 3, batch: 5, lossSum: 2, correct: 100, seen: 160 },
      },
    }));
    const r = await kconv(['info', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${file}: conv2k5,relu,pool2,dense10`);
    expect(r.stdout).toContain('as (pixel / 255 − 0.1307) / 0.3081');
    expect(r.stdout).toContain('training: 2 of 3 epochs, stopped in epoch 3 after 5 batches, 2.5 s in epochs');
    expect(r.stdout).toContain('options: adam (β1 0.9, β2 0.999), lr 0.003 (onecycle), batch 32, weight decay 0.0005, augmented (affine), seed 7, 2 threads, first 2,000 rows');
    expect(r.stdout).toContain('validation: val.csv');
    expect(r.stdout).toContain('last epoch: loss 0.5000, val acc 90.50%');
    expect(r.stdout).toContain('best val acc: 91.00% (epoch 1)');
    const json = JSON.parse((await kconv(['info', file, '--json'])).stdout);
    expect(json.training).toMatchObject({ epochsDone: 2, epochsTarget: 3, best: { epoch: 1, valAcc: 0.91 }, seconds: 2.5, stoppedAt: { epoch: 3, batch: 5 } });
  });

  it('one line and a non-zero exit for every mistake', async () => {
    const both = await kconv(['info', 'model.json', '--arch', 'seed']);
    expect([both.code, both.stderr]).toEqual([2, 'kconv: give a weights file or --arch, not both: "model.json" already says its architecture\n']);
    const bad = await kconv(['info', '--arch', 'conv8k5,pol2,dense10']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^kconv: architecture "conv8k5,pol2,dense10": token 2 "pol2" is not a layer; expected one of convFkK.*\n$/);
    const huge = await kconv(['info', '--arch', 'conv2048k3p1,dense10']);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(/^kconv: layer 1 \(conv2048k3p1\): its output, 2048×28×28 = 1,605,632 values per image, is more than kconv allows/);
    const missing = await kconv(['info', join(dir, 'none.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`kconv: ${join(dir, 'none.json')}: no such weights file: train one with kconv train, or give its path with --weights\n`);
    for (const r of [both, bad, huge, missing]) expect(r.stdout).toBe('');
  });
});
