import type { Ensemble } from '../model/ensemble.js';
import type { EpochRecord, InputSpec, ModelFile } from '../model/weights-file.js';
import { layerSpec } from '../net/sequential.js';
import { formatLayer } from '../net/spec.js';
import { convLayers } from '../show/activations.js';
import { baseName } from '../show/layout.js';
import { filterRow, type MapRow } from '../show/digit-view.js';

/**
 * What GET /api/model returns and the page shows: the model's layers (as `kconv info`
 * lists them), its training history, and its first conv layer's filters; for an
 * ensemble, those of its first model (whose maps the page draws), and every model in
 * `members`.
 *
 * Built here from what a loaded model has (each layer's shapes and parameters); when a
 * shared summary function exists (src/model/summary.ts), `layers` and `params` should come
 * from it, and this interface is where to adapt.
 */
/** One model of what is served: its file's name, network, size and training. */
export interface MemberSummary {
  file: string;
  arch: string;
  params: number;
  training: ModelSummary['training'];
}

export interface ModelSummary {
  /** The weights file's name (not its path); an ensemble's manifest name, or its members' names joined by commas. */
  file: string;
  arch: string;
  input: InputSpec;
  layers: { index: number; type: string; spec: string; inShape: number[]; outShape: number[]; params: number }[];
  /** All learnable numbers. */
  params: number;
  training: { epochs: number; seed: number; history: EpochRecord[]; bestEpoch?: number } | null;
  /** The first conv layer's filters (input channel 1), or null without conv layers. */
  filters: MapRow | null;
  /** Every model whose probabilities are averaged (one for a plain weights file). */
  members: MemberSummary[];
  /** The parameters of all the members together. */
  totalParams: number;
}

const paramsOf = (model: ModelFile) => model.net.params().reduce((sum, p) => sum + p.value.length, 0);

function trainingOf(model: ModelFile): ModelSummary['training'] {
  const t = model.training;
  return t ? { epochs: t.epochs, seed: t.seed, history: t.history, ...(t.bestEpoch !== undefined ? { bestEpoch: t.bestEpoch } : {}) } : null;
}

/** The summary of one model (named by `weightsFile`) or of an ensemble (its first model's layers, and every member). */
export function modelSummary(served: ModelFile | Ensemble, weightsFile: string): ModelSummary {
  const members = 'members' in served ? served.members : [served];
  const files = 'members' in served ? served.files : [weightsFile];
  const file = 'members' in served && served.members.length > 1
    ? (served.manifest ? baseName(served.manifest) : served.files.map(baseName).join(','))
    : baseName(weightsFile);
  const model = members[0];
  const first = convLayers(model.net)[0];
  const layers = model.net.layers.map((layer, index) => ({
    index,
    type: layer.type,
    spec: formatLayer(layerSpec(layer)),
    inShape: [...layer.inShape],
    outShape: [...layer.outShape],
    params: layer.params().reduce((sum, p) => sum + p.value.length, 0),
  }));
  const summaries = members.map((m, i) => ({ file: baseName(files[i]), arch: m.arch, params: paramsOf(m), training: trainingOf(m) }));
  return {
    file,
    arch: model.arch,
    input: model.input,
    layers,
    params: layers.reduce((sum, l) => sum + l.params, 0),
    training: trainingOf(model),
    filters: first ? filterRow(first.conv) : null,
    members: summaries,
    totalParams: summaries.reduce((sum, m) => sum + m.params, 0),
  };
}
