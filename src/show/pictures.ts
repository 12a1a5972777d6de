/**
 * The pictures of `kconv show` that need no data file, as a canvas and a caption (what
 * it shows), and the picking of the image and the layers to draw. The command line
 * writes the canvas and says the caption.
 */
import type { Images } from '../data/index.js';
import { DataError, UsageError } from '../errors.js';
import { BLANK_MESSAGE } from '../image/index.js';
import type { Ensemble } from '../model/ensemble.js';
import type { ModelFile } from '../model/weights-file.js';
import { convLayers } from './activations.js';
import type { Canvas } from './canvas.js';
import { historyOf, renderCurves } from './curves.js';
import { renderFilters } from './filters.js';

export interface Picture {
  canvas: Canvas;
  /** What it shows, for the line that says it was written. */
  what: string;
}

/** Above this many filter tiles (filters × input channels) --filters draws only the first conv layer unless told. */
const MAX_DEFAULT_TILES = 512;

/** The conv layers to draw (0-based among them): --layer N, --layer all, or by default all of a small net and the first of a large one (with a note saying so). */
export function filterLayers(net: ModelFile['net'], layer: string | undefined, weightsFile: string): { layers: number[]; note: string | null } {
  const convs = convLayers(net);
  const all = convs.map((_, i) => i);
  if (layer === 'all') return { layers: all, note: null };
  if (layer !== undefined) {
    const k = /^\d+$/.test(layer) ? Number(layer) : NaN;
    if (!(k >= 1 && k <= convs.length)) {
      throw new UsageError(`--layer ${layer}: ${weightsFile} has ${convs.length} conv layer${convs.length === 1 ? '' : 's'}; give a number from 1 to ${convs.length}, or all`);
    }
    return { layers: [k - 1], note: null };
  }
  const tiles = convs.reduce((sum, { conv }) => sum + conv.outChannels * conv.inChannels, 0);
  if (tiles <= MAX_DEFAULT_TILES || convs.length === 1) return { layers: all, note: null };
  return {
    layers: [0],
    note: `the network has ${convs.length} conv layers with ${tiles.toLocaleString('en-US')} filter tiles in all: drawing conv1; --layer N draws conv layer N, --layer all every one`,
  };
}

/** --filters: the filters of the layers --layer picks (see filterLayers), with its note. */
export function filtersPicture(model: ModelFile, weightsFile: string, layer: string | undefined): Picture & { note: string | null } {
  const convs = convLayers(model.net).length;
  if (convs === 0) throw new UsageError(`${weightsFile}: the network (${model.arch}) has no conv layers, so it has no filters to draw`);
  const { layers, note } = filterLayers(model.net, layer, weightsFile);
  const { canvas } = renderFilters(model.net, weightsFile, model.arch, { layers });
  const what = layers.length === convs ? `the filters of ${convs} conv layer${convs === 1 ? '' : 's'}` : `the filters of conv layer ${layers[0] + 1} of ${convs}`;
  return { canvas, what, note };
}

/** --curves: loss and accuracy per epoch from the file's training record. */
export function curvesPicture(model: ModelFile, weightsFile: string): Picture {
  const history = historyOf(model.training, weightsFile);
  const { canvas } = renderCurves({ history, weightsFile, arch: model.arch, bestEpoch: model.training?.bestEpoch });
  return { canvas, what: `loss and accuracy over ${history.length} epoch${history.length === 1 ? '' : 's'}` };
}

/** How pictures name the model: its architecture, or for an ensemble its size and the member whose maps are drawn. */
export function archLine(e: Ensemble): string {
  const first = e.members[0].arch;
  return e.members.length === 1 ? first : `mean of ${e.members.length} models; maps of model 1, ${first}`;
}

/** Throws unless `row` is an image of the data (`name`), and not a blank picture (`blank`: their rows, with `names` the files). */
export function checkRow(data: Images, row: number, name: string, blank?: readonly number[], names?: readonly string[]): void {
  if (row >= data.n) {
    throw new UsageError(`--row ${row} is out of range: ${name} has ${data.n} image${data.n === 1 ? '' : 's'}, rows 0 to ${data.n - 1} (rows count from 0)`);
  }
  if (blank?.includes(row)) throw new DataError(`${names![row]}: ${BLANK_MESSAGE}`, names![row]);
}

/** What a mistakes picture shows: how many of `n` images are wrong, and how many of them are drawn. */
export function mistakesCaption(count: number, n: number, drawn: number): string {
  return count === 0
    ? 'a note that there are no mistakes'
    : `${count} mistake${count === 1 ? '' : 's'} of ${n}${count > drawn ? `, the first ${drawn} drawn (--limit)` : ''}`;
}
