/**
 * The exported ONNX model on the real Kannada-MNIST data: a default net trained by the CLI,
 * exported, and run by onnxruntime-node on every image of val.csv and Dig-MNIST.csv, must
 * give kconv's own labels and probabilities.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { readDataset, type Dataset } from '../../src/data/index.js';
import { loadModel, type ModelFile } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { runKconv } from '../helpers/cli.js';
import { tempDir } from '../helpers/digits.js';
import { dataFile } from '../helpers/real-data.js';

let dir: string;
let model: ModelFile;
let session: ort.InferenceSession;

beforeAll(async () => {
  dir = tempDir('kconv-export-data-');
  const r = await runKconv(['train', dataFile('train.csv'), '--epochs', '1', '--seed', '1', '--out', 'default.json'], {
    cwd: dir, env: { XDG_CACHE_HOME: join(dir, 'cache') },
  });
  expect(r.code, r.stderr).toBe(0);
  let code: number | null = null;
  let err = '';
  await exportCommand({ out: () => undefined, err: (s) => void (err += s), errIsTTY: false }, (c) => (code = c))
    .parseAsync([join(dir, 'default.json'), '--onnx', join(dir, 'default.onnx')], { from: 'user' });
  expect(code, err).toBe(0);
  model = await loadModel(join(dir, 'default.json'));
  session = await ort.InferenceSession.create(join(dir, 'default.onnx'));
});

/** Runs the ONNX model over a dataset in batches of 500 (the batch dimension is dynamic). */
async function onnxProbs(data: Dataset): Promise<Float32Array> {
  const probs = new Float32Array(data.n * 10);
  for (let start = 0; start < data.n; start += 500) {
    const n = Math.min(500, data.n - start);
    const x = Float32Array.from(data.pixels.subarray(start * 784, (start + n) * 784));
    const out = await session.run({ pixels: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
    probs.set(out.probabilities.data as Float32Array, start * 10);
  }
  return probs;
}

describe('kconv export --onnx on the real data', () => {
  // Dig-MNIST (other writers) is much harder than val.csv after one epoch: only the floor differs.
  it.each([['val.csv', 0.9], ['Dig-MNIST.csv', 0.5]] as const)('%s: onnxruntime gives kconv\'s labels for ≥ 999 in 1000 images, probabilities within 1e-5', async (name, floor) => {
    const { images: data } = await readDataset(dataFile(name));
    const expected = await predict(model, data, 1);
    const probs = await onnxProbs(data);
    let same = 0;
    let correctOnnx = 0;
    let correctKconv = 0;
    let maxDiff = 0;
    for (let i = 0; i < data.n; i++) {
      let arg = 0;
      for (let k = 0; k < 10; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(probs[i * 10 + k] - expected.probs[i * 10 + k]));
        if (probs[i * 10 + k] > probs[i * 10 + arg]) arg = k;
      }
      if (arg === expected.labels[i]) same++;
      if (arg === data.labels![i]) correctOnnx++;
      if (expected.labels[i] === data.labels![i]) correctKconv++;
    }
    console.log(`${name}: ${data.n} images, labels equal ${same}/${data.n}, max |Δp| ${maxDiff.toExponential(2)}, ` +
      `accuracy onnx ${(correctOnnx / data.n * 100).toFixed(2)}% kconv ${(correctKconv / data.n * 100).toFixed(2)}%`);
    expect(same / data.n).toBeGreaterThanOrEqual(0.999);
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    expect(correctOnnx / data.n).toBeGreaterThan(floor); // a trained model, not an accident
  });
});
