/**
 * A trained kconv model as an ONNX model, for onnxruntime (Python, C/C++, C#, Java, a browser).
 *
 * The graph does everything `kconv predict` does, from raw pixels to probabilities:
 *
 *   pixels [N,1,28,28] float32, 0–255
 *     → Mul(1 / (scale·std)) → Add(−mean / std)        the weights file's preprocessing
 *     → the nodes of each kconv layer, as its registry descriptor writes them (Conv, Relu,
 *       MaxPool, AveragePool, GlobalAveragePool + Flatten, BatchNormalization, Flatten, Gemm;
 *       dropout left out)
 *     → Softmax(axis 1) → probabilities [N,10]
 *
 * An ensemble repeats that chain once per model (named m1., m2., …), all from the same
 * pixels, and ends in Mean of their softmax outputs → probabilities.
 *
 * The messages come from ONNX's own schema (onnx.proto, compiled by protoc-gen-es in the
 * `onnx-buf` package) and are encoded by `@bufbuild/protobuf`: no hand-written bytes.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  ModelProtoSchema,
  TensorProto_DataType,
  type AttributeProtoSchema,
  type ModelProto,
  type NodeProto,
  type NodeProtoSchema,
  type TensorProtoSchema,
  type ValueInfoProtoSchema,
} from 'onnx-buf';
import { KconvError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { OnnxAttribute, OnnxEmitter } from '../layers/kind.js';
import { kindOfLayer } from '../layers/registry.js';
import { loadWeights } from '../model/ensemble.js';
import type { ModelFile } from '../model/weights-file.js';

/** Opset 13 (ONNX 1.8, 2020): every onnxruntime since 1.6, onnxruntime-web and PyTorch's importers read it. */
export const ONNX_OPSET = 13;
/** IR version 7 is the one opset 13 came with; newer readers accept it. */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'probabilities';
/** The symbolic batch dimension of the input and output. */
export const ONNX_BATCH_DIM = 'N';

/** The ONNX file could not be written (the weights file's own faults are ModelFileError). */
export class ExportError extends KconvError {}

export interface OnnxOptions {
  /** ModelProto.producer_version: the kconv version. */
  producerVersion?: string;
}

export interface OnnxSummary {
  opset: number;
  /** op_type of every node, in graph order. */
  ops: string[];
  /** Learnable parameters carried over (as `kconv info` counts them; running statistics not included). */
  parameters: number;
  bytes: number;
}

type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
type AttributeInit = MessageInitShape<typeof AttributeProtoSchema>;
type TensorInit = MessageInitShape<typeof TensorProtoSchema>;
type ValueInfoInit = MessageInitShape<typeof ValueInfoProtoSchema>;

function attribute(name: string, a: OnnxAttribute): AttributeInit {
  if ('ints' in a) return { name, type: AttributeProto_AttributeType.INTS, ints: a.ints.map(BigInt) };
  if ('int' in a) return { name, type: AttributeProto_AttributeType.INT, i: BigInt(a.int) };
  return { name, type: AttributeProto_AttributeType.FLOAT, f: a.float };
}
const int = (name: string, value: number): AttributeInit => attribute(name, { int: value });

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorInit {
  return { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, floatData: Array.from(values) };
}

/** A float32 tensor [N, ...rest] with a symbolic batch dimension. */
function batchTensorInfo(name: string, rest: number[], doc: string): ValueInfoInit {
  return {
    name,
    docString: doc,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: TensorProto_DataType.FLOAT,
          shape: {
            dim: [
              { value: { case: 'dimParam', value: ONNX_BATCH_DIM } },
              ...rest.map((d) => ({ value: { case: 'dimValue' as const, value: BigInt(d) } })),
            ],
          },
        },
      },
    },
  };
}

/**
 * Builds the ONNX ModelProto of a kconv model, or of an ensemble: then each model's nodes
 * and initializers are named under its prefix (m1., m2., …), all read the same `pixels`,
 * each ends in its own Softmax, and `Mean` of those is the output. Inference only:
 * dropout layers, which are the identity when predicting, are left out, and batch
 * normalization uses its running statistics.
 */
export function onnxModel(models: ModelFile | readonly ModelFile[], opts: OnnxOptions = {}): ModelProto {
  const members = Array.isArray(models) ? (models as readonly ModelFile[]) : [models as ModelFile];
  if (members.length === 0) throw new RangeError('onnxModel needs at least one model');
  const nodes: NodeInit[] = [];
  const initializers: TensorInit[] = [];
  const ensemble = members.length > 1;
  const outputs = members.map((model, k) => emitModel(model, ensemble ? `m${k + 1}.` : '', ensemble ? null : ONNX_OUTPUT, nodes, initializers));
  if (ensemble) nodes.push({ name: 'mean', opType: 'Mean', input: outputs, output: [ONNX_OUTPUT] });

  const first = members[0];
  const { input } = first;
  const classes = first.net.outputShape[0];
  const io = `Input "${ONNX_INPUT}": float32 [N,1,28,28], raw pixel values 0 (background) to 255 (ink), row-major. ` +
    `Output "${ONNX_OUTPUT}": float32 [N,${classes}], softmax probabilities of the digits 0..9`;
  const inputJson = (m: ModelFile) => ({ scale: m.input.scale, mean: m.input.mean, std: m.input.std });
  return create(ModelProtoSchema, {
    irVersion: BigInt(ONNX_IR_VERSION),
    opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
    producerName: 'kconv',
    producerVersion: opts.producerVersion ?? '',
    docString: ensemble
      ? `kconv ensemble of ${members.length} models (${members.map((m) => m.arch).join(' | ')}): handwritten Kannada digit classifier (Kannada-MNIST). ${io}, the mean of the models' own.`
      : `kconv ${first.arch}: handwritten Kannada digit classifier (Kannada-MNIST). ${io}.`,
    metadataProps: ensemble
      ? [
        { key: 'kconv.ensemble', value: JSON.stringify(members.map((m, k) => ({ prefix: `m${k + 1}.`, arch: m.arch, input: inputJson(m) }))) },
        { key: 'kconv.preprocessing', value: '(pixel / scale - mean) / std of each model, inside the graph' },
        { key: 'kconv.combine', value: 'the mean of the models\' softmax probabilities' },
      ]
      : [
        { key: 'kconv.arch', value: first.arch },
        { key: 'kconv.input', value: JSON.stringify(inputJson(first)) },
        { key: 'kconv.preprocessing', value: '(pixel / scale - mean) / std, inside the graph' },
      ],
    graph: {
      name: 'kconv',
      node: nodes,
      initializer: initializers,
      input: [batchTensorInfo(ONNX_INPUT, [input.channels, input.height, input.width], 'raw pixel values 0..255, 0 = background')],
      output: [batchTensorInfo(ONNX_OUTPUT, [classes], 'softmax probabilities of the digits 0..9')],
    },
  });
}

/**
 * One model's nodes, from `pixels` to its softmax, every name under `prefix`; the
 * softmax writes `output` (or its own name when null). Returns the softmax's output.
 */
function emitModel(model: ModelFile, prefix: string, output: string | null, nodes: NodeInit[], initializers: TensorInit[]): string {
  const { input, net } = model;
  let current = ONNX_INPUT;
  const node = (name: string, opType: string, inputs: string[], attribute: AttributeInit[] = []): void => {
    nodes.push({ name: prefix + name, opType, input: inputs, output: [prefix + name], attribute });
    current = prefix + name;
  };

  // (pixel / scale − mean) / std as kconv computes it: pixel · a + b.
  initializers.push(floatTensor(`${prefix}preprocess.mul`, [], [1 / (input.scale * input.std)]));
  initializers.push(floatTensor(`${prefix}preprocess.add`, [], [-input.mean / input.std]));
  node('preprocess.scaled', 'Mul', [current, `${prefix}preprocess.mul`]);
  node('preprocess.normalized', 'Add', [current, `${prefix}preprocess.add`]);

  net.layers.forEach((layer, i) => {
    // Nodes are named layer<i>.<type> (then .2, .3 for a layer's further nodes), initializers layer<i>.<type>.<name>.
    const at = `layer${i + 1}.${layer.type}`;
    let count = 0;
    const emitter: OnnxEmitter = {
      get input() {
        return current;
      },
      constant(suffix, dims, values) {
        initializers.push(floatTensor(`${prefix}${at}.${suffix}`, [...dims], values));
        return `${prefix}${at}.${suffix}`;
      },
      node(opType, inputs, attributes = {}) {
        count++;
        node(count === 1 ? at : `${at}.${count}`, opType, [...inputs], Object.entries(attributes).map(([name, a]) => attribute(name, a)));
      },
    };
    kindOfLayer(layer).onnx(layer, emitter);
  });
  const out = output ?? `${prefix}softmax`;
  nodes.push({ name: `${prefix}softmax`, opType: 'Softmax', input: [current], output: [out], attribute: [int('axis', 1)] });
  return out;
}

/** The ONNX file's bytes: the ModelProto encoded by @bufbuild/protobuf. */
export function encodeOnnx(models: ModelFile | readonly ModelFile[], opts: OnnxOptions = {}): { bytes: Uint8Array; summary: OnnxSummary } {
  const members = Array.isArray(models) ? (models as readonly ModelFile[]) : [models as ModelFile];
  const proto = onnxModel(members, opts);
  const bytes = toBinary(ModelProtoSchema, proto);
  return {
    bytes,
    summary: {
      opset: ONNX_OPSET,
      ops: proto.graph!.node.map((n: NodeProto) => n.opType),
      parameters: members.reduce((sum, m) => sum + m.net.params().reduce((a, p) => a + p.value.length, 0), 0),
      bytes: bytes.length,
    },
  };
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENOTEMPTY: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/**
 * Reads a weights file (or an ensemble: a manifest, or weights files separated by
 * commas) and writes it as an ONNX model, atomically (a temporary file renamed over
 * the target). Throws ModelFileError for the weights, ExportError for the output.
 */
export async function exportOnnx(weightsPath: string, outPath: string, opts: OnnxOptions = {}): Promise<OnnxSummary> {
  const { members } = await loadWeights(weightsPath, '');
  return writeOnnx(members, outPath, opts);
}

/** Writes loaded models (one, or an ensemble's) as an ONNX file, atomically; ExportError when it cannot be written. */
export async function writeOnnx(models: ModelFile | readonly ModelFile[], outPath: string, opts: OnnxOptions = {}): Promise<OnnxSummary> {
  const { bytes, summary } = encodeOnnx(models, opts);
  try {
    await writeFileAtomic(outPath, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ExportError(`${outPath}: cannot write the ONNX file: ${WRITE_ERRORS[code] ?? (code || (error as Error).message)}`);
  }
  return summary;
}
