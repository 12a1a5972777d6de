import { Command } from 'commander';
import { PIXELS } from '../data/index.js';
import { DataError } from '../errors.js';
import type { ImageFiles } from '../image/index.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkOutput } from '../io/output-check.js';
import { loadWeights, type Ensemble } from '../model/ensemble.js';
import { predict } from '../predict/predict.js';
import { activations } from '../show/activations.js';
import type { Canvas } from '../show/canvas.js';
import { renderDigitView } from '../show/digit-view.js';
import { baseName } from '../show/layout.js';
import { renderMistakes } from '../show/mistakes.js';
import { DEFAULT_MISTAKES_LIMIT, showMode, type ShowRequest } from '../show/mode.js';
import { archLine, checkRow, curvesPicture, filtersPicture, mistakesCaption } from '../show/pictures.js';
import { encodePng } from '../show/png.js';
import { terminalView } from '../show/terminal.js';
import { argMax } from '../tensor/tensor.js';
import { readInputs } from './inputs.js';
import { classify } from './predict.js';
import { nonNegativeInt, positiveInt } from './options.js';
import type { Io } from './output.js';
import { threadsToUse } from './threads.js';
import { firstMemberNote, modelTitle, namedWeights, WEIGHTS_HELP } from './weights.js';

type ShowFlags = ShowRequest & { weights: string };

async function writePicture(io: Io, out: string, canvas: Canvas, what: string): Promise<void> {
  await writeFileAtomic(out, encodePng(canvas));
  io.err(`wrote ${out} (${canvas.width}×${canvas.height}): ${what}\n`);
}

async function showDigit(io: Io, paths: string[], ensemble: Ensemble, flags: ShowFlags): Promise<void> {
  const read = await readInputs(paths, {}, io, { requireRows: true });
  const { images: data, file: name, names } = read;
  const row = flags.row ?? 0;
  checkRow(data, row, name, (read as Partial<ImageFiles>).blank, names);
  const model = ensemble.members[0];
  const pixels = data.pixels.subarray(row * PIXELS, (row + 1) * PIXELS);
  const label = data.labels ? data.labels[row] : null;
  const id = data.ids ? data.ids[row] : null;
  const image = names?.[row];
  const where = image !== undefined ? baseName(image) : `row ${row} of ${baseName(name)}${id === null ? '' : ` (id ${id})`}`;
  // An ensemble's probabilities are the members' mean, as kconv predict gives them; a single model's are its own.
  const probs = ensemble.members.length > 1 ? (await predict(ensemble.members, { n: 1, pixels, labels: null, ids: null }, 1)).probs : undefined;
  if (flags.out === undefined) {
    const acts = activations(model.net, model.input, pixels);
    const p = probs ?? acts.probs;
    io.out(terminalView({ pixels, probs: p, predicted: probs ? argMax(probs) : acts.predicted, label, where, color: Boolean(io.outColor) }));
    return;
  }
  const note = firstMemberNote(ensemble, `the probabilities are the mean of all ${ensemble.members.length}; the filters and feature maps`);
  if (note) io.err(note);
  const view = renderDigitView({
    pixels, label, row, file: name, id, where: image === undefined ? undefined : where, net: model.net, input: model.input,
    arch: archLine(ensemble), weightsFile: modelTitle(ensemble), probs,
  });
  const p = view.acts.predicted;
  await writePicture(io, flags.out, view.canvas, `${where}, ${label === null ? '' : `true ${label}, `}predicted ${p}`);
}

async function showMistakes(io: Io, paths: string[], ensemble: Ensemble, flags: ShowFlags): Promise<void> {
  const { images: data, file: name } = await readInputs(paths, {}, io, { requireRows: true });
  if (!data.labels) {
    throw new DataError(`${name}: has no label column, so there are no mistakes to find: --mistakes needs labelled images (a header such as label,pixel0,…,pixel783)`, name);
  }
  const p = await classify(ensemble, data, threadsToUse(undefined, io), 1, io);
  const limit = flags.limit ?? DEFAULT_MISTAKES_LIMIT;
  const arch = ensemble.members.length === 1 ? ensemble.members[0].arch : `mean of ${ensemble.members.length} models`;
  const { canvas, layout } = renderMistakes({
    pixels: data.pixels, labels: data.labels, predicted: p.labels, probs: p.probs, file: name, weightsFile: modelTitle(ensemble), arch, limit,
  });
  const count = layout.mistakes.length;
  if (count === 0) io.err(`kconv: no mistakes: all ${data.n} images of ${name} are classified correctly\n`);
  await writePicture(io, flags.out!, canvas, mistakesCaption(count, data.n, layout.cells.length));
}

export function showCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('show')
    .description('see what the network sees: a digit with the filters, the feature maps and the probabilities; the filters; the training curves; the mistakes (PNG pictures, or a digit in the terminal)')
    .argument('[data...]', 'images (.csv or .csv.gz, idx, - for standard input, or PNG/JPEG files and folders): the digit to show, or the labelled images for --mistakes')
    .option('--weights <file>', `${WEIGHTS_HELP}; --filters and --curves draw an ensemble's first model, the digit view its maps`, 'model.json')
    .option('--row <n>', 'which image of the data file to show, 0-based: the first image is row 0 (default 0)', nonNegativeInt('--row'))
    .option('--out <file.png>', 'write a PNG picture (atomically); without --out the digit is drawn in the terminal')
    .option('--filters', 'draw the conv layers\' filters (needs no data file): all of them for a small net, the first layer of a large one')
    .option('--layer <n>', 'with --filters: draw conv layer n (1 is the first), or all of them')
    .option('--curves', 'draw loss and accuracy per epoch, train and validation, from the weights file\'s training history (needs no data file)')
    .option('--mistakes', 'draw the misclassified images of a labelled data file, with their true and predicted digits')
    .option('--limit <n>', `with --mistakes: draw at most n of them, the first in file order (default ${DEFAULT_MISTAKES_LIMIT})`, positiveInt('--limit'))
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv show ../shared/data/kannada/val.csv --row 3                 # the digit in the terminal, and the prediction',
      '  $ kconv show ../shared/data/kannada/val.csv --row 3 --out digit.png # input, filters, feature maps after relu and pool, p(digit)',
      '  $ kconv show --weights model.json --filters --out filters.png',
      '  $ kconv show --weights wide.json --filters --layer 2 --out conv2.png',
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
      const file = paths.length > 0 ? paths.join(' ') : undefined;
      const mode = showMode(file, flags);
      if (flags.out !== undefined) await checkOutput(flags.out, '--out', [...paths.map((f) => ({ flag: '', file: f })), ...namedWeights(flags.weights)]);
      const ensemble = await loadWeights(flags.weights);
      // Filters and curves belong to one model: an ensemble's first (said on stderr).
      const model = ensemble.members[0];
      const weightsFile = ensemble.files[0];
      switch (mode) {
        case 'digit':
          await showDigit(io, paths, ensemble, flags);
          break;
        case 'filters': {
          const memberNote = firstMemberNote(ensemble, 'the filters drawn');
          if (memberNote) io.err(memberNote);
          const { canvas, what, note } = filtersPicture(model, weightsFile, flags.layer);
          if (note) io.err(`kconv: ${note}\n`);
          await writePicture(io, flags.out!, canvas, what);
          break;
        }
        case 'curves': {
          const memberNote = firstMemberNote(ensemble, 'the training curves drawn');
          if (memberNote) io.err(memberNote);
          const { canvas, what } = curvesPicture(model, weightsFile);
          await writePicture(io, flags.out!, canvas, what);
          break;
        }
        case 'mistakes':
          await showMistakes(io, paths, ensemble, flags);
          break;
      }
      setExit(0);
    });
}
