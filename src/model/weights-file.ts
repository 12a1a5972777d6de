import { open } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { RecordReader } from '../layers/kind.js';
import type { Layer } from '../layers/layer.js';
import { findKind, kindOfLayer, LAYER_TYPES, type LayerSpec } from '../layers/registry.js';
import { CLASSES, DEFAULT_INPUT, inputProblem, type InputSpec } from '../net/input.js';
import { layerOutShape, planNetwork, PlanError } from '../net/plan.js';
import { Sequential } from '../net/sequential.js';
import { formatArch, formatLayer, parseArch } from '../net/spec.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { MAX_ELASTIC, type AugmentSettings } from '../augment/augment.js';
import { SCHEDULES } from '../optim/schedule.js';
import { float32ArrayToJsonBytes } from './float-json.js';

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
/** A weights file nests 5 levels (document, training, history, record; optimizerState, m, array). */
export const MAX_JSON_DEPTH = 32;

export type { InputSpec } from '../net/input.js';
export { DEFAULT_INPUT } from '../net/input.js';
export { formatArch };

export interface EpochRecord {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  seconds: number;
  lr: number;
}

/** The training images as recorded in the weights file: name, count and a hash of their content. */
export interface DataFingerprint {
  file: string;
  images: number;
  /** sha256 of the pixels and labels as read (the same for a CSV, its .gz or its idx files). */
  sha256: string;
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainingRecord {
  /** Target number of epochs. */
  epochs: number;
  seed: number;
  batchSize: number;
  optimizer: { name: string; lr: number; momentum: number; beta2: number; eps: number; weightDecay: number };
  schedule: string;
  /** The step at which the current learning-rate schedule began, when a resume changed the rate, schedule or optimizer. */
  scheduleFrom?: number;
  validation: { kind: 'split'; fraction: number } | { kind: 'file'; file: string } | { kind: 'none' };
  /** true/false: the affine augmentation or none; an object when more parts are on (augment/augment.ts). */
  augment: boolean | AugmentSettings;
  /** The loss's label smoothing ε, when not 0. */
  labelSmoothing?: number;
  /** The decay of the weights' moving average (the file's weights are that average), when one was kept. */
  ema?: number;
  limit: number | null;
  threads?: number;
  /** What was trained on, so that a resume can tell when the data changed. */
  data?: DataFingerprint;
  /** Fine-tuned: the weights file the run started from (kconv train --init). */
  init?: { file: string };
  /** Fine-tuned with the first `freeze` layers that have parameters kept fixed. */
  freeze?: number;
  /** Fine-tuned with replay: the images mixed in (ratio per training image each epoch). */
  replay?: DataFingerprint & { ratio: number };
  history: EpochRecord[];
  /** Set when training stopped inside an epoch: where to pick up. */
  position?: { epoch: number; batch: number; lossSum: number; correct: number; seen: number; dropoutState?: number };
  /** Index of the best epoch's record when --save-best kept it, else absent. */
  bestEpoch?: number;
}

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

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Own properties only: a key like __proto__ in the file must never reach a prototype. */
const own = (o: Record<string, Json>, key: string): Json => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined);
const short = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

/** A value as a message quotes it: short, whatever the file holds. */
export function describe(v: Json): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(short(v));
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

/** True when the JSON text nests arrays and objects deeper than `max` (strings skipped). */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

type Fail = (what: string) => never;

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
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) fail(`JSON nested more than ${MAX_JSON_DEPTH} levels deep: not a kconv weights file`);
  let doc: Json;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message}): is it a kconv weights file, complete and not truncated?`);
  }
  if (!isObject(doc)) return fail('not a kconv weights file (expected a JSON object)');
  if (own(doc, 'format') !== MODEL_FORMAT) fail(`not a kconv weights file ("format" is ${own(doc, 'format') === undefined ? 'missing' : describe(own(doc, 'format'))}, expected "${MODEL_FORMAT}")`);
  const version = own(doc, 'version');
  if (typeof version !== 'number' || !Number.isInteger(version)) return fail('"version" is missing or not an integer');
  if (version > MODEL_VERSION) fail(`weights file version ${version} was made by a newer kconv (this one reads version ${MODEL_VERSION}): upgrade kconv`);
  if (version < 1) fail(`unknown weights file version ${version}`);

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
  const training = parseTraining(own(doc, 'training'), fail);
  return { input, arch, net, ...(training ? { training } : {}), ...(optimizerState ? { optimizerState } : {}) };
}

/** Reads a layer record's settings for its descriptor: own properties, one-line errors. */
function recordReader(raw: Record<string, Json>, at: Fail): RecordReader {
  return {
    int(key, min) {
      const v = own(raw, key);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) return at(`"${key}" must be an integer ≥ ${min}, got ${describe(v)}`);
      if (v > 0x7fffffff) return at(`"${key}" is ${v}, more than any layer can have`);
      return v;
    },
    number(key, ok, what) {
      const v = own(raw, key);
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) return at(`"${key}" must be ${what}, got ${describe(v)}`);
      return v;
    },
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
    // A flatten between an image and a dense layer is implied in --arch: leave it out.
    return formatArch(specs.filter((s, i) => !(s.type === 'flatten' && (i === 0 ? inputShape : shapes[i - 1]).length !== 1 && specs[i + 1]?.type === 'dense')));
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

function parseInput(raw: Json, fail: Fail): InputSpec {
  if (!isObject(raw)) return fail('"input" is missing or not an object');
  const num = (key: keyof InputSpec, positive: boolean): number => {
    const v = own(raw, key);
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) return fail(`input.${key} must be a ${positive ? 'positive ' : ''}number, got ${describe(v)}`);
    return v;
  };
  const input: InputSpec = {
    channels: num('channels', true),
    height: num('height', true),
    width: num('width', true),
    scale: num('scale', true),
    mean: num('mean', false),
    std: num('std', true),
  };
  if (input.channels !== DEFAULT_INPUT.channels || input.height !== DEFAULT_INPUT.height || input.width !== DEFAULT_INPUT.width) {
    fail(`input is ${input.channels}×${input.height}×${input.width}; kconv reads 1×28×28 images`);
  }
  const problem = inputProblem(input);
  if (problem) fail(problem);
  return input;
}

function parseOptimizerState(raw: Json, net: Sequential, fail: Fail): OptimizerState | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail('"optimizerState" is not an object');
  const params = net.params();
  const step = own(raw, 'step');
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) fail('optimizerState.step must be a non-negative integer');
  const arrays = (key: string): Float32Array[] => {
    const v = own(raw, key);
    if (v === undefined || (Array.isArray(v) && v.length === 0)) return [];
    if (!Array.isArray(v) || v.length !== params.length) return fail(`optimizerState.${key} must hold one array per parameter (${params.length})`);
    return v.map((a: Json, k: number) => {
      if (!Array.isArray(a) || a.length !== params[k].value.length) return fail(`optimizerState.${key}[${k}] must have ${params[k].value.length} numbers`);
      const out = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) {
        const x: Json = a[j];
        if (typeof x !== 'number' || !Number.isFinite(Math.fround(x))) return fail(`optimizerState.${key}[${k}][${j}] is not a finite number`);
        out[j] = x;
      }
      return out;
    });
  };
  const state: OptimizerState = { step: step as number, m: arrays('m'), v: arrays('v') };
  const live = own(raw, 'live');
  if (live !== undefined) {
    // The live weights under a moving average: every parameter, then every buffer.
    const shapes = net.state();
    if (!Array.isArray(live) || live.length !== shapes.length) return fail(`optimizerState.live must hold one array per parameter and buffer (${shapes.length})`);
    state.live = live.map((a: Json, k: number) => {
      if (!Array.isArray(a) || a.length !== shapes[k].length) return fail(`optimizerState.live[${k}] must have ${shapes[k].length} numbers`);
      const out = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) {
        const x: Json = a[j];
        if (typeof x !== 'number' || !Number.isFinite(Math.fround(x))) return fail(`optimizerState.live[${k}][${j}] is not a finite number`);
        out[j] = x;
      }
      return out;
    });
    const updates = own(raw, 'emaUpdates');
    if (typeof updates !== 'number' || !Number.isSafeInteger(updates) || updates < 0) return fail('optimizerState.emaUpdates must be a non-negative integer');
    state.emaUpdates = updates;
  }
  return state;
}

/**
 * The training record, checked field by field (a resume trusts every one of them), and
 * rebuilt in the order kconv writes it, so a file read and written again is unchanged.
 */
function parseTraining(raw: Json, fail: Fail): TrainingRecord | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) return fail(`"training" must be an object, got ${describe(raw)}`);
  const field = (obj: Record<string, Json>, path: string) => {
    const get = (key: string) => own(obj, key);
    const bad = (key: string, what: string): never => fail(`${path}${key} must be ${what}, got ${describe(get(key))}`);
    return {
      get,
      int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const v = get(key);
        return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : bad(key, `an integer ≥ ${min}`);
      },
      num(key: string, ok: (v: number) => boolean, what: string): number {
        const v = get(key);
        return typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : bad(key, what);
      },
      oneOf<T extends string>(key: string, values: readonly T[]): T {
        const v = get(key);
        return (values as readonly unknown[]).includes(v) ? (v as T) : bad(key, `one of ${values.join(', ')}`);
      },
      object(key: string): Record<string, Json> {
        const v = get(key);
        return isObject(v) ? v : fail(`${path}${key} must be an object`);
      },
    };
  };
  const t = field(raw, 'training.');
  const epochs = t.int('epochs', 1);
  const seed = t.int('seed', 0);
  const batchSize = t.int('batchSize', 1, 0x7fffffff);
  const o = field(t.object('optimizer'), 'training.optimizer.');
  const optimizer = {
    name: o.oneOf('name', ['sgd', 'momentum', 'adam'] as const),
    momentum: o.num('momentum', (v) => v >= 0 && v < 1, 'a number from 0 to below 1'),
    beta2: o.num('beta2', (v) => v >= 0 && v < 1, 'a number from 0 to below 1'),
    eps: o.num('eps', (v) => v > 0, 'a number > 0'),
    weightDecay: o.num('weightDecay', (v) => v >= 0, 'a number ≥ 0'),
    lr: o.num('lr', (v) => v > 0, 'a number > 0'),
  };
  const schedule = t.oneOf('schedule', SCHEDULES);
  const scheduleFrom = t.get('scheduleFrom') === undefined ? undefined : t.int('scheduleFrom', 1);
  const validation = parseValidation(t.get('validation'), fail);
  const augmentRaw = t.get('augment');
  let augment: boolean | AugmentSettings = augmentRaw === true;
  if (isObject(augmentRaw)) {
    const a = field(augmentRaw, 'training.augment.');
    const affine = a.get('affine');
    if (typeof affine !== 'boolean') fail(`training.augment.affine must be true or false, got ${describe(affine)}`);
    augment = {
      affine: affine as boolean,
      elastic: a.num('elastic', (v) => v >= 0 && v <= MAX_ELASTIC, `a number from 0 to ${MAX_ELASTIC}`),
      stroke: a.num('stroke', (v) => v >= 0 && v <= 1, 'a number from 0 to 1'),
      contrast: a.num('contrast', (v) => v >= 0 && v <= 1, 'a number from 0 to 1'),
      erase: a.num('erase', (v) => v >= 0 && v <= 1, 'a number from 0 to 1'),
    };
  } else if (augmentRaw !== undefined && typeof augmentRaw !== 'boolean') {
    fail(`training.augment must be true, false or the augmentation's settings, got ${describe(augmentRaw)}`);
  }
  const labelSmoothing = t.get('labelSmoothing') === undefined ? undefined : t.num('labelSmoothing', (v) => v > 0 && v < 1, 'a number above 0 and below 1');
  const ema = t.get('ema') === undefined ? undefined : t.num('ema', (v) => v > 0 && v < 1, 'a number above 0 and below 1');
  const limitRaw = t.get('limit');
  if (limitRaw !== null && !(typeof limitRaw === 'number' && Number.isSafeInteger(limitRaw) && limitRaw >= 1)) {
    fail(`training.limit must be null or an integer ≥ 1, got ${describe(limitRaw)}`);
  }
  const threads = t.get('threads') === undefined ? undefined : t.int('threads', 1, 4096);
  const fingerprint = (key: string): DataFingerprint => {
    const d = field(t.object(key), `training.${key}.`);
    const file = d.get('file');
    const sha256 = d.get('sha256');
    if (typeof file !== 'string' || file.length > 4096) fail(`training.${key}.file must be a file name, got ${describe(file)}`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) fail(`training.${key}.sha256 must be 64 hex digits, got ${describe(sha256)}`);
    return { file: file as string, images: d.int('images', 1), sha256: sha256 as string };
  };
  const data = t.get('data') !== undefined ? fingerprint('data') : undefined;
  let init: TrainingRecord['init'];
  if (t.get('init') !== undefined) {
    const file = own(t.object('init'), 'file');
    if (typeof file !== 'string' || file === '' || file.length > 4096) fail(`training.init.file must be a file name, got ${describe(file)}`);
    init = { file: file as string };
  }
  const freeze = t.get('freeze') === undefined ? undefined : t.int('freeze', 1, 4096);
  let replay: TrainingRecord['replay'];
  if (t.get('replay') !== undefined) {
    const ratio = field(t.object('replay'), 'training.replay.').num('ratio', (v) => v > 0 && v <= 1000, 'a number above 0, at most 1000');
    replay = { ...fingerprint('replay'), ratio };
  }
  const historyRaw = t.get('history');
  if (!Array.isArray(historyRaw)) return fail(`training.history must be an array of epoch records, got ${describe(historyRaw)}`);
  if (historyRaw.length > epochs) fail(`training.history has ${historyRaw.length} epochs, more than training.epochs (${epochs})`);
  const unit = (v: number) => v >= 0 && v <= 1;
  const history: EpochRecord[] = historyRaw.map((r: Json, i: number) => {
    const path = `training.history[${i}].`;
    if (!isObject(r)) return fail(`training.history[${i}] must be an epoch record (an object), got ${describe(r)}`);
    const h = field(r, path);
    const orNull = (key: string, ok: (v: number) => boolean, what: string) => (h.get(key) === null ? null : h.num(key, ok, `null or ${what}`));
    const epoch = h.int('epoch', i + 1, i + 1);
    return {
      epoch,
      loss: h.num('loss', () => true, 'a finite number'),
      acc: h.num('acc', unit, 'a number from 0 to 1'),
      valLoss: orNull('valLoss', () => true, 'a finite number'),
      valAcc: orNull('valAcc', unit, 'a number from 0 to 1'),
      seconds: h.num('seconds', (v) => v >= 0, 'a number ≥ 0'),
      lr: h.num('lr', (v) => v >= 0, 'a number ≥ 0'),
    };
  });
  const record: TrainingRecord = {
    epochs, seed, batchSize, optimizer, schedule,
    ...(scheduleFrom !== undefined ? { scheduleFrom } : {}),
    validation, augment,
    ...(labelSmoothing !== undefined ? { labelSmoothing } : {}),
    ...(ema !== undefined ? { ema } : {}),
    limit: limitRaw as number | null,
    ...(threads !== undefined ? { threads } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(init !== undefined ? { init } : {}),
    ...(freeze !== undefined ? { freeze } : {}),
    ...(replay !== undefined ? { replay } : {}),
    history,
  };
  if (t.get('bestEpoch') !== undefined) record.bestEpoch = t.int('bestEpoch', 1, Math.max(1, history.length));
  if (t.get('position') !== undefined) {
    const p = field(t.object('position'), 'training.position.');
    const expected = history.length + 1;
    const epoch = p.get('epoch');
    if (epoch !== expected || expected > epochs) {
      fail(expected > epochs
        ? 'training.position is set but every epoch is done'
        : `training.position.epoch must be ${expected} (the epoch after the history), got ${describe(epoch)}`);
    }
    const seen = p.int('seen', 0);
    record.position = {
      epoch: expected,
      batch: p.int('batch', 1),
      lossSum: p.num('lossSum', (v) => v >= 0, 'a number ≥ 0'),
      correct: p.int('correct', 0, seen),
      seen,
      ...(p.get('dropoutState') !== undefined ? { dropoutState: p.int('dropoutState', -0x80000000, 0xffffffff) } : {}),
    };
  }
  return record;
}

function parseValidation(raw: Json, fail: Fail): TrainingRecord['validation'] {
  const kind = isObject(raw) ? own(raw, 'kind') : undefined;
  if (isObject(raw)) {
    const fraction = own(raw, 'fraction');
    const file = own(raw, 'file');
    if (kind === 'split' && typeof fraction === 'number' && fraction >= 0 && fraction < 1) return { kind, fraction };
    if (kind === 'file' && typeof file === 'string' && file !== '') return { kind, file };
    if (kind === 'none') return { kind };
  }
  return fail('training.validation must be {"kind": "split", "fraction": F}, {"kind": "file", "file": "…"} or {"kind": "none"}');
}
