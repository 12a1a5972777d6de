import { Command } from 'commander';
import { PIXELS, type Dataset } from '../data/index.js';
import { DataError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { loadModel, type ModelFile } from '../model/weights-file.js';
import { predict } from '../predict/predict.js';
import { activations, convLayers } from '../show/activations.js';
import type { Canvas } from '../show/canvas.js';
import { historyOf, renderCurves } from '../show/curves.js';
import { renderDigitView } from '../show/digit-view.js';
import { renderFilters } from '../show/filters.js';
import { baseName } from '../show/layout.js';
import { renderMistakes } from '../show/mistakes.js';
import { encodePng } from '../show/png.js';
import { terminalView } from '../show/terminal.js';
import { imageFiles, readInputs } from './image-input.js';
import { nonNegativeInt, positiveInt } from './options.js';
import type { Io } from './output.js';
import { defaultThreads } from './threads.js';

interface ShowFlags {
  weights: string;
  row?: number;
  out?: string;
  filters?: boolean;
  curves?: boolean;
  mistakes?: boolean;
  limit?: number;
  cache: boolean;
}

type Mode = 'digit' | 'filters' | 'curves' | 'mistakes';

export const DEFAULT_MISTAKES_LIMIT = 100;

/** Which picture the options ask for; a UsageError when they do not fit together. */
export function showMode(file: string | undefined, flags: Omit<ShowFlags, 'weights' | 'cache'>): Mode {
  const picked = (['filters', 'curves', 'mistakes'] as const).filter((m) => flags[m]);
  if (picked.length > 1) throw new UsageError(`--${picked.join(' and --')} draw different pictures: give one of them at a time`);
  const mode = (picked[0] ?? 'digit') as Mode;
  if ((mode === 'filters' || mode === 'curves') && file !== undefined) {
    throw new UsageError(`--${mode} draws from the weights file alone: leave out the data file "${file}"`);
  }
  if (mode === 'mistakes' && file === undefined) {
    throw new UsageError('--mistakes needs a labelled data file, e.g. kconv show val.csv --mistakes --out mistakes.png');
  }
  if (mode === 'digit' && file === undefined) {
    throw new UsageError(flags.row !== undefined
      ? '--row picks an image of a data file: give the file too, e.g. kconv show val.csv --row 3'
      : 'nothing to show: give a data file (kconv show val.csv --row 3), or --filters, --curves or --mistakes with --out');
  }
  if (flags.row !== undefined && mode !== 'digit') throw new UsageError(`--row picks the one image to show: it does not go with --${mode}`);
  if (flags.limit !== undefined && mode !== 'mistakes') throw new UsageError('--limit goes with --mistakes (how many mistakes to draw)');
  if (mode !== 'digit' && flags.out === undefined) throw new UsageError(`--${mode} draws a picture: give the file to write it to, e.g. --out ${mode}.png`);
  if (flags.out !== undefined && !/\.png$/i.test(flags.out)) throw new UsageError(`--out writes a PNG picture: give a file name ending in .png, not "${flags.out}"`);
  return mode;
}

async function writePicture(io: Io, out: string, canvas: Canvas, what: string): Promise<void> {
  await writeFileAtomic(out, encodePng(canvas));
  io.err(`wrote ${out} (${canvas.width}×${canvas.height}): ${what}\n`);
}

async function showDigit(io: Io, paths: string[], model: ModelFile, flags: ShowFlags): Promise<void> {
  const data = await readInputs(paths, { cache: flags.cache, requireRows: true }, io);
  const file = data.file;
  const row = flags.row ?? 0;
  if (row >= data.n) {
    throw new UsageError(`--row ${row} is out of range: ${file} has ${data.n} image${data.n === 1 ? '' : 's'}, rows 0 to ${data.n - 1} (rows count from 0)`);
  }
  const pixels = data.pixels.subarray(row * PIXELS, (row + 1) * PIXELS);
  const label = data.labels ? data.labels[row] : null;
  const id = data.ids ? data.ids[row] : null;
  const image = imageFiles(data)?.[row];
  const where = image !== undefined ? baseName(image) : `row ${row} of ${baseName(file)}${id === null ? '' : ` (id ${id})`}`;
  if (flags.out === undefined) {
    const acts = activations(model.net, model.input, pixels);
    io.out(terminalView({ pixels, probs: acts.probs, predicted: acts.predicted, label, where }));
    return;
  }
  const view = renderDigitView({ pixels, label, row, file, id, where: image === undefined ? undefined : where, net: model.net, input: model.input, arch: model.arch, weightsFile: flags.weights });
  const p = view.acts.predicted;
  await writePicture(io, flags.out, view.canvas, `${where}, ${label === null ? '' : `true ${label}, `}predicted ${p}`);
}

async function showMistakes(io: Io, paths: string[], model: ModelFile, flags: ShowFlags): Promise<void> {
  const data: Dataset = await readInputs(paths, { cache: flags.cache, requireRows: true }, io);
  const file = data.file;
  if (!data.labels) {
    throw new DataError(`${file}: has no label column, so there are no mistakes to find: --mistakes needs labelled images (a header such as label,pixel0,…,pixel783)`, file);
  }
  const p = await predict(model, data, defaultThreads());
  const limit = flags.limit ?? DEFAULT_MISTAKES_LIMIT;
  const { canvas, layout } = renderMistakes({
    pixels: data.pixels, labels: data.labels, predicted: p.labels, probs: p.probs, file, weightsFile: flags.weights, arch: model.arch, limit,
  });
  const count = layout.mistakes.length;
  if (count === 0) io.err(`kconv: no mistakes: all ${data.n} images of ${file} are classified correctly\n`);
  const what = count === 0
    ? 'a note that there are no mistakes'
    : `${count} mistake${count === 1 ? '' : 's'} of ${data.n}${count > layout.cells.length ? `, the first ${layout.cells.length} drawn (--limit)` : ''}`;
  await writePicture(io, flags.out!, canvas, what);
}

export function showCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('show')
    .description('see what the network sees: a digit with the filters, the feature maps and the probabilities; the filters; the training curves; the mistakes (PNG pictures, or a digit in the terminal)')
    .argument('[data...]', 'images (.csv or .csv.gz, idx, or PNG/JPEG files and folders): the digit to show, or the labelled images for --mistakes')
    .option('--weights <file>', 'weights file written by kconv train', 'model.json')
    .option('--row <n>', 'which image of the data file to show, 0-based: the first image is row 0 (default 0)', nonNegativeInt('--row'))
    .option('--out <file.png>', 'write a PNG picture (atomically); without --out the digit is drawn in the terminal')
    .option('--filters', 'draw every conv layer\'s filters (needs no data file)')
    .option('--curves', 'draw loss and accuracy per epoch, train and validation, from the weights file\'s training history (needs no data file)')
    .option('--mistakes', 'draw the misclassified images of a labelled data file, with their true and predicted digits')
    .option('--limit <n>', `with --mistakes: draw at most n of them, the first in file order (default ${DEFAULT_MISTAKES_LIMIT})`, positiveInt('--limit'))
    .option('--no-cache', 'do not read or write the parsed-data cache')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv show ../shared/data/kannada/val.csv --row 3                 # the digit in the terminal, and the prediction',
      '  $ kconv show ../shared/data/kannada/val.csv --row 3 --out digit.png # input, filters, feature maps after relu and pool, p(digit)',
      '  $ kconv show --weights model.json --filters --out filters.png',
      '  $ kconv show --weights model.json --curves --out curves.png',
      '  $ kconv show ../shared/data/kannada/val.csv --mistakes --out mistakes.png',
      '  $ kconv show digit.png --out digit-view.png                        # a photo or scan, preprocessed as MNIST',
      '',
      'Rows are 0-based: row 0 is the first image after the header (as kconv predict numbers a file without ids).',
      'Colours: filters and signed maps blue (negative), white (0), red (positive); feature maps after relu',
      'black (0) to yellow (the largest value of that row of maps).',
      '',
    ].join('\n'))
    .action(async (paths: string[], flags: ShowFlags) => {
      const mode = showMode(paths.length > 0 ? paths.join(' ') : undefined, flags);
      const model = await loadModel(flags.weights);
      switch (mode) {
        case 'digit':
          await showDigit(io, paths, model, flags);
          break;
        case 'filters': {
          const convs = convLayers(model.net).length;
          if (convs === 0) throw new UsageError(`${flags.weights}: the network (${model.arch}) has no conv layers, so it has no filters to draw`);
          const { canvas } = renderFilters(model.net, flags.weights, model.arch);
          await writePicture(io, flags.out!, canvas, `the filters of ${convs} conv layer${convs === 1 ? '' : 's'}`);
          break;
        }
        case 'curves': {
          const history = historyOf(model.training, flags.weights);
          const { canvas } = renderCurves({ history, weightsFile: flags.weights, arch: model.arch, bestEpoch: model.training?.bestEpoch });
          await writePicture(io, flags.out!, canvas, `loss and accuracy over ${history.length} epoch${history.length === 1 ? '' : 's'}`);
          break;
        }
        case 'mistakes':
          await showMistakes(io, paths, model, flags);
          break;
      }
      setExit(0);
    });
}
