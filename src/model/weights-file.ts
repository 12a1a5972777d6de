import { readFile } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import { formatArch, type LayerSpec } from '../net/spec.js';
import { Sequential } from '../net/sequential.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { float32ArrayToJson } from './float-json.js';

export const MODEL_FORMAT = 'kconv-model';
export const MODEL_VERSION = 1;

/** How raw pixels become network input: (pixel / scale − mean) / std. */
export interface InputSpec {
  channels: number;
  height: number;
  width: number;
  scale: number;
  mean: number;
  std: number;
}

export const DEFAULT_INPUT: InputSpec = { channels: 1, height: 28, width: 28, scale: 255, mean: 0, std: 1 };

export interface EpochRecord {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  seconds: number;
  lr: number;
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainingRecord {
  /** Target number of epochs. */
  epochs: number;
  seed: number;
  batchSize: number;
  optimizer: { name: string; lr: number; momentum: number; beta2: number; eps: number; weightDecay: number };
  schedule: string;
  validation: { kind: 'split'; fraction: number } | { kind: 'file'; file: string } | { kind: 'none' };
  augment: boolean;
  limit: number | null;
  threads?: number;
  history: EpochRecord[];
  /** Set when training stopped inside an epoch: where to pick up. */
  position?: { epoch: number; batch: number; lossSum: number; correct: number; seen: number; dropoutState?: number };
  /** Index of the best epoch's record when --save-best kept it, else absent. */
  bestEpoch?: number;
}

export interface ModelFile {
  input: InputSpec;
  arch: string;
  net: Sequential;
  training?: TrainingRecord;
  optimizerState?: OptimizerState;
}

function layerRecord(layer: Layer): Record<string, unknown> {
  switch (layer.type) {
    case 'conv2d': {
      const c = layer as import('../layers/conv2d.js').Conv2d;
      return { type: 'conv2d', inChannels: c.inChannels, outChannels: c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding, weight: c.weight, bias: c.bias };
    }
    case 'maxpool2d': {
      const p = layer as import('../layers/maxpool2d.js').MaxPool2d;
      return { type: 'maxpool2d', size: p.size, stride: p.stride };
    }
    case 'dense': {
      const d = layer as import('../layers/dense.js').Dense;
      return { type: 'dense', inFeatures: d.inFeatures, outFeatures: d.outFeatures, weight: d.weight, bias: d.bias };
    }
    case 'dropout':
      return { type: 'dropout', rate: (layer as import('../layers/dropout.js').Dropout).rate };
    default:
      return { type: layer.type };
  }
}

/**
 * The weights file as text: JSON with every float32 written with the fewest digits
 * that read back to the same bits (see float-json.ts).
 */
export function stringifyModel(model: ModelFile, opts: { optimizerState?: boolean } = {}): string {
  const arrays: Float32Array[] = [];
  const doc = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    input: model.input,
    arch: model.arch,
    layers: model.net.layers.map(layerRecord),
    ...(model.training ? { training: model.training } : {}),
    ...(model.optimizerState && opts.optimizerState !== false ? { optimizerState: model.optimizerState } : {}),
  };
  const text = JSON.stringify(doc, (_key, value) => {
    if (value instanceof Float32Array) {
      arrays.push(value);
      return `\u0000f32:${arrays.length - 1}`;
    }
    return value;
  }, 1);
  return text.replace(/"\\u0000f32:(\d+)"/g, (_m, i: string) => float32ArrayToJson(arrays[+i])) + '\n';
}

export async function saveModel(path: string, model: ModelFile, opts: { optimizerState?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, stringifyModel(model, opts));
}

export async function loadModel(path: string): Promise<ModelFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelFileError(`${path}: no such weights file: train one with kconv train, or give its path with --weights`);
    if (code === 'EISDIR') throw new ModelFileError(`${path}: is a directory, not a weights file`);
    throw new ModelFileError(`${path}: cannot read the weights file (${code ?? (error as Error).message})`);
  }
  return parseModel(text, path);
}

// ---- validation -------------------------------------------------------------

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Own properties only: a key like __proto__ in the file must never reach a prototype. */
const own = (o: Record<string, Json>, key: string): Json => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined);

/**
 * Parses and validates a weights file completely before anything uses it: format and
 * version, each layer's type and fields, array lengths against the shapes, finite
 * numbers, and shapes that chain from the input to 10 class scores. Every fault is
 * one ModelFileError naming the file and the place.
 */
export function parseModel(text: string, file: string): ModelFile {
  const fail = (what: string): never => {
    throw new ModelFileError(`${file}: ${what}`);
  };
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message}): is it a kconv weights file, complete and not truncated?`);
  }
  if (!isObject(doc)) return fail('not a kconv weights file (expected a JSON object)');
  if (own(doc, 'format') !== MODEL_FORMAT) fail(`not a kconv weights file ("format" is ${JSON.stringify(own(doc, 'format')) ?? 'missing'}, expected "${MODEL_FORMAT}")`);
  const version = own(doc, 'version');
  if (typeof version !== 'number' || !Number.isInteger(version)) fail('"version" is missing or not an integer');
  if ((version as number) > MODEL_VERSION) fail(`weights file version ${version} was made by a newer kconv (this one reads version ${MODEL_VERSION}): upgrade kconv`);
  if ((version as number) < 1) fail(`unknown weights file version ${version}`);

  const input = parseInput(own(doc, 'input'), fail);
  const arch = own(doc, 'arch');
  if (typeof arch !== 'string') fail('"arch" is missing or not a string');
  const layersJson = own(doc, 'layers');
  if (!Array.isArray(layersJson) || layersJson.length === 0) fail('"layers" is missing or empty');

  const specs: LayerSpec[] = [];
  const weights: Array<{ weight: Float32Array; bias: Float32Array } | null> = [];
  let shape: number[] = [input.channels, input.height, input.width];
  (layersJson as Json[]).forEach((raw, i) => {
    const at = (what: string) => fail(`layer ${i + 1}${isObject(raw) && typeof own(raw, 'type') === 'string' ? ` (${own(raw, 'type')})` : ''}: ${what}`);
    if (!isObject(raw)) return at('not an object');
    const int = (key: string, min: number): number => {
      const v = own(raw, key);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) return at(`"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v) ?? 'nothing'}`);
      return v as number;
    };
    const floats = (key: string, expected: number): Float32Array => {
      const v = own(raw, key);
      if (!Array.isArray(v)) return at(`"${key}" is missing or not an array`);
      const arr = v as Json[];
      if (arr.length !== expected) return at(`${key} has ${arr.length} numbers, expected ${expected}`);
      const out = new Float32Array(expected);
      for (let j = 0; j < expected; j++) {
        const x = arr[j];
        if (typeof x !== 'number') return at(`${key}[${j}] is ${JSON.stringify(x)}, not a number`);
        const f = Math.fround(x);
        if (!Number.isFinite(f)) return at(`${key}[${j}] = ${x} is not a finite float32`);
        out[j] = f;
      }
      return out;
    };
    const type = own(raw, 'type');
    const needImage = () => {
      if (shape.length !== 3) at(`needs an image input but gets a flat vector of ${shape[0]}`);
    };
    switch (type) {
      case 'conv2d': {
        needImage();
        const inChannels = int('inChannels', 1);
        const outChannels = int('outChannels', 1);
        const kernel = int('kernel', 1);
        const stride = int('stride', 1);
        const padding = int('padding', 0);
        if (inChannels !== shape[0]) at(`inChannels is ${inChannels} but the layer before gives ${shape[0]} channels`);
        const oh = Math.floor((shape[1] + 2 * padding - kernel) / stride) + 1;
        const ow = Math.floor((shape[2] + 2 * padding - kernel) / stride) + 1;
        if (oh < 1 || ow < 1) at(`a ${kernel}×${kernel} kernel does not fit the ${shape.join('×')} input`);
        const weight = floats('weight', outChannels * inChannels * kernel * kernel);
        const bias = floats('bias', outChannels);
        specs.push({ type: 'conv2d', outChannels, kernel, stride, padding });
        weights.push({ weight, bias });
        shape = [outChannels, oh, ow];
        break;
      }
      case 'maxpool2d': {
        needImage();
        const size = int('size', 1);
        const stride = own(raw, 'stride') === undefined ? size : int('stride', 1);
        if (size > shape[1] || size > shape[2]) at(`a ${size}×${size} window does not fit the ${shape.join('×')} input`);
        specs.push({ type: 'maxpool2d', size, stride });
        weights.push(null);
        shape = [shape[0], Math.floor((shape[1] - size) / stride) + 1, Math.floor((shape[2] - size) / stride) + 1];
        break;
      }
      case 'relu':
      case 'flatten':
        specs.push({ type });
        weights.push(null);
        if (type === 'flatten') shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'dropout': {
        const rate = own(raw, 'rate');
        if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) at(`"rate" must be a number from 0 to below 1, got ${JSON.stringify(rate) ?? 'nothing'}`);
        specs.push({ type: 'dropout', rate: rate as number });
        weights.push(null);
        break;
      }
      case 'dense': {
        if (shape.length !== 1) at(`needs a flat input but gets ${shape.join('×')}: a flatten layer must come before it`);
        const inFeatures = int('inFeatures', 1);
        const outFeatures = int('outFeatures', 1);
        if (inFeatures !== shape[0]) at(`inFeatures is ${inFeatures} but the layer before gives ${shape[0]} values`);
        const weight = floats('weight', outFeatures * inFeatures);
        const bias = floats('bias', outFeatures);
        specs.push({ type: 'dense', outFeatures });
        weights.push({ weight, bias });
        shape = [outFeatures];
        break;
      }
      default:
        at(`unknown layer type ${JSON.stringify(type) ?? '(missing)'}: expected conv2d, relu, maxpool2d, flatten, dropout or dense`);
    }
  });
  if (shape.length !== 1 || shape[0] !== 10) fail(`the layers end in ${shape.join('×')} values, expected 10 class scores`);

  const net = new Sequential(specs, [input.channels, input.height, input.width]);
  net.layers.forEach((layer, i) => {
    const w = weights[i];
    if (!w) return;
    const [weight, bias] = layer.params();
    weight.value.set(w.weight);
    bias.value.set(w.bias);
  });
  const training = own(doc, 'training');
  const optimizerState = parseOptimizerState(own(doc, 'optimizerState'), net, fail);
  return {
    input,
    arch: arch as string,
    net,
    training: isObject(training) ? (training as unknown as TrainingRecord) : undefined,
    optimizerState,
  };
}

function parseInput(raw: Json, fail: (what: string) => never): InputSpec {
  if (!isObject(raw)) return fail('"input" is missing or not an object');
  const num = (key: keyof InputSpec, positive: boolean): number => {
    const v = own(raw, key);
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) return fail(`input.${key} must be a ${positive ? 'positive ' : ''}number, got ${JSON.stringify(v) ?? 'nothing'}`);
    return v as number;
  };
  const input = {
    channels: num('channels', true),
    height: num('height', true),
    width: num('width', true),
    scale: num('scale', true),
    mean: num('mean', false),
    std: num('std', true),
  };
  if (input.channels !== 1 || input.height !== 28 || input.width !== 28) {
    fail(`input is ${input.channels}×${input.height}×${input.width}; kconv reads 1×28×28 images`);
  }
  return input;
}

function parseOptimizerState(raw: Json, net: Sequential, fail: (what: string) => never): OptimizerState | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail('"optimizerState" is not an object');
  const params = net.params();
  const step = own(raw, 'step');
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) fail('optimizerState.step must be a non-negative integer');
  const arrays = (key: string): Float32Array[] => {
    const v = own(raw, key);
    if (v === undefined || (Array.isArray(v) && v.length === 0)) return [];
    if (!Array.isArray(v) || v.length !== params.length) return fail(`optimizerState.${key} must hold one array per parameter (${params.length})`);
    return v.map((a: Json, k: number) => {
      if (!Array.isArray(a) || a.length !== params[k].value.length) return fail(`optimizerState.${key}[${k}] must have ${params[k].value.length} numbers`);
      const out = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) {
        const x = a[j];
        if (typeof x !== 'number' || !Number.isFinite(Math.fround(x))) return fail(`optimizerState.${key}[${k}][${j}] is not a finite number`);
        out[j] = x;
      }
      return out;
    });
  };
  return { step: step as number, m: arrays('m'), v: arrays('v') };
}

export { formatArch };
