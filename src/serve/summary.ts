import type { Ensemble } from '../model/ensemble.js';
import type { EpochRecord, InputSpec, ModelFile } from '../model/weights-file.js';
import { summarizeModel, type NetSummary } from '../model/summary.js';
import { convLayers } from '../show/activations.js';
import { baseName } from '../show/layout.js';
import { filterRow, type MapRow } from '../show/digit-view.js';

/** One model of what is served: its file's name, network, size and training. */
export interface MemberSummary {
  file: string;
  arch: string;
  params: number;
  training: ModelSummary['training'];
}

/**
 * What GET /api/model returns and the page shows: the model's layers (as `kconv info`
 * lists them: from model/summary.ts's summarizeModel, in the server's JSON shape), its
 * training history, and its first conv layer's filters; for an ensemble, those of its
 * first model (whose maps the page draws), and every model in `members`.
 */
export interface ModelSummary {
  /** The weights file's name (not its path); an ensemble's manifest name, or its members' names joined by commas. */
  file: string;
  arch: string;
  input: InputSpec;
  /** 0-based `index`; `spec` is the layer's --arch token. */
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

/** The layers as the page lists them: `kconv info`'s rows, each with the shape it takes in. */
function layersOf(net: NetSummary): ModelSummary['layers'] {
  return net.layers.map((l, i) => ({
    index: l.index - 1,
    type: l.type,
    spec: l.token,
    inShape: [...(i === 0 ? net.inputShape : net.layers[i - 1].outShape)],
    outShape: [...l.outShape],
    params: l.params,
  }));
}

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
  const nets = members.map((m) => summarizeModel(m));
  const summaries = members.map((m, i) => ({ file: baseName(files[i]), arch: m.arch, params: nets[i].totals.params, training: trainingOf(m) }));
  return {
    file,
    arch: model.arch,
    input: model.input,
    layers: layersOf(nets[0]),
    params: nets[0].totals.params,
    training: trainingOf(model),
    filters: first ? filterRow(first.conv) : null,
    members: summaries,
    totalParams: summaries.reduce((sum, m) => sum + m.params, 0),
  };
}
