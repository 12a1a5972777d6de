import { open } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { RecordReader } from '../layers/kind.js';
import type { Layer } from '../layers/layer.js';
import { findKind, kindOf, kindOfLayer, LAYER_TYPES, type LayerSpec } from '../layers/registry.js';
import { CLASSES, DEFAULT_INPUT, inputProblem, type InputSpec } from '../net/input.js';
import { layerOutShape, planNetwork, PlanError } from '../net/plan.js';
import { Sequential } from '../net/sequential.js';
import { formatArch, formatLayer, parseArch } from '../net/spec.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { float32ArrayToJsonBytes } from './float-json.js';
import { describe, int, isObject, num, object, own, readDocument, short, type Fail } from './json-reader.js';
import { readTraining, type TrainingRecord } from './training-record.js';

export const MODEL_FORMAT = 'kconv-model';
/**
 * The newest weights-file version this kconv reads. Version 1: conv2d, relu, maxpool2d,
 * flatten, dropout, dense, each with a bias. Version 2 adds batchnorm, avgpool2d,
 * globalavgpool and bias-free conv2d/dense records. A file is written with the lowest
 * version that holds it, so nets of version-1 layers still give version-1 files.
 */
export const MODEL_VERSION = 2;

/**
 * The largest weights file kconv reads: 256 MiB. The `wide` net with Adam state (three
 * float32 arrays per parameter, 467,818 parameters) is 17 MB; the largest net kconv
 * builds (LIMITS.params, 4.2 M parameters) with Adam state fits, at about 12 characters a
 * number (at most 15). Larger files are refused before they are read: V8 cannot hold a string much
 * beyond 512 MB at all.
 */
export const MAX_WEIGHTS_FILE_BYTES = 256 * 1024 * 1024;

export type { InputSpec } from '../net/input.js';
export { DEFAULT_INPUT } from '../net/input.js';
export { formatArch };

export type { DataFingerprint, EpochRecord, TrainingRecord, Validation } from './training-record.js';

export interface ModelFile {
  input: InputSpec;
  /** The architecture as tokens, for people: checked against the layers when read. */
  arch: string;
  net: Sequential;
  training?: TrainingRecord;
  optimizerState?: OptimizerState;
}

/** A layer as a weights-file record: type, its settings, then its arrays (parameters, buffers) by name. */
function layerRecord(layer: Layer): Record<string, unknown> {
  const record: Record<string, unknown> = { type: layer.type, ...kindOfLayer(layer).toJSON(layer) };
  for (const p of layer.params()) record[p.name] = p.value;
  for (const b of layer.buffers?.() ?? []) record[b.name] = b.value;
  return record;
}

/** The lowest version that can hold the network (1 unless it has version-2 layers). */
export function fileVersion(net: Sequential): number {
  return Math.max(1, ...net.layers.map((l) => kindOfLayer(l).version(l)));
}

/**
 * The weights file as text: JSON with every float32 written with the fewest digits
 * that read back to the same bits (see float-json.ts).
 */
export function stringifyModel(model: ModelFile, opts: { optimizerState?: boolean } = {}): string {
  return modelBytes(model, opts).toString('utf8');
}

/**
 * The weights file's bytes: the JSON document with each Float32Array as a placeholder,
 * then the placeholders replaced by the arrays' text, written as bytes (a checkpoint of the
 * wide net with Adam state is 18.7 MB: no 18 MB string to build, scan and encode again).
 */
export function modelBytes(model: ModelFile, opts: { optimizerState?: boolean } = {}): Buffer {
  const arrays: Float32Array[] = [];
  const doc = {
    format: MODEL_FORMAT,
    version: fileVersion(model.net),
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
  const parts: Buffer[] = [];
  const placeholder = /"\\u0000f32:(\d+)"/g;
  let at = 0;
  for (let m = placeholder.exec(text); m !== null; m = placeholder.exec(text)) {
    parts.push(Buffer.from(text.slice(at, m.index), 'utf8'), float32ArrayToJsonBytes(arrays[+m[1]]));
    at = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(at) + '\n', 'utf8'));
  return Buffer.concat(parts);
}

export async function saveModel(path: string, model: ModelFile, opts: { optimizerState?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, modelBytes(model, opts));
}

const MB = (bytes: number) => Math.ceil(bytes / (1024 * 1024));

/**
 * Reads a weights file's text, refusing one larger than MAX_WEIGHTS_FILE_BYTES before
 * reading it (a regular file) or as soon as it passes the cap (a pipe or device).
 */
export async function readWeightsText(path: string): Promise<string> {
  const fail = (what: string): never => {
    throw new ModelFileError(`${path}: ${what}`);
  };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('no such weights file: train one with kconv train, or give its path with --weights');
    if (code === 'EISDIR') fail('is a directory, not a weights file');
    return fail(`cannot read the weights file (${code ?? (error as Error).message})`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) fail('is a directory, not a weights file');
    const tooLarge = (size: string) => fail(`is ${size} MB, larger than any kconv weights file can be (${MB(MAX_WEIGHTS_FILE_BYTES)} MB): is it a kconv weights file?`);
    if (info.isFile() && info.size > MAX_WEIGHTS_FILE_BYTES) tooLarge(String(MB(info.size)));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_WEIGHTS_FILE_BYTES) tooLarge(`more than ${MB(MAX_WEIGHTS_FILE_BYTES)}`);
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') fail('is a directory, not a weights file');
    return fail(`cannot read the weights file (${code ?? (error as Error).message})`);
  } finally {
    await handle.close();
  }
}

export async function loadModel(path: string): Promise<ModelFile> {
  return parseModel(await readWeightsText(path), path);
}

// ---- validation -------------------------------------------------------------

type Json = unknown;

/**
 * Parses and validates a weights file completely before anything uses it: format and
 * version, the input preprocessing, each layer's type and fields (through its registry
 * descriptor), shapes that chain from the input to 10 class scores within kconv's size
 * bounds (before any array is allocated), "arch" against the layers, array lengths and
 * finite float32 numbers, the optimizer state and the training record. Every fault is
 * one ModelFileError naming the file and the place.
 */
export function parseModel(text: string, file: string): ModelFile {
  const fail: Fail = (what) => {
    throw new ModelFileError(`${file}: ${what}`);
  };
  const { doc } = readDocument(text, fail, 'weights file', MODEL_FORMAT, MODEL_VERSION);

  const input = parseInput(own(doc, 'input'), fail);
  const inputShape = [input.channels, input.height, input.width];
  const layersJson = own(doc, 'layers');
  if (!Array.isArray(layersJson) || layersJson.length === 0) return fail('"layers" is missing or empty');

  // 1. Every layer's settings and shape, and the size bounds: nothing allocated yet.
  const records = layersJson as Json[];
  const atLayer = (raw: Json, i: number): Fail => (what) => {
    const type = isObject(raw) ? own(raw, 'type') : undefined;
    return fail(`layer ${i + 1}${typeof type === 'string' ? ` (${short(type)})` : ''}: ${what}`);
  };
  const specs: LayerSpec[] = [];
  const shapes: (readonly number[])[] = [];
  let shape: readonly number[] = inputShape;
  records.forEach((raw, i) => {
    const at = atLayer(raw, i);
    if (!isObject(raw)) return at('not an object');
    const type = own(raw, 'type');
    const kind = findKind(type);
    if (!kind) {
      return at(`unknown layer type ${describe(type)}: expected ${LAYER_TYPES.slice(0, -1).join(', ')} or ${LAYER_TYPES[LAYER_TYPES.length - 1]}`);
    }
    const spec = kind.fromJSON(recordReader(raw, at), shape);
    try {
      shape = layerOutShape(spec, shape, i);
    } catch (error) {
      if (error instanceof PlanError) at(error.message);
      throw error;
    }
    specs.push(spec);
    shapes.push(shape);
  });
  try {
    planNetwork(specs, inputShape, { impliedFlatten: false });
  } catch (error) {
    if (error instanceof PlanError) atLayer(records[error.at], error.at)(error.message);
    throw error;
  }
  if (shape.length !== 1 || shape[0] !== CLASSES) fail(`the layers end in ${shape.join('×')} values, expected ${CLASSES} class scores`);

  // 2. "arch" is for people; it must say what the layers are.
  const arch = parseArchField(own(doc, 'arch'), specs, shapes, inputShape, fail);

  // 3. Build, then read every array into its parameter or buffer.
  const net = new Sequential(specs, inputShape);
  net.layers.forEach((layer, i) => {
    const raw = records[i] as Record<string, Json>;
    const at = atLayer(raw, i);
    for (const p of layer.params()) readFloats(raw, p.name, p.value, at);
    for (const b of layer.buffers?.() ?? []) readFloats(raw, b.name, b.value, at, b.min);
    if (own(raw, 'bias') !== undefined && !layer.params().some((p) => p.name === 'bias')) {
      at('has a "bias", but a batchnorm layer follows, which would cancel it: kconv leaves the bias out there (remove it)');
    }
  });

  const optimizerState = parseOptimizerState(own(doc, 'optimizerState'), net, fail);
  const training = readTraining(own(doc, 'training'), fail);
  return { input, arch, net, ...(training ? { training } : {}), ...(optimizerState ? { optimizerState } : {}) };
}

/** Reads a layer record's settings for its descriptor: own properties, one-line errors. */
function recordReader(raw: Record<string, Json>, at: Fail): RecordReader {
  return {
    int(key, min) {
      const v = int(min, Infinity)(own(raw, key), `"${key}"`, at);
      return v > 0x7fffffff ? at(`"${key}" is ${v}, more than any layer can have`) : v;
    },
    number: (key, ok, what) => num(ok, what)(own(raw, key), `"${key}"`, at),
    has: (key) => own(raw, key) !== undefined,
    fail: at,
  };
}

/** The array `key` of a record into `out`: the right length, finite float32 values (≥ min when given). */
function readFloats(raw: Record<string, Json>, key: string, out: Float32Array, at: Fail, min?: number): void {
  const v = own(raw, key);
  if (!Array.isArray(v)) return at(`"${key}" is missing or not an array`);
  if (v.length !== out.length) return at(`${key} has ${v.length} numbers, expected ${out.length}`);
  for (let j = 0; j < out.length; j++) {
    const x: Json = v[j];
    if (typeof x !== 'number') return at(`${key}[${j}] is ${describe(x)}, not a number`);
    const f = Math.fround(x);
    if (!Number.isFinite(f)) return at(`${key}[${j}] = ${x} is not a finite float32`);
    if (min !== undefined && f < min) return at(`${key}[${j}] = ${x} is below ${min}`);
    out[j] = f;
  }
}

/**
 * The "arch" field, checked: it must build the same layers as the file has (an implied
 * flatten counts as written). Absent, it is derived from the layers.
 */
function parseArchField(raw: Json, specs: LayerSpec[], shapes: (readonly number[])[], inputShape: readonly number[], fail: Fail): string {
  const tokens = specs.map(formatLayer);
  if (raw === undefined) {
    // A flatten between an image and a layer that takes a flat vector is implied in --arch (net/plan.ts): leave it out.
    const implied = (s: LayerSpec, i: number) =>
      s.type === 'flatten' && (i === 0 ? inputShape : shapes[i - 1]).length !== 1 && i + 1 < specs.length && kindOf(specs[i + 1].type).takes === 'flat';
    return formatArch(specs.filter((s, i) => !implied(s, i)));
  }
  if (typeof raw !== 'string') return fail(`"arch" must be a string, got ${describe(raw)}`);
  let same = false;
  try {
    const built = planNetwork(parseArch(raw), inputShape, { impliedFlatten: true }).map((p) => formatLayer(p.spec));
    same = built.length === tokens.length && built.every((t, i) => t === tokens[i]);
  } catch {
    same = false;
  }
  if (!same) {
    const layers = tokens.join(',');
    fail(`"arch" is ${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw)} but the layers are ${layers.length > 200 ? `${layers.slice(0, 200)}…` : layers}: the file was edited; fix "arch" or remove it`);
  }
  return raw;
}

const positive = num((v) => v > 0, 'a positive number');
const INPUT = object({ channels: positive, height: positive, width: positive, scale: positive, mean: num(() => true, 'a number'), std: positive });

function parseInput(raw: Json, fail: Fail): InputSpec {
  if (!isObject(raw)) return fail('"input" is missing or not an object');
  const input: InputSpec = INPUT(raw, 'input', fail);
  if (input.channels !== DEFAULT_INPUT.channels || input.height !== DEFAULT_INPUT.height || input.width !== DEFAULT_INPUT.width) {
    fail(`input is ${input.channels}×${input.height}×${input.width}; kconv reads 1×28×28 images`);
  }
  const problem = inputProblem(input);
  if (problem) fail(problem);
  return input;
}

/**
 * The optimizer's arrays (momentum, Adam's moments, the live weights under a moving
 * average): one array of finite float32 numbers per parameter (and buffer, for "live").
 */
function parseOptimizerState(raw: Json, net: Sequential, fail: Fail): OptimizerState | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail('"optimizerState" is not an object');
  const count = (key: string) => {
    const v = own(raw, key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(`optimizerState.${key} must be a non-negative integer`);
    return v;
  };
  const arrays = (key: string, lengths: number[], what: string): Float32Array[] => {
    const v = own(raw, key);
    if (!Array.isArray(v) || v.length !== lengths.length) return fail(`optimizerState.${key} must hold one array per ${what} (${lengths.length})`);
    return v.map((a: Json, k: number) => {
      if (!Array.isArray(a) || a.length !== lengths[k]) return fail(`optimizerState.${key}[${k}] must have ${lengths[k]} numbers`);
      const out = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) {
        const x: Json = a[j];
        if (typeof x !== 'number' || !Number.isFinite(Math.fround(x))) return fail(`optimizerState.${key}[${k}][${j}] is not a finite number`);
        out[j] = x;
      }
      return out;
    });
  };
  const params = net.params().map((p) => p.value.length);
  // m and v: absent or empty when the optimizer keeps none (sgd keeps neither, momentum no v).
  const moments = (key: string) => {
    const v = own(raw, key);
    return v === undefined || (Array.isArray(v) && v.length === 0) ? [] : arrays(key, params, 'parameter');
  };
  const state: OptimizerState = { step: count('step'), m: moments('m'), v: moments('v') };
  if (own(raw, 'live') !== undefined) {
    // The live weights under a moving average: every parameter, then every buffer.
    state.live = arrays('live', net.state().map((s) => s.length), 'parameter and buffer');
    state.emaUpdates = count('emaUpdates');
  }
  return state;
}
