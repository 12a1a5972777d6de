/**
 * The `bn` preset (the wide net with batch normalization) on the real data: trained
 * briefly by the CLI, exported to ONNX and run by onnxruntime-node on val.csv, loaded into
 * PyTorch by examples/load_into_torch.py, and its parameter count compared with the same
 * net in ../shared/anchors/torch_ref.py.
 *
 * The PyTorch comparisons need /usr/bin/python3 with torch (Debian's python3-torch). Where
 * it is missing they are skipped, and say so; with CI or KCONV_REQUIRE_TORCH set (as
 * .ci/run does) a missing torch fails the run instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

const PYTHON = '/usr/bin/python3';
const TORCH_REF = resolve(__dirname, '../../../shared/anchors/torch_ref.py');
const EXAMPLE = resolve(__dirname, '../../examples/load_into_torch.py');
const torchOk = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const requireTorch = Boolean(process.env.CI || process.env.KCONV_REQUIRE_TORCH);
const NEEDS_TORCH = torchOk ? '' : ` (SKIPPED: ${PYTHON} cannot import torch; apt-get install python3-torch)`;
if (!torchOk) console.warn(`bn.test.ts: the PyTorch comparisons are skipped: ${PYTHON} cannot import torch`);

let dir: string;
const run = (args: string[]) => runKconv(args, { cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') } });

beforeAll(async () => {
  dir = tempDir('kconv-bn-data-');
  const r = await run(['train', dataFile('train.csv'), '--arch', 'bn', '--epochs', '1', '--limit', '2000', '--seed', '1', '--no-val', '--out', 'bn.json']);
  expect(r.code, r.stderr).toBe(0);
  const e = await run(['export', 'bn.json', '--onnx', 'bn.onnx']);
  expect(e.code, e.stderr).toBe(0);
  expect(e.stderr).toMatch(/BatchNormalization/);
});

describe('the bn preset on the real data', () => {
  it('onnxruntime agrees with kconv predict --probs on val.csv: probabilities within 1e-5, the same labels', async () => {
    const p = await run(['predict', dataFile('val.csv'), '--weights', 'bn.json', '--probs']);
    expect(p.code, p.stderr).toBe(0);
    const expected = p.stdout.trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const { images: data } = await readDataset(dataFile('val.csv'));
    expect(expected).toHaveLength(data.n);
    const session = await ort.InferenceSession.create(join(dir, 'bn.onnx'));
    try {
      const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(data.pixels), [data.n, 1, 28, 28]) });
      const probs = out.probabilities.data as Float32Array;
      let worst = 0;
      let same = 0;
      let correct = 0;
      for (let i = 0; i < data.n; i++) {
        let arg = 0;
        for (let k = 0; k < 10; k++) {
          worst = Math.max(worst, Math.abs(probs[i * 10 + k] - expected[i][2 + k]));
          if (probs[i * 10 + k] > probs[i * 10 + arg]) arg = k;
        }
        if (arg === expected[i][1]) same++;
        if (arg === data.labels![i]) correct++;
      }
      console.log(`bn preset, 1 epoch on 2,000 images: onnxruntime vs kconv predict on val.csv: max |Δp| ${worst.toExponential(2)}, labels equal ${same}/${data.n}, accuracy ${(correct / data.n * 100).toFixed(2)}%`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      expect(same).toBe(data.n);
      expect(correct / data.n).toBeGreaterThan(0.8); // a trained model, not an accident
    } finally {
      await session.release();
    }
  });

  it.runIf(requireTorch)('PyTorch is present (CI or KCONV_REQUIRE_TORCH requires it)', () => {
    expect(torchOk, `${PYTHON} cannot import torch: apt-get install python3-torch`).toBe(true);
  });

  it.runIf(torchOk)(`kconv info counts as many parameters as torch_ref.py's bn net (468,138)${NEEDS_TORCH}`, async () => {
    expect(existsSync(TORCH_REF), TORCH_REF).toBe(true);
    // torch_ref.py trains when run; take its net() definition alone and count its parameters.
    const py = [
      'import ast, sys, torch, torch.nn as nn',
      `src = open(${JSON.stringify(TORCH_REF)}).read()`,
      "fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == 'net')",
      "ns = {'nn': nn, 'torch': torch}",
      `exec(compile(ast.Module([fn], []), ${JSON.stringify(TORCH_REF)}, 'exec'), ns)`,
      "print(sum(p.numel() for p in ns['net']('bn').parameters()))",
    ].join('\n');
    const torch = spawnSync(PYTHON, ['-c', py], { encoding: 'utf8' });
    expect(torch.status, torch.stderr).toBe(0);
    const info = await run(['info', '--arch', 'bn', '--json']);
    expect(info.code, info.stderr).toBe(0);
    const ours = JSON.parse(info.stdout).totals.params;
    expect(ours).toBe(Number(torch.stdout.trim()));
    expect(ours).toBe(468_138);
  });

  it.runIf(torchOk)(`examples/load_into_torch.py loads the bn model and gives kconv's accuracy on val.csv${NEEDS_TORCH}`, async () => {
    const py = spawnSync(PYTHON, [EXAMPLE, join(dir, 'bn.json'), dataFile('val.csv')], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toMatch(/BatchNorm2d\(32, eps=1e-05, momentum=0\.1/);
    expect(py.stdout).toMatch(/BatchNorm1d\(128/);
    expect(py.stdout).toMatch(/Conv2d\(1, 32, kernel_size=\(3, 3\), stride=\(1, 1\), padding=\(1, 1\), bias=False\)/);
    const e = await run(['evaluate', dataFile('val.csv'), '--weights', 'bn.json']);
    const kconv = /accuracy (\d+\.\d+)% \((\d+) of/.exec(e.stdout)!;
    const torch = /accuracy (\d+\.\d+)% \((\d+) of/.exec(py.stdout)!;
    console.log(`val.csv: kconv evaluate ${kconv[1]}%, PyTorch (load_into_torch.py) ${torch[1]}%`);
    expect(torch[2]).toBe(kconv[2]);
  });
});
