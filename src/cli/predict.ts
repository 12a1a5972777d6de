import { Command, InvalidArgumentError } from 'commander';
import { shellWord, type DataFile, type Images } from '../data/index.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkOutput, type NamedInput } from '../io/output-check.js';
import { float32ToString } from '../model/float-json.js';
import { loadWeights, type Ensemble } from '../model/ensemble.js';
import { computeMetrics, formatMetrics } from '../predict/metrics.js';
import { CLASSES } from '../net/input.js';
import { predict, type Predictions } from '../predict/predict.js';
import { MAX_TTA } from '../augment/tta.js';
import { startTask } from './bar.js';
import { readInputs, refuseStdinTwice, withoutBlankPictures } from './inputs.js';
import { positiveInt, withReadOptions } from './options.js';

const ttaViews = (value: string): number => {
  const n = positiveInt('--tta')(value);
  if (n > MAX_TTA) throw new InvalidArgumentError(`--tta takes 1 to ${MAX_TTA} views, got "${value}".`);
  return n;
};
import type { Io } from './output.js';
import { threadsToUse } from './threads.js';
import { ensembleInputs, namedWeights, WEIGHTS_HELP } from './weights.js';

interface PredictFlags {
  weights: string;
  out?: string;
  probs?: boolean;
  json?: boolean;
  skipBadRows?: boolean;
  threads?: number;
  labels?: string;
  tta: number;
}

/** `id` is the file's id column where it has one, else the 0-based row index; images read from files have their `file` instead. */
const idOf = (data: Images, i: number) => (data.ids ? data.ids[i] : i);

/** A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvOutput({ images: data, names }: DataFile, p: Predictions, withProbs: boolean): string {
  const head = `${names ? 'file' : 'id'},label`;
  const rows: string[] = [withProbs ? head + ',' + Array.from({ length: CLASSES }, (_, k) => `p${k}`).join(',') : head];
  for (let i = 0; i < data.n; i++) {
    let row = `${names ? csvField(names[i]) : idOf(data, i)},${p.labels[i]}`;
    if (withProbs) for (let k = 0; k < CLASSES; k++) row += ',' + float32ToString(p.probs[i * CLASSES + k]);
    rows.push(row);
  }
  return rows.join('\n') + '\n';
}

function jsonOutput({ images: data, names }: DataFile, p: Predictions, withProbs: boolean, metrics: object | null): string {
  const lines: string[] = [];
  for (let i = 0; i < data.n; i++) {
    const probs = withProbs ? `,"probs":[${Array.from(p.probs.subarray(i * CLASSES, (i + 1) * CLASSES), float32ToString).join(',')}]` : '';
    const key = names ? `"file":${JSON.stringify(names[i])}` : `"id":${idOf(data, i)}`;
    lines.push(`{${key},"label":${p.labels[i]}${probs}}`);
  }
  if (metrics) lines.push(JSON.stringify({ metrics }));
  return lines.join('\n') + '\n';
}

/** predict() with a progress bar on a terminal (--tta 8 on 10,000 images takes half a minute). */
export async function classify(ensemble: Ensemble, images: Images, threads: number, tta: number, io: Io): Promise<Predictions> {
  const perImage = tta * ensemble.members.length;
  const task = startTask(io, 'classifying', perImage > 1 ? `image views (${images.n} images × ${perImage})` : 'images');
  try {
    return await predict(ensemble.members, images, threads, tta, (done, total) => task.tick(done, total));
  } finally {
    task.end();
  }
}

/** Which weights a command used: the file, or an ensemble's manifest or list and its size. */
export function describeWeights(e: Ensemble): string {
  return e.members.length === 1 ? `${e.files[0]} (${e.members[0].arch})` : `${e.name} (an ensemble of ${e.members.length} models)`;
}

export function predictCommand(io: Io, setExit: (code: number) => void): Command {
  return withReadOptions(new Command('predict'))
    .description('classify every image of a CSV, or PNG/JPEG image files, with a trained model; writes id,label (the Kaggle submission format), or file,label for images')
    .argument('<images...>', 'a CSV (id,pixel0..pixel783, label,pixel0..., or pixels only; .csv or .csv.gz) or an idx images file, - for standard input; or PNG/JPEG files and folders of them (0/ … 9/ subfolders give labels)')
    .option('--weights <file>', WEIGHTS_HELP, 'model.json')
    .option('--out <file>', 'write the predictions to this file (atomically) instead of stdout')
    .option('--probs', 'add columns p0..p9: the softmax probabilities')
    .option('--json', 'JSON lines instead of CSV (the last line carries the metrics when the file has labels)')
    .option('--threads <n>', 'threads to classify with (default: the machine\'s cores)', positiveInt('--threads'))
    .option('--tta <n>', `test-time augmentation: average the probabilities over the image and n − 1 fixed small warps of it (1 to ${MAX_TTA}; default 1, none)`, ttaViews, 1)
    .addHelpText('after', [
      '',
      'Example:',
      '  $ kconv predict ../shared/data/kannada/test.csv --weights model.json --out submission.csv',
      '  $ kconv predict ../shared/data/kannada/val.csv --probs | head',
      '  $ gunzip -c images.csv.gz | kconv predict - > submission.csv',
      '  $ kconv predict digit.png scans/ --weights model.json    # images: file,label',
      '  $ kconv predict test.csv --weights a.json,b.json,c.json  # an ensemble: the mean of their probabilities',
      '',
      'When the file has labels, the accuracy, per-digit precision/recall and the confusion matrix go to stderr.',
      '',
    ].join('\n'))
    .action(async (paths: string[], flags: PredictFlags) => {
      const inputs: NamedInput[] = [...paths.map((file) => ({ flag: '', file })), { flag: '--labels', file: flags.labels }];
      refuseStdinTwice(inputs);
      if (flags.out !== undefined) await checkOutput(flags.out, '--out', [...inputs, ...namedWeights(flags.weights)]);
      const ensemble = await loadWeights(flags.weights);
      if (flags.out !== undefined && ensemble.manifest) await checkOutput(flags.out, '--out', ensembleInputs(ensemble));
      const data = withoutBlankPictures(await readInputs(paths, flags, io, { requireRows: true, labels: flags.labels }), io);
      const { images, file: name } = data;
      const p = await classify(ensemble, images, threadsToUse(flags.threads, io), flags.tta, io);
      const metrics = images.labels ? computeMetrics(images.labels, p.labels) : null;
      const text = flags.json ? jsonOutput(data, p, Boolean(flags.probs), metrics) : csvOutput(data, p, Boolean(flags.probs));
      if (flags.out) {
        await writeFileAtomic(flags.out, text);
        io.err(`wrote ${images.n} predictions to ${flags.out}\n`);
      } else {
        io.out(text);
      }
      if (metrics) io.err(formatMetrics(metrics, name));
      setExit(0);
    });
}

export function evaluateCommand(io: Io, setExit: (code: number) => void): Command {
  return withReadOptions(new Command('evaluate'))
    .description('accuracy, per-digit precision and recall, and the confusion matrix of a model on a labelled CSV or folder of images')
    .argument('<labelled...>', 'labelled images: label,pixel0..pixel783 (.csv or .csv.gz), an idx images file with its labels, - for standard input, or a folder of PNG/JPEG images in subfolders 0/ … 9/')
    .option('--weights <file>', WEIGHTS_HELP, 'model.json')
    .option('--json', 'print the report as one JSON document')
    .option('--threads <n>', 'threads to classify with (default: the machine\'s cores)', positiveInt('--threads'))
    .option('--tta <n>', `test-time augmentation: average the probabilities over the image and n − 1 fixed small warps of it (1 to ${MAX_TTA}; default 1, none)`, ttaViews, 1)
    .addHelpText('after', '\nExamples:\n  $ kconv evaluate ../shared/data/kannada/val.csv --weights model.json\n  $ kconv evaluate scans/ --weights model.json      # scans/0/*.png … scans/9/*.png\n  $ kconv evaluate val.csv --weights ensemble.json  # an ensemble (kconv train --ensemble 3 --out ensemble.json)\n')
    .action(async (paths: string[], flags: Omit<PredictFlags, 'out' | 'probs'>) => {
      refuseStdinTwice([...paths.map((file) => ({ flag: '', file })), { flag: '--labels', file: flags.labels }]);
      const ensemble = await loadWeights(flags.weights);
      const labelsHint = `to classify images without labels, use kconv predict ${paths.map(shellWord).join(' ')}`;
      const read = await readInputs(paths, flags, io, { requireRows: true, requireLabels: true, labelsNeededBy: 'evaluation', labelsHint, labels: flags.labels });
      const { images, file: name } = withoutBlankPictures(read, io);
      io.err(`kconv: evaluating ${describeWeights(ensemble)} on ${name}: ${images.n} images\n`);
      const metrics = computeMetrics(images.labels!, (await classify(ensemble, images, threadsToUse(flags.threads, io), flags.tta, io)).labels);
      io.out(flags.json ? JSON.stringify(metrics) + '\n' : formatMetrics(metrics, name));
      setExit(0);
    });
}
