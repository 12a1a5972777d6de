import { Command, InvalidArgumentError } from 'commander';
import type { Images } from '../data/index.js';
import { MAX_MEMBERS } from '../model/ensemble.js';
import { PRESETS, GRAMMAR_HELP } from '../net/spec.js';
import { OPTIMIZERS } from '../optim/optimizer.js';
import { SCHEDULES } from '../optim/schedule.js';
import { MAX_ELASTIC } from '../augment/augment.js';
import { RECIPES } from '../train/recipes.js';
import { claimOutputs, planTraining, ready, recordedThreads, type TrainingPlan } from '../train/plan.js';
import type { TrainRequest, Typed } from '../train/request.js';
import { accuracyBefore } from '../train/init.js';
import { checkReplay, unreadableReplay } from '../train/resume.js';
import { dataFingerprint, type FileTrainOptions } from '../train/trainer.js';
import { readData, refuseStdinTwice, type ReadFlags } from './inputs.js';
import { nonNegativeInt, number, oneOf, positiveInt, withReadOptions } from './options.js';
import type { Io } from './output.js';
import { pct, trainWithProgress } from './train-progress.js';
import { threadsToUse } from './threads.js';

/** The options of kconv train: the request (train/request.ts), how to read the data, and how to report. */
export type TrainFlags = TrainRequest & ReadFlags & { json?: boolean; threads?: number };

function ensembleSize(value: string): number {
  const n = positiveInt('--ensemble')(value);
  if (n < 2 || n > MAX_MEMBERS) throw new InvalidArgumentError(`--ensemble takes 2 to ${MAX_MEMBERS} models, got "${value}".`);
  return n;
}

export function trainCommand(io: Io, setExit: (code: number) => void): Command {
  return withReadOptions(new Command('train'))
    .description('train a CNN on a labelled Kaggle-format CSV and save its weights as JSON')
    .argument('<data.csv>', 'training images: label,pixel0..pixel783 (.csv or .csv.gz), or an idx images file with its labels; - reads standard input')
    .option('--recipe <name>', `a bundle of the options below: ${Object.keys(RECIPES).join(', ')} (see docs/commands.md, Recipes)`, oneOf('--recipe', Object.keys(RECIPES)), 'default')
    .option('--arch <preset|spec>', `network: a preset (${Object.keys(PRESETS).join(', ')}) or layers such as conv8k5,relu,pool2,dense10 (default: default)`)
    .option('--epochs <n>', 'passes over the training data (default 5)', positiveInt('--epochs'))
    .option('--batch-size <n>', 'images per gradient step (default 64)', positiveInt('--batch-size'))
    .option('--optimizer <name>', 'sgd, momentum (0.9) or adam (default momentum)', oneOf('--optimizer', OPTIMIZERS))
    .option('--lr <x>', 'learning rate (default 0.05 for sgd/momentum, 0.001 for adam, 0.003 in the augmented and best recipes)', number('--lr', 0, Infinity, { minExclusive: true }))
    .option('--lr-schedule <name>', `learning-rate schedule: ${SCHEDULES.join(', ')} (default cosine)`, oneOf('--lr-schedule', SCHEDULES))
    .option('--weight-decay <x>', 'L2 penalty on the weights (default 0)', number('--weight-decay', 0, Infinity))
    .option('--augment', 'random rotation (±11°), scale (±10%) and shift (±2 px) of every image, new each epoch')
    .option('--no-augment', 'no augmentation at all, even where the recipe has it')
    .option('--elastic <alpha>', `elastic distortion (Simard 2003) of strength alpha, in pixels of a random field smoothed over ~4 px (0 = off; up to ${MAX_ELASTIC})`, number('--elastic', 0, MAX_ELASTIC))
    .option('--stroke <x>', 'stroke width: up to x of the way to a one-pixel dilation or erosion (0..1, 0 = off)', number('--stroke', 0, 1))
    .option('--contrast <x>', 'contrast: ink ×(1 ± x) and gamma e^(±x) (0..1, 0 = off)', number('--contrast', 0, 1))
    .option('--erase <p>', 'random erasing: the probability of blanking a rectangle of 2–15% of the image (0..1)', number('--erase', 0, 1))
    .option('--label-smoothing <x>', 'label smoothing of the loss, as PyTorch defines it (0 ≤ x < 1, default 0)', number('--label-smoothing', 0, 1, { maxExclusive: true }))
    .option('--ema <decay>', 'validate and save a moving average of the weights with this decay, e.g. 0.999 (0 = off)', number('--ema', 0, 1, { maxExclusive: true }))
    .option('--val <file.csv>', 'validate on this labelled file after each epoch')
    .option('--val-split <f>', 'else hold out this fraction of the training file (stratified); 0 means no validation', number('--val-split', 0, 1, { maxExclusive: true }), 0.1)
    .option('--no-val', 'no validation')
    .option('--seed <n>', 'random seed: same seed, data and options give the same weights file', nonNegativeInt('--seed'), 1)
    .option('--out <file>', 'where to write the weights (after every epoch)', 'model.json')
    .option('--resume <file>', 'continue training from a weights file written by kconv train (--epochs, --lr, --lr-schedule, --optimizer may change)')
    .option('--init <file>', 'fine-tune: start from this weights file\'s net and weights (a new run, not --resume); default --out <file>.finetuned.json')
    .option('--freeze <n>', 'with --init: keep the first n layers that have parameters fixed (default: those before the first dense layer; 0 trains all)', nonNegativeInt('--freeze'))
    .option('--replay <file.csv>', 'with --init: mix these labelled images (the original training data) into every epoch')
    .option('--replay-ratio <r>', 'replay images per training image in each epoch (default 4)', number('--replay-ratio', 0, 1000, { minExclusive: true }))
    .option('--limit <n>', 'use only the first n rows of the training file', positiveInt('--limit'))
    .option('--save-best', 'keep the epoch with the best validation accuracy in --out (the latest goes to <out>.last.json)')
    .option('--no-optimizer-state', 'leave optimizer state out of the file (smaller; --resume then restarts momentum)')
    .option('--json', 'one JSON line per epoch on stdout')
    .option('--threads <n>', 'threads computing each batch (default: the machine\'s cores)', positiveInt('--threads'))
    .option('--ensemble <k>', `train k models (2 to ${MAX_MEMBERS}) with seeds seed … seed+k−1 into <out>.1.json … <out>.k.json, and an ensemble manifest naming them at --out`, ensembleSize)
    .addHelpText('after', [
      '',
      'Example:',
      '  $ kconv train ../shared/data/kannada/train.csv --epochs 5 --out model.json',
      '  $ kconv train train.csv --arch conv16k3p1,relu,pool2,conv32k3p1,relu,pool2,dense10 --optimizer adam',
      '  $ kconv train train.csv --recipe best --val val.csv',
      '  $ kconv train train.csv --resume model.json --epochs 8 --lr 0.005   # fine-tune: a new schedule from epoch 6',
      '  $ kconv train train.csv --ensemble 3 --out ens.json   # ens.1.json … ens.3.json (seeds 1 … 3) and the manifest ens.json',
      '  $ kconv train mine.csv --init model.json --replay train.csv   # teach model.json your handwriting → model.finetuned.json',
      '',
      `Architecture tokens: ${GRAMMAR_HELP}.`,
      'Ctrl-C finishes the current batch, saves a checkpoint and prints how to resume.',
      '',
    ].join('\n'))
    .action(async (file: string, flags: TrainFlags, command: Command) => {
      const typed: Typed = (option) => command.getOptionValueSource(option) === 'cli';
      setExit(await runTrain(file, flags, typed, io));
    });
}

/** The plan (train/plan.ts), the checks and locks of its files, the data, then training. */
async function runTrain(file: string, flags: TrainFlags, typed: Typed, io: Io): Promise<number> {
  const plan = await planTraining(flags, typed);
  const first = plan.members[0].opts;
  const valFile = first.validation.kind === 'file' ? first.validation.file : undefined;
  const inputs = [
    { flag: '', file }, { flag: '--val', file: valFile }, { flag: '--labels', file: flags.labels },
    { flag: '--init', file: flags.init }, { flag: '--replay', file: plan.replay?.file },
  ];
  refuseStdinTwice(inputs);
  const release = await claimOutputs(plan, inputs);
  try {
    const data = await readData(file, flags, io, { requireLabels: true, requireRows: true, labels: flags.labels });
    const valData = valFile !== undefined ? await readData(valFile, flags, io, { requireLabels: true, requireRows: true }) : null;
    const fingerprint = dataFingerprint(data.file, data.images);
    const replay = plan.replay ? await readReplay(plan, flags, io) : undefined;
    const notes = ready(plan, fingerprint, replay);
    if (first.init) io.err(fineTuneLine(first, data.images, valData?.images ?? null));
    for (const note of notes) io.err(`kconv: ${note}\n`);
    const threads = threadsToUse(flags.threads ?? recordedThreads(plan), io);
    for (const p of plan.members) p.opts.threads = threads;
    return await trainWithProgress(file, data.images, valData?.images ?? null, plan, flags, io);
  } finally {
    release();
  }
}

/** The replay images; for a resumed fine-tune they must be the ones it replayed (train/resume.ts). */
async function readReplay(plan: TrainingPlan, flags: TrainFlags, io: Io): Promise<{ images: Images; file: string }> {
  const { file, recorded } = plan.replay!;
  let data;
  try {
    data = await readData(file, flags, io, { requireLabels: true, requireRows: true });
  } catch (error) {
    throw unreadableReplay(error, flags.resume, recorded, flags.replay !== undefined);
  }
  checkReplay(file, flags.resume, recorded, dataFingerprint(data.file, data.images));
  return { images: data.images, file: data.file };
}

/** Before a fine-tune: where the init model stands on the validation images, to compare with the epochs' lines. */
function fineTuneLine(opts: FileTrainOptions, data: Images, valData: Images | null): string {
  const init = opts.init!;
  const acc = accuracyBefore(opts, data, valData);
  const before = acc !== null ? `, val acc ${pct(acc)} before fine-tuning` : '';
  const frozen = opts.freeze ? `, the first ${opts.freeze} layer${opts.freeze === 1 ? '' : 's'} with parameters frozen` : '';
  const replay = opts.replay ? `, replaying ${opts.replay.ratio} image${opts.replay.ratio === 1 ? '' : 's'} of ${opts.replay.file} per image` : '';
  return `kconv: fine-tuning ${init.file} (${init.model.arch})${frozen}${replay}${before}\n`;
}
