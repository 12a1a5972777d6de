/**
 * `kconv export --onnx`: the ONNX model is run by onnxruntime-node (a devDependency) and
 * must give kconv's own probabilities and labels; its graph is read back with ONNX's schema.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import type { Io } from '../../src/cli/output.js';
import type { Dataset } from '../../src/data/index.js';
import { ModelFileError, UsageError } from '../../src/errors.js';
import { ExportError, exportOnnx, ONNX_OPSET } from '../../src/export/onnx.js';
import { DEFAULT_INPUT, saveModel, type InputSpec } from '../../src/model/weights-file.js';
import { predict } from '../../src/predict/predict.js';
import { modelOf, randomImages } from '../helpers/models.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kconv-export-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** n random images of raw 0..255 pixels, as a kconv dataset. */

async function runOnnx(file: string, data: Dataset): Promise<{ probs: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(file);
  try {
    const x = new ort.Tensor('float32', Float32Array.from(data.pixels), [data.n, 1, 28, 28]);
    const out = await session.run({ pixels: x });
    return { probs: out.probabilities.data as Float32Array, dims: out.probabilities.dims };
  } finally {
    await session.release();
  }
}

const argmax = (p: Float32Array, i: number) => {
  let best = 0;
  for (let k = 1; k < 10; k++) if (p[i * 10 + k] > p[i * 10 + best]) best = k;
  return best;
};

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const readOnnx = (file: string): ModelProto => fromBinary(ModelProtoSchema, readFileSync(file));

/** The shape of the graph's (only) input or output: dim_param names and dim_values. */
function dimsOf(m: ModelProto, which: 'input' | 'output'): Array<string | number> {
  const type = m.graph![which][0].type!.value;
  if (type.case !== 'tensorType') throw new Error(`${which} is not a tensor`);
  return type.value.shape!.dim.map((d) => (d.value.case === 'dimParam' ? d.value.value : Number(d.value.value)));
}

function fakeIo() {
  const io: Io & { outText: string; errText: string } = {
    outText: '', errText: '', errIsTTY: false,
    out: (s) => void (io.outText += s),
    err: (s) => void (io.errText += s),
  };
  return io;
}

async function runExport(args: string[]) {
  const io = fakeIo();
  let code: number | null = null;
  await exportCommand(io, (c) => (code = c)).exitOverride().configureOutput({ writeErr: () => undefined }).parseAsync(args, { from: 'user' });
  return { io, code };
}

const NETS: Array<[string, string, number, InputSpec]> = [
  ['the default net', 'default', 1, DEFAULT_INPUT],
  ['a net with stride, padding and dropout', 'conv4k3s2p1,relu,pool2,dropout0.3,dense10', 2, DEFAULT_INPUT],
  ['the seed net', 'seed', 3, DEFAULT_INPUT],
  ['overlapping pooling, dense after dense, normalised input', 'conv6k3p1,relu,pool3s2,dense32,relu,dropout0.5,dense10', 4,
    { ...DEFAULT_INPUT, mean: 0.1307, std: 0.3081 }],
  ['batch normalization after a conv and a dense layer (both bias-free)', 'conv4k3p1,bn,relu,pool2,dense16,bn,relu,dense10', 5, DEFAULT_INPUT],
  ['average pooling, overlapping, and global average pooling', 'conv4k3p1,relu,avgpool2,conv6k3,bn,relu,avgpool3s2,conv8k1,gap,dense10', 6, DEFAULT_INPUT],
];

describe('kconv export --onnx, run by onnxruntime', () => {
  it.each(NETS)('%s: probabilities within 1e-5 of kconv predict, same labels, N = 1 and N = 7', async (_name, arch, seed, input) => {
    const weights = join(dir, `net${seed}.json`);
    const onnx = join(dir, `net${seed}.onnx`);
    await saveModel(weights, modelOf(arch, seed, input));
    const { io, code } = await runExport([weights, '--onnx', onnx]);
    expect(code).toBe(0);
    expect(io.outText).toBe('');
    expect(io.errText).toMatch(new RegExp(`^wrote .*net${seed}\\.onnx: ONNX opset 13, \\d+ nodes \\(Mul, Add, Conv.*Softmax\\), [\\d,]+ parameters, [\\d,]+ bytes\\n$`));

    const { loadModel } = await import('../../src/model/weights-file.js');
    const model = await loadModel(weights);
    for (const n of [1, 7]) {
      const data = randomImages(n, 100 * seed + n);
      const expected = await predict(model, data, 1);
      const got = await runOnnx(onnx, data);
      expect(got.dims).toEqual([n, 10]);
      expect(maxAbsDiff(got.probs, expected.probs)).toBeLessThanOrEqual(1e-5);
      expect(Array.from({ length: n }, (_, i) => argmax(got.probs, i))).toEqual(Array.from(expected.labels));
    }
  });

  it('the graph: input pixels float32 [N,1,28,28], output probabilities [N,10], opset 13, kconv layers as ONNX nodes, no dropout', async () => {
    const onnx = join(dir, 'net2.onnx'); // conv4k3s2p1,relu,pool2,dropout0.3,dense10, written above
    if (!existsSync(onnx)) {
      await saveModel(join(dir, 'net2.json'), modelOf('conv4k3s2p1,relu,pool2,dropout0.3,dense10', 2));
      await exportOnnx(join(dir, 'net2.json'), onnx);
    }
    const m = readOnnx(onnx);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', ONNX_OPSET]]);
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(13);
    expect(Number(m.irVersion)).toBeGreaterThanOrEqual(7);
    expect(m.producerName).toBe('kconv');
    const g = m.graph!;
    expect(g.input.map((v) => v.name)).toEqual(['pixels']);
    expect(g.output.map((v) => v.name)).toEqual(['probabilities']);
    expect(dimsOf(m, 'input')).toEqual(['N', 1, 28, 28]);
    expect(dimsOf(m, 'output')).toEqual(['N', 10]);
    for (const v of [...g.input, ...g.output]) {
      expect(v.type!.value.case === 'tensorType' && v.type!.value.value.elemType).toBe(1); // FLOAT
    }
    expect(g.node.map((n) => n.opType)).toEqual(['Mul', 'Add', 'Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Softmax']);
    expect(g.node.at(-1)!.output).toEqual(['probabilities']);
    expect(g.node[0].input[0]).toBe('pixels');
    const conv = g.node[2];
    const attr = (name: string) => conv.attribute.find((a) => a.name === name)!;
    expect(attr('kernel_shape').ints.map(Number)).toEqual([3, 3]);
    expect(attr('strides').ints.map(Number)).toEqual([2, 2]);
    expect(attr('pads').ints.map(Number)).toEqual([1, 1, 1, 1]);
    expect(g.node[6].attribute.find((a) => a.name === 'transB')!.i).toBe(1n);
    const shapes = Object.fromEntries(g.initializer.map((t) => [t.name, t.dims.map(Number)]));
    expect(shapes).toEqual({
      'preprocess.mul': [], 'preprocess.add': [],
      'layer1.conv2d.weight': [4, 1, 3, 3], 'layer1.conv2d.bias': [4],
      'layer6.dense.weight': [10, 196], 'layer6.dense.bias': [10],
    });
    // Every node's inputs exist before it: the graph is topologically sorted.
    const known = new Set(['pixels', ...g.initializer.map((t) => t.name)]);
    for (const n of g.node) {
      for (const i of n.input) expect(known.has(i), `${n.name} reads ${i}`).toBe(true);
      n.output.forEach((o) => known.add(o));
    }
    // onnxruntime sees the same interface, with a symbolic batch dimension.
    const session = await ort.InferenceSession.create(onnx);
    expect(session.inputNames).toEqual(['pixels']);
    expect(session.outputNames).toEqual(['probabilities']);
    await session.release();
  });

  it('batch normalization becomes BatchNormalization with the running statistics; bias-free Conv and Gemm have no bias input; gap is GlobalAveragePool + Flatten', async () => {
    const weights = join(dir, 'bn-graph.json');
    await saveModel(weights, modelOf('conv4k3p1,bn,relu,avgpool2,gap,dense8,bn,relu,dense10', 7));
    await exportOnnx(weights, join(dir, 'bn-graph.onnx'));
    const g = readOnnx(join(dir, 'bn-graph.onnx')).graph!;
    expect(g.node.map((n) => n.opType)).toEqual([
      'Mul', 'Add', 'Conv', 'BatchNormalization', 'Relu', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Gemm', 'BatchNormalization', 'Relu', 'Gemm', 'Softmax',
    ]);
    expect(g.node[2].input).toEqual(['preprocess.normalized', 'layer1.conv2d.weight']);
    expect(g.node[3].input).toEqual(['layer1.conv2d', 'layer2.batchnorm.weight', 'layer2.batchnorm.bias', 'layer2.batchnorm.runningMean', 'layer2.batchnorm.runningVar']);
    expect(g.node[3].attribute.find((a) => a.name === 'epsilon')!.f).toBeCloseTo(1e-5, 10);
    expect(g.node[6].output).toEqual(['layer5.globalavgpool']);
    expect(g.node[7].output).toEqual(['layer5.globalavgpool.2']);
    expect(g.node[8].input).toEqual(['layer5.globalavgpool.2', 'layer6.dense.weight']);
    expect(g.node[11].input).toHaveLength(3); // the last dense layer keeps its bias
    const pool = g.node[5];
    expect(Object.fromEntries(pool.attribute.map((a) => [a.name, a.ints.length ? a.ints.map(Number) : Number(a.i)]))).toEqual({
      kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], count_include_pad: 0, ceil_mode: 0,
    });
  });

  it('puts the weights file\'s preprocessing (pixel / scale − mean) / std into the graph', async () => {
    const weights = join(dir, 'norm.json');
    await saveModel(weights, modelOf('seed', 5, { ...DEFAULT_INPUT, scale: 200, mean: 0.25, std: 0.5 }));
    await exportOnnx(weights, join(dir, 'norm.onnx'));
    const init = Object.fromEntries(readOnnx(join(dir, 'norm.onnx')).graph!.initializer.map((t) => [t.name, t.floatData]));
    expect(init['preprocess.mul'][0]).toBeCloseTo(1 / (200 * 0.5), 7);
    expect(init['preprocess.add'][0]).toBeCloseTo(-0.25 / 0.5, 7);
  });
});

describe('kconv export errors: one line, nothing half written', () => {
  it('a missing weights file', async () => {
    await expect(runExport([join(dir, 'none.json'), '--onnx', join(dir, 'none.onnx')])).rejects.toThrow(ModelFileError);
    await expect(exportOnnx(join(dir, 'none.json'), join(dir, 'none.onnx'))).rejects.toThrow(/none\.json: no such weights file/);
    expect(existsSync(join(dir, 'none.onnx'))).toBe(false);
  });

  it('an invalid weights file names the fault', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format": "kconv-model", "version": 1');
    const error = await exportOnnx(bad, join(dir, 'bad.onnx')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toMatch(/^.*bad\.json: not valid JSON/);
    expect((error as Error).message).not.toMatch(/\n/);
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });

  it('an output that cannot be written: a missing folder, a folder, the weights file itself', async () => {
    const weights = join(dir, 'ok.json');
    await saveModel(weights, modelOf('seed'));
    const missing = exportOnnx(weights, join(dir, 'no', 'such', 'folder', 'm.onnx'));
    await expect(missing).rejects.toThrow(ExportError);
    await expect(missing).rejects.toThrow(/m\.onnx: cannot write the ONNX file: its folder does not exist$/);
    await expect(exportOnnx(weights, dir)).rejects.toThrow(/cannot write the ONNX file: it is a folder$/);
    await expect(runExport([weights, '--onnx', weights])).rejects.toThrow(UsageError);
    expect(readFileSync(weights, 'utf8')).toMatch(/^\{/); // untouched
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces an existing ONNX file atomically', async () => {
    const weights = join(dir, 'ok.json');
    const onnx = join(dir, 'replace.onnx');
    writeFileSync(onnx, 'old');
    await exportOnnx(weights, onnx);
    expect(readOnnx(onnx).graph!.output[0].name).toBe('probabilities');
    expect(readdirSync(dir).filter((f) => f.startsWith('replace.onnx.'))).toEqual([]);
  });

  it('--onnx is required (a usage error)', async () => {
    await expect(runExport([join(dir, 'ok.json')])).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });
});
