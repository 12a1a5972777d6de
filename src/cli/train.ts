import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { STDIN, type Images } from '../data/index.js';
import { DataError, ModelFileError, UsageError } from '../errors.js';
import { lockOutput } from '../io/lock.js';
import { checkOutput, type NamedInput } from '../io/output-check.js';
import { looksLikeManifest, manifestTarget, MAX_MANIFEST_BYTES, MAX_MEMBERS, memberFiles, memberPath, parseManifest } from '../model/ensemble.js';
import { DEFAULT_INPUT, parseModel, readWeightsText, type InputSpec, type ModelFile } from '../model/weights-file.js';
import { formatArch, parseArch, PRESETS, GRAMMAR_HELP } from '../net/spec.js';
import { DEFAULT_LR, OPTIMIZERS, type OptimizerName } from '../optim/optimizer.js';
import { SCHEDULES, type ScheduleName } from '../optim/schedule.js';
import { augmentSettings, describeAugmentation, isAugmenting, MAX_ELASTIC, NO_AUGMENTATION } from '../augment/augment.js';
import { RECIPES, type Recipe } from '../train/recipes.js';
import { defaultFreeze, FINETUNE_DEFAULTS, fineTuneRecipe } from '../train/finetune.js';
import { trainEnsemble, type MemberPlan } from '../train/ensemble.js';
import { stratifiedSplit } from '../batch/fill.js';
import { evaluate } from '../batch/evaluate.js';
import { checkArch, dataFingerprint, lastPath, train, type FileTrainOptions as TrainOptions, type TrainEvents } from '../train/trainer.js';
import { readData, refuseStdinTwice } from './inputs.js';
import { nonNegativeInt, number, oneOf, positiveInt, withReadOptions } from './options.js';
import type { Io } from './output.js';
import { newBar } from './bar.js';
import { commandLine } from './invocation.js';
import { progressLine } from './progress.js';
import { threadsToUse } from './threads.js';

interface TrainFlags {
  recipe: string;
  arch?: string;
  epochs?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  lr?: number;
  lrSchedule?: ScheduleName;
  weightDecay?: number;
  augment?: boolean;
  elastic?: number;
  stroke?: number;
  contrast?: number;
  erase?: number;
  labelSmoothing?: number;
  ema?: number;
  val?: string | false;
  valSplit: number;
  seed: number;
  out: string;
  resume?: string;
  limit?: number;
  json?: boolean;
  saveBest?: boolean;
  optimizerState: boolean;
  skipBadRows?: boolean;
  threads?: number;
  labels?: string;
  ensemble?: number;
  init?: string;
  freeze?: number;
  replay?: string;
  replayRatio?: number;
}

function ensembleSize(value: string): number {
  const n = positiveInt('--ensemble')(value);
  if (n < 2 || n > MAX_MEMBERS) throw new InvalidArgumentError(`--ensemble takes 2 to ${MAX_MEMBERS} models, got "${value}".`);
  return n;
}

/** Whether the user typed an option (rather than getting its default). */
type Typed = (option: keyof TrainFlags) => boolean;

const pct = (x: number | null) => (x === null ? '   -  ' : `${(x * 100).toFixed(2)}%`);

export function trainCommand(io: Io, setExit: (code: number) => void): Command {
  return withReadOptions(new Command('train'))
    .description('train a CNN on a labelled Kaggle-format CSV and save its weights as JSON')
    .argument('<data.csv>', 'training images: label,pixel0..pixel783 (.csv or .csv.gz), or an idx images file with its labels; - reads standard input')
    .option('--recipe <name>', `a bundle of the options below: ${Object.keys(RECIPES).join(', ')} (see the README)`, oneOf('--recipe', Object.keys(RECIPES)), 'default')
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

/** A new run's options: the recipe's, with the options typed winning. */
function freshOptions(flags: TrainFlags, recipe: Recipe = RECIPES[flags.recipe]): TrainOptions {
  const optimizer = flags.optimizer ?? recipe.optimizer;
  const opts: TrainOptions = {
    arch: flags.arch ?? recipe.arch,
    epochs: flags.epochs ?? recipe.epochs,
    batchSize: flags.batchSize ?? recipe.batchSize,
    optimizer,
    lr: flags.lr ?? (flags.optimizer && flags.optimizer !== recipe.optimizer ? DEFAULT_LR[optimizer] : recipe.lr),
    schedule: flags.lrSchedule ?? recipe.schedule,
    weightDecay: flags.weightDecay ?? recipe.weightDecay,
    augment: flags.augment === false ? NO_AUGMENTATION : {
      affine: flags.augment ?? recipe.augment.affine,
      elastic: flags.elastic ?? recipe.augment.elastic,
      stroke: flags.stroke ?? recipe.augment.stroke,
      contrast: flags.contrast ?? recipe.augment.contrast,
      erase: flags.erase ?? recipe.augment.erase,
    },
    labelSmoothing: flags.labelSmoothing ?? recipe.labelSmoothing,
    ema: flags.ema ?? recipe.ema,
    seed: flags.seed,
    validation: validationOf(flags),
    limit: flags.limit ?? null,
    out: flags.out,
    saveBest: Boolean(flags.saveBest),
    optimizerState: flags.optimizerState,
    threads: 1,
  };
  checkSaveBest(opts, flags.val === false ? 'with --no-val there is none' : 'with --val-split 0 no images are held out for it');
  checkArch(opts.arch);
  return opts;
}

function validationOf(flags: Pick<TrainFlags, 'val' | 'valSplit'>): TrainOptions['validation'] {
  if (flags.val === false || (flags.val === undefined && flags.valSplit === 0)) return { kind: 'none' };
  return typeof flags.val === 'string' ? { kind: 'file', file: flags.val } : { kind: 'split', fraction: flags.valSplit };
}

/** --save-best needs a validation accuracy to pick the best epoch by. */
function checkSaveBest(opts: TrainOptions, noValidation: string): void {
  if (!opts.saveBest || opts.validation.kind !== 'none') return;
  throw new UsageError(`--save-best keeps the epoch with the best validation accuracy, but ${noValidation}; give --val file.csv or --val-split F (F > 0)`);
}

/**
 * A resumed run's options. What carries over from the checkpoint and cannot change: the
 * network, batch size, seed, validation, --limit, augmentation, label smoothing and
 * --ema (they decide what each batch is and what is kept, so the run could not continue). What may change: --epochs
 * (the target), --lr, --lr-schedule and --optimizer (a new schedule then starts where
 * the run resumes; a new optimizer starts with fresh state), --weight-decay, --threads.
 */
function resumeOptions(flags: TrainFlags, typed: Typed, from: string, resume: ModelFile): TrainOptions {
  const t = resume.training;
  if (!t || !Array.isArray(t.history)) throw new UsageError(`${from}: has no training record to resume from (was it written by kconv train?)`);
  const fixed = (option: string, same: boolean, was: string) => {
    if (!same) {
      throw new UsageError(`${option} cannot change when resuming: ${from} was trained with ${was}, and the batches after it depend on it; leave ${option} out, or start a new run without --resume`);
    }
  };
  if (typed('recipe')) throw new UsageError(`--recipe chooses a new run's options; with --resume give only what changes (--epochs, --lr, --lr-schedule, --optimizer)`);
  if (typed('arch')) fixed('--arch', sameArch(flags.arch!, resume.arch), `the network ${resume.arch}`);
  if (typed('batchSize')) fixed('--batch-size', flags.batchSize === t.batchSize, `batch size ${t.batchSize}`);
  if (typed('seed')) fixed('--seed', flags.seed === t.seed, `seed ${t.seed}`);
  if (typed('limit')) fixed('--limit', (flags.limit ?? null) === t.limit, t.limit === null ? 'no --limit' : `--limit ${t.limit}`);
  const augment = augmentSettings(t.augment);
  if (typed('augment')) fixed(flags.augment ? '--augment' : '--no-augment', flags.augment ? augment.affine : !isAugmenting(augment), `augmentation ${describeAugmentation(augment)}`);
  for (const key of ['elastic', 'stroke', 'contrast', 'erase'] as const) {
    if (typed(key)) fixed(`--${key}`, flags[key] === augment[key], `augmentation ${describeAugmentation(augment)}`);
  }
  if (typed('labelSmoothing')) fixed('--label-smoothing', flags.labelSmoothing === (t.labelSmoothing ?? 0), `label smoothing ${t.labelSmoothing ?? 0}`);
  if (typed('ema')) fixed('--ema', flags.ema === (t.ema ?? 0), t.ema ? `--ema ${t.ema}` : 'no --ema');
  if (typed('val') || typed('valSplit')) {
    const v = validationOf(flags);
    fixed(flags.val === false ? '--no-val' : typed('val') ? '--val' : '--val-split', JSON.stringify(v) === JSON.stringify(t.validation), describeValidation(t.validation));
  }
  if (typed('freeze')) fixed('--freeze', flags.freeze === (t.freeze ?? 0), t.freeze ? `--freeze ${t.freeze}` : 'no layers frozen');
  if (typed('replayRatio')) fixed('--replay-ratio', flags.replayRatio === t.replay?.ratio, t.replay ? `--replay-ratio ${t.replay.ratio}` : 'no --replay');
  if (typed('replay') && !t.replay) fixed('--replay', false, 'no --replay');
  const optimizer = flags.optimizer ?? (t.optimizer.name as OptimizerName);
  const changedOptimizer = optimizer !== t.optimizer.name;
  const opts: TrainOptions = {
    arch: resume.arch,
    epochs: flags.epochs ?? t.epochs,
    batchSize: t.batchSize,
    optimizer,
    lr: flags.lr ?? (changedOptimizer ? DEFAULT_LR[optimizer] : t.optimizer.lr),
    schedule: flags.lrSchedule ?? (t.schedule as ScheduleName),
    weightDecay: flags.weightDecay ?? t.optimizer.weightDecay,
    seed: t.seed,
    validation: t.validation,
    limit: t.limit,
    // An explicit --out wins; by default the checkpoint is continued in place.
    out: typed('out') ? flags.out : from,
    saveBest: Boolean(flags.saveBest),
    optimizerState: flags.optimizerState,
    augment,
    labelSmoothing: t.labelSmoothing ?? 0,
    ema: t.ema ?? 0,
    threads: 1,
    resumedFile: from,
    ...(t.freeze ? { freeze: t.freeze } : {}),
  };
  checkSaveBest(opts, `${from} was trained without validation`);
  if (t.history.length >= opts.epochs && !t.position) {
    throw new UsageError(`${from}: already trained for ${t.history.length} epochs; give --epochs N with N > ${t.history.length} to train more`);
  }
  return opts;
}

/**
 * A fine-tune's options (--init): the net and its input spec come from the file, so an
 * --arch or --recipe naming another is refused; the defaults are fine-tuning's
 * (train/finetune.ts), or the recipe's when one is typed; options typed win.
 */
function initOptions(flags: TrainFlags, typed: Typed, from: string, init: ModelFile): TrainOptions {
  if (flags.ensemble !== undefined) throw new UsageError(`--ensemble trains new models from fresh weights; --init ${from} fine-tunes one model: give one of them`);
  const recipe = typed('recipe') ? RECIPES[flags.recipe] : null;
  if (recipe && !sameArch(recipe.arch, init.arch)) {
    throw new UsageError(`--recipe ${flags.recipe} trains the network ${formatArch(parseArch(recipe.arch))}, but --init ${from} holds ${init.arch}: the net comes from --init; leave --recipe out, or give its options one by one`);
  }
  if (typed('arch') && !sameArch(flags.arch!, init.arch)) {
    throw new UsageError(`--arch ${flags.arch} conflicts with --init ${from}, whose network is ${init.arch}: the net comes from the --init file; leave --arch out`);
  }
  if ((recipe || typed('arch')) && !sameInput(init.input, DEFAULT_INPUT)) {
    throw new UsageError(`${typed('arch') ? '--arch' : '--recipe'} builds a net reading ${describeInput(DEFAULT_INPUT)}, but --init ${from} reads ${describeInput(init.input)}: the net comes from the --init file; leave ${typed('arch') ? '--arch' : '--recipe'} out`);
  }
  const withParams = init.net.layers.filter((l) => l.params().length > 0).length;
  if (flags.freeze !== undefined && flags.freeze >= withParams) {
    throw new UsageError(`--freeze ${flags.freeze}: ${from}'s network ${init.arch} has ${withParams} layers with parameters, and at least the last must learn; give --freeze 0 to ${withParams - 1}`);
  }
  const opts = freshOptions({ ...flags, arch: undefined }, { ...(recipe ?? fineTuneRecipe(init)), arch: init.arch });
  // By default beside the weights it came from, never over them.
  if (!typed('out')) opts.out = from.replace(/(\.json)?$/, '.finetuned.json');
  opts.init = { model: init, file: from };
  opts.freeze = flags.freeze ?? defaultFreeze(init.net);
  return opts;
}

function sameInput(a: InputSpec, b: InputSpec): boolean {
  return a.scale === b.scale && a.mean === b.mean && a.std === b.std;
}

function describeInput(i: InputSpec): string {
  return `pixels / ${i.scale}, then (x − ${i.mean}) / ${i.std}`;
}

/** --freeze, --replay and --replay-ratio go with --init (or the checkpoint of a fine-tune); said before any work. */
function checkFineTuneFlags(flags: TrainFlags, typed: Typed): void {
  if (flags.init !== undefined) {
    if (flags.replayRatio !== undefined && flags.replay === undefined) throw new UsageError('--replay-ratio sets how many --replay images each epoch mixes in: give --replay train.csv too');
    return;
  }
  if (typed('resume')) return; // a resumed fine-tune: checked against its record (resumeOptions)
  for (const [flag, given] of [['--freeze', flags.freeze !== undefined], ['--replay', flags.replay !== undefined], ['--replay-ratio', flags.replayRatio !== undefined]] as const) {
    if (given) throw new UsageError(`${flag} is for fine-tuning a trained model: give --init model.json (the weights to start from)`);
  }
}

/** A weights file for --init: one model, not an ensemble's manifest. */
async function readInit(file: string): Promise<ModelFile> {
  let text: string;
  try {
    text = await readWeightsText(file);
  } catch (error) {
    if (error instanceof ModelFileError && / no such weights file/.test(error.message)) {
      throw new UsageError(`--init ${file}: no such weights file; give the model to fine-tune (a weights file written by kconv train)`);
    }
    throw error;
  }
  if (looksLikeManifest(text) && text.length <= MAX_MANIFEST_BYTES) {
    parseManifest(text, file);
    throw new UsageError(`--init ${file} is an ensemble manifest: fine-tune one of its models, e.g. --init ${memberFiles(file, parseManifest(text, file))[0]}`);
  }
  return parseModel(text, file);
}

function sameArch(a: string, b: string): boolean {
  try {
    return formatArch(parseArch(a)) === formatArch(parseArch(b));
  } catch {
    return false;
  }
}

function describeValidation(v: TrainOptions['validation']): string {
  return v.kind === 'none' ? 'no validation' : v.kind === 'file' ? `--val ${v.file}` : `--val-split ${v.fraction}`;
}

/** What a resumed run changes, said once before it starts. */
function resumeNote(opts: TrainOptions, resume: ModelFile): string | null {
  const t = resume.training!;
  const changes: string[] = [];
  if (opts.optimizer !== t.optimizer.name) changes.push(`optimizer ${t.optimizer.name} → ${opts.optimizer} (its state starts afresh)`);
  if (opts.lr !== t.optimizer.lr) changes.push(`lr ${t.optimizer.lr} → ${opts.lr}`);
  if (opts.schedule !== t.schedule) changes.push(`schedule ${t.schedule} → ${opts.schedule}`);
  if (changes.length === 0) return null;
  return `kconv: resuming with ${changes.join(', ')}: a new ${opts.schedule} schedule runs from here to epoch ${opts.epochs}\n`;
}

/** What --resume names: a weights file, or an ensemble's manifest (with its members' paths). */
type Resumed = { kind: 'model'; model: ModelFile } | { kind: 'ensemble'; members: string[] };

async function readResume(file: string): Promise<Resumed> {
  const text = await readWeightsText(file);
  if (looksLikeManifest(text) && text.length <= MAX_MANIFEST_BYTES) return { kind: 'ensemble', members: parseManifest(text, file) };
  return { kind: 'model', model: parseModel(text, file) };
}

async function runTrain(file: string, flags: TrainFlags, typed: Typed, io: Io): Promise<number> {
  checkFineTuneFlags(flags, typed);
  if (flags.init !== undefined) {
    if (flags.resume !== undefined) throw new UsageError(`--init ${flags.init} starts a new run from its weights, --resume ${flags.resume} continues a checkpoint: give one of them`);
    const init = await readInit(flags.init);
    return runFile(file, flags, typed, io, initOptions(flags, typed, flags.init, init), undefined);
  }
  const resumed = flags.resume ? await readResume(flags.resume) : undefined;
  if (resumed?.kind === 'ensemble') return runEnsemble(file, flags, typed, io, resumed.members);
  if (flags.ensemble !== undefined) {
    if (resumed) throw new UsageError(`--ensemble starts a new ensemble, but ${flags.resume} is a single model's weights file; to continue an ensemble, give --resume its manifest`);
    return runEnsemble(file, flags, typed, io, null);
  }
  const resume = resumed?.model;
  const opts = resume ? resumeOptions(flags, typed, flags.resume!, resume) : freshOptions(flags);
  return runFile(file, flags, typed, io, opts, resume);
}

/** One model's run (new, fine-tuned or resumed): the checks and lock of its output, the data, then training. */
async function runFile(file: string, flags: TrainFlags, typed: Typed, io: Io, opts: TrainOptions, resume: ModelFile | undefined): Promise<number> {
  // A resumed fine-tune replays what it replayed (its record names the file), unless --replay names it elsewhere.
  const recordedReplay = resume?.training?.replay;
  const replayFile = flags.replay ?? recordedReplay?.file;
  const valFile = opts.validation.kind === 'file' ? opts.validation.file : undefined;
  const inputs: NamedInput[] = [
    { flag: '', file }, { flag: '--val', file: valFile }, { flag: '--labels', file: flags.labels },
    { flag: '--init', file: flags.init }, { flag: '--replay', file: replayFile },
  ];
  refuseStdinTwice(inputs);

  // Before any work: the outputs can be written, are not inputs, and no other run writes them.
  const outFlag = typed('out') || !resume ? '--out' : '--resume';
  await checkOutput(opts.out, outFlag, inputs);
  if (opts.saveBest) await checkOutput(lastPath(opts.out), outFlag, inputs);
  const lock = await lockOutput(opts.out, `${outFlag} ${opts.out}`);
  try {
    const data = await readData(file, flags, io, { requireLabels: true, requireRows: true, labels: flags.labels });
    const valData = valFile !== undefined ? await readData(valFile, flags, io, { requireLabels: true, requireRows: true }) : null;
    opts.data = dataFingerprint(data.file, data.images);
    if (replayFile !== undefined) {
      const replay = await readReplay(replayFile, flags, io, recordedReplay, flags.resume);
      opts.replay = { images: replay.images, ratio: flags.replayRatio ?? recordedReplay?.ratio ?? FINETUNE_DEFAULTS.replayRatio, file: replay.file };
    }
    if (opts.init) await reportStart(opts, data.images, valData?.images ?? null, io);
    const recorded = resume?.training?.data;
    if (recorded && recorded.sha256 !== opts.data.sha256) {
      io.err(`kconv: warning: ${data.file} is not the data ${flags.resume} was trained on (${recorded.file}, ${recorded.images} images; now ${data.images.n} images with other content): training goes on with it\n`);
    }
    if (resume) {
      const note = resumeNote(opts, resume);
      if (note) io.err(note);
    }
    opts.threads = threadsToUse(flags.threads ?? (resume?.training?.threads /* same sums, same rounding */), io);
    return await trainWithProgress(file, data.images, valData?.images ?? null, opts, resume, flags, io);
  } finally {
    lock.release();
  }
}

/**
 * The replay images. For a resumed fine-tune they must be the images it replayed (the
 * batches after the checkpoint depend on them): a missing or changed file is refused.
 */
async function readReplay(file: string, flags: TrainFlags, io: Io, recorded: TrainingRecordReplay | undefined, from: string | undefined): Promise<{ images: Images; file: string }> {
  let data;
  try {
    data = await readData(file, flags, io, { requireLabels: true, requireRows: true });
  } catch (error) {
    if (recorded && flags.replay === undefined && error instanceof DataError) {
      throw new UsageError(`${from} was fine-tuned with replay of ${recorded.file}, which cannot be read (${error.message}); give --replay FILE with the same images`);
    }
    throw error;
  }
  if (recorded && dataFingerprint(data.file, data.images).sha256 !== recorded.sha256) {
    throw new UsageError(`--replay ${file}: not the images ${from} was fine-tuned with (${recorded.file}, ${recorded.images} images; now ${data.images.n} with other content), and the batches after the checkpoint depend on them; give --replay the same file`);
  }
  return { images: data.images, file: data.file };
}

type TrainingRecordReplay = NonNullable<NonNullable<ModelFile['training']>['replay']>;

/** Before a fine-tune: where the init model stands on the validation images, to compare with the epochs' lines. */
async function reportStart(opts: TrainOptions, data: Images, valData: Images | null, io: Io): Promise<void> {
  const init = opts.init!;
  const v = opts.validation;
  const rows = v.kind === 'split' ? stratifiedSplit(data.labels!, opts.limit ?? data.n, v.fraction, opts.seed).val : null;
  const set = v.kind === 'file' ? valData : v.kind === 'split' && rows!.length > 0 ? data : null;
  const before = set ? `, val acc ${pct(evaluate(init.model.net, init.model.input, set, rows).acc)} before fine-tuning` : '';
  const frozen = opts.freeze ? `, the first ${opts.freeze} layer${opts.freeze === 1 ? '' : 's'} with parameters frozen` : '';
  const replay = opts.replay ? `, replaying ${opts.replay.ratio} image${opts.replay.ratio === 1 ? '' : 's'} of ${opts.replay.file} per image` : '';
  io.err(`kconv: fine-tuning ${init.file} (${init.model.arch})${frozen}${replay}${before}\n`);
}

/**
 * `--ensemble K` (members null: a new ensemble), or `--resume <manifest>` (its members'
 * paths): the plan of every model, the checks and locks of every file, then the run.
 */
async function runEnsemble(file: string, flags: TrainFlags, typed: Typed, io: Io, members: string[] | null): Promise<number> {
  if (flags.saveBest) throw new UsageError('--save-best does not go with ensembles: each model would keep its best epoch in one file and its latest in another; train the models one at a time with --seed to use it');
  const manifest = members ? flags.resume! : flags.out;
  const plans = members ? await resumedPlans(flags, typed, manifest, members) : freshPlans(flags);
  const base = plans[0].opts;
  const valFile = base.validation.kind === 'file' ? base.validation.file : undefined;
  const inputs: NamedInput[] = [{ flag: '', file }, { flag: '--val', file: valFile }, { flag: '--labels', file: flags.labels }];
  refuseStdinTwice(inputs);

  // Before any work: the manifest and every model's file can be written, none is an input, and no other run writes them.
  const outFlag = members ? '--resume' : '--out';
  const target = await checkOutput(manifest, outFlag, inputs);
  if (target.kind !== 'replace') throw new UsageError(`${outFlag} ${manifest}: an ensemble's manifest must be a file (its models are written beside it), not a device or a pipe`);
  for (const p of plans) if (!p.done) await checkOutput(p.opts.out, `${outFlag} ${manifest}: model ${p.index}:`, inputs);
  const locks = [await lockOutput(manifest, `${outFlag} ${manifest}`)];
  try {
    for (const p of plans) if (!p.done) locks.push(await lockOutput(p.opts.out, `${outFlag} ${manifest}: model ${p.index}, ${p.opts.out}`));
    const data = await readData(file, flags, io, { requireLabels: true, requireRows: true, labels: flags.labels });
    const valData = valFile !== undefined ? await readData(valFile, flags, io, { requireLabels: true, requireRows: true }) : null;
    const fingerprint = dataFingerprint(data.file, data.images);
    const threads = threadsToUse(flags.threads ?? plans.find((p) => p.resume)?.resume?.training?.threads, io);
    let warned = false;
    for (const p of plans) {
      p.opts.data = fingerprint;
      p.opts.threads = threads;
      const recorded = p.resume?.training?.data;
      if (!p.done && !warned && recorded && recorded.sha256 !== fingerprint.sha256) {
        warned = true;
        io.err(`kconv: warning: ${data.file} is not the data ${p.opts.out} was trained on (${recorded.file}, ${recorded.images} images; now ${data.images.n} images with other content): training goes on with it\n`);
      }
    }
    const noted = plans.find((p) => p.resume && !p.done);
    const note = noted ? resumeNote(noted.opts, noted.resume!) : null;
    if (note) io.err(note);
    return await trainEnsembleWithProgress(file, data.images, valData?.images ?? null, manifest, plans, flags, io);
  } finally {
    for (const lock of locks) lock.release();
  }
}

/** A new ensemble: the run's options, the seed counting up, each model into <out>.<k>.json beside the manifest. */
function freshPlans(flags: TrainFlags): MemberPlan[] {
  const opts = freshOptions(flags);
  return Array.from({ length: flags.ensemble! }, (_, i) => {
    // Beside the file --out leads to (a link to a manifest elsewhere: beside that manifest, where a reader looks).
    const out = memberPath(manifestTarget(opts.out), i + 1);
    return { index: i + 1, name: path.basename(out), opts: { ...opts, seed: opts.seed + i, out } };
  });
}

/**
 * A resumed ensemble: each model's checkpoint continued as `--resume` continues one (a
 * model already at its target is left as it is), and a model whose file does not exist
 * yet (the run stopped before it) started as the first model was, with its own seed.
 */
async function resumedPlans(flags: TrainFlags, typed: Typed, manifest: string, names: string[]): Promise<MemberPlan[]> {
  if (typed('out')) throw new UsageError(`--out does not go with --resume of an ensemble: its models are continued in their own files, named by ${manifest}; leave --out out`);
  if (flags.ensemble !== undefined && flags.ensemble !== names.length) {
    throw new UsageError(`--ensemble ${flags.ensemble}: ${manifest} is an ensemble of ${names.length} models, and a resume cannot change that; leave --ensemble out`);
  }
  const files = memberFiles(manifest, names);
  const models: (ModelFile | null)[] = [];
  for (let i = 0; i < files.length; i++) {
    const at = `${manifest}: model ${i + 1} of ${files.length}`;
    let model: ModelFile | null = null;
    try {
      const text = await readWeightsText(files[i]);
      if (looksLikeManifest(text) && text.length <= MAX_MANIFEST_BYTES) throw new ModelFileError(`${at}, ${files[i]}, is itself an ensemble manifest: a manifest lists weights files only`);
      model = parseModel(text, files[i]);
    } catch (error) {
      const missing = error instanceof ModelFileError && / no such weights file/.test(error.message);
      if (!missing) throw error instanceof ModelFileError && !error.message.startsWith(manifest) ? new ModelFileError(`${at}: ${error.message}`) : error;
    }
    if (model && !model.training) throw new UsageError(`${at}, ${files[i]}: has no training record to resume from (was it written by kconv train?)`);
    models.push(model);
  }
  const first = models[0];
  if (!first) throw new ModelFileError(`${manifest}: model 1, ${files[0]}, does not exist: an ensemble is resumed from its models' checkpoints; train it anew with --ensemble`);
  const t1 = first.training!;
  // --seed names the first model's seed; the others count up from it.
  if (typed('seed') && flags.seed !== t1.seed) {
    throw new UsageError(`--seed cannot change when resuming: ${files[0]} was trained with seed ${t1.seed} (the others count up from it); leave --seed out`);
  }
  const memberTyped: Typed = (option) => option !== 'seed' && typed(option);
  const unstarted = models.some((m) => m === null);
  if (unstarted) {
    const changed = (['lr', 'lrSchedule', 'optimizer'] as const).find((o) => typed(o));
    if (changed) {
      throw new UsageError(`--${changed === 'lrSchedule' ? 'lr-schedule' : changed} cannot change while models of ${manifest} have not started: resume without it to finish the ensemble, then fine-tune`);
    }
    if (t1.scheduleFrom !== undefined) {
      throw new UsageError(`${files[0]} was fine-tuned with a new learning rate on its own, so the models of ${manifest} not yet started cannot be trained as it was; train the ensemble anew with --ensemble`);
    }
  }
  const plans = models.map((model, i): MemberPlan => {
    const index = i + 1;
    if (model === null) return { index, name: names[i], opts: startedLike(first, flags, files[i], t1.seed + i) };
    const t = model.training!;
    const target = flags.epochs ?? t.epochs;
    if (t.history.length >= target && !t.position) {
      return { index, name: names[i], opts: { ...startedLike(model, flags, files[i], t.seed), epochs: t.epochs }, resume: model, done: true };
    }
    return { index, name: names[i], opts: resumeOptions(flags, memberTyped, files[i], model), resume: model };
  });
  if (plans.every((p) => p.done)) {
    const epochs = Math.max(...models.map((m) => m!.training!.history.length));
    throw new UsageError(`${manifest}: every model is already trained (${epochs} epochs); give --epochs N with N > ${epochs} to train more`);
  }
  return plans;
}

/** A new run with a trained model's options (as kconv train would start it) and another seed. */
function startedLike(model: ModelFile, flags: TrainFlags, out: string, seed: number): TrainOptions {
  const t = model.training!;
  return {
    arch: model.arch,
    epochs: flags.epochs ?? t.epochs,
    batchSize: t.batchSize,
    optimizer: t.optimizer.name as OptimizerName,
    lr: t.optimizer.lr,
    schedule: t.schedule as ScheduleName,
    weightDecay: flags.weightDecay ?? t.optimizer.weightDecay,
    seed,
    validation: t.validation,
    limit: t.limit,
    out,
    saveBest: false,
    optimizerState: flags.optimizerState,
    augment: augmentSettings(t.augment),
    labelSmoothing: t.labelSmoothing ?? 0,
    ema: t.ema ?? 0,
    threads: 1,
  };
}

/** The command that resumes this run, as the user started kconv (npx kconv, kconv, …), with the options needed to read the data again. */
function resumeCommand(file: string, checkpoint: string, flags: TrainFlags): string {
  const reading = [
    ...(flags.labels !== undefined ? ['--labels', flags.labels] : []),
    ...(flags.skipBadRows ? ['--skip-bad-rows'] : []),
  ];
  return commandLine(['train', file, ...reading, '--resume', checkpoint]);
}

/** Where a resumed run picks up: the epoch and batch after the checkpoint's last. */
function resumePoint(t: NonNullable<ModelFile['training']>, into: string | null): string {
  const epoch = t.position ? t.position.epoch : t.history.length + 1;
  const batch = t.position ? t.position.batch + 1 : 1;
  return `resuming at epoch ${epoch}, batch ${batch} (${t.history.length} epoch${t.history.length === 1 ? '' : 's'} done${t.position ? ` and ${t.position.batch} batch${t.position.batch === 1 ? '' : 'es'} of epoch ${epoch}` : ''})${into ? `, saving to ${into}` : ''}`;
}

/** Ctrl-C / SIGTERM while training: the first finishes the batch and saves; a second quits now (every checkpoint on disk is whole). */
function watchSignals(io: Io, clearBars: () => void): { signal: () => NodeJS.Signals | null; dispose: () => void } {
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    clearBars(); // before writing: a live bar would draw over the message (and stop() would move the cursor back above it)
    if (stopSignal) {
      io.err(`\nkconv: stopped at once on a second ${signal}; the last checkpoint is intact\n`);
      process.exit(130);
    }
    stopSignal = signal;
    io.err(`\nkconv: ${signal}: finishing this batch and saving a checkpoint (again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: () => stopSignal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * The progress of one run on stderr: the banner, a bar on a terminal, a line per epoch
 * (and with --json a JSON line on stdout, carrying `extra`).
 */
function progressEvents(
  file: string, n: number, opts: TrainOptions, flags: TrainFlags, io: Io, stop: () => boolean,
  label = '', extra: Record<string, unknown> = {},
): { events: TrainEvents; stopBar: () => void } {
  const columns = io.errColumns ?? (() => 80);
  const bar = newBar(io, { format: (_options, _params, payload) => progressLine(payload, columns()) });
  const images = opts.limit !== null && opts.limit < n ? `${opts.limit} of ${n}` : `${n}`;
  const banner = () => io.err(`${label}training ${opts.arch} on ${file === STDIN ? 'stdin' : file}: ${images} images, ${opts.epochs} epochs, batch ${opts.batchSize}, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}, ${opts.optimizer} lr ${opts.lr}${opts.schedule !== 'constant' ? ` (${opts.schedule})` : ''}${isAugmenting(opts.augment) ? `, augmented (${describeAugmentation(opts.augment)})` : ''}${opts.labelSmoothing ? `, label smoothing ${opts.labelSmoothing}` : ''}${opts.ema ? `, EMA ${opts.ema}` : ''}\n`);
  const state = { epoch: 0, epochs: opts.epochs, batch: 0, batches: 0, loss: null as number | null, acc: null as number | null, imagesPerSecond: null as number | null, batchSize: opts.batchSize };
  const events: TrainEvents = {
    onStart: banner,
    onEpochStart: (epoch, batches) => {
      Object.assign(state, { epoch, batch: 0, batches, loss: null, acc: null });
      bar?.start(batches, 0, state);
    },
    onBatch: (p) => {
      Object.assign(state, { batch: p.batch, loss: p.loss, acc: p.acc, imagesPerSecond: p.imagesPerSecond });
      bar?.update(p.batch, state);
    },
    onEpochEnd: (r, saved) => {
      bar?.stop();
      io.err(`epoch ${String(r.epoch).padStart(3)}/${opts.epochs}  loss ${r.loss.toFixed(4)}  acc ${pct(r.acc)}${r.valAcc === null ? '' : `  val loss ${r.valLoss!.toFixed(4)}  val acc ${pct(r.valAcc)}`}  ${r.seconds.toFixed(2)} s  → ${saved.join(', ')}\n`);
      if (flags.json) io.out(JSON.stringify({ ...extra, ...r, saved }) + '\n');
    },
    shouldStop: stop,
  };
  return { events, stopBar: () => bar?.stop() };
}

async function trainWithProgress(
  file: string, data: Images, valData: Images | null,
  opts: TrainOptions, resume: ModelFile | undefined, flags: TrainFlags, io: Io,
): Promise<number> {
  const bars: (() => void)[] = [];
  const signals = watchSignals(io, () => bars.forEach((stop) => stop()));
  const { events, stopBar } = progressEvents(file, data.n, opts, flags, io, () => signals.signal() !== null);
  bars.push(stopBar);
  const started = Date.now();
  if (resume?.training) io.err(`kconv: ${resumePoint(resume.training, opts.out)}\n`);
  try {
    const result = await train(data, valData, opts, events, resume);
    stopBar();
    // The CLI always trains into a file (--out), so a stopped run always has a checkpoint.
    if (result.stopped && result.checkpoint !== null) {
      io.err(`kconv: stopped; checkpoint saved to ${result.checkpoint}. Resume with: ${resumeCommand(file, result.checkpoint, flags)}\n`);
      return 130;
    }
    const last = result.history[result.history.length - 1];
    if (!flags.json) {
      io.out(`saved ${opts.saveBest ? `${opts.out} (best epoch) and ${result.checkpoint} (last)` : opts.out}: ${result.history.length} epochs in ${((Date.now() - started) / 1000).toFixed(1)} s${last?.valAcc != null ? `, val acc ${pct(last.valAcc)}` : ''}\n`);
    }
    const stopSignal = signals.signal();
    if (stopSignal) {
      // The signal came as the last epoch was saved: the run is complete, but it was asked to stop.
      io.err(`kconv: ${stopSignal} during the final save: training had finished; ${result.checkpoint} is complete (${result.history.length} epochs)\n`);
      return 130;
    }
    return 0;
  } finally {
    stopBar();
    signals.dispose();
  }
}

async function trainEnsembleWithProgress(
  file: string, data: Images, valData: Images | null, manifest: string, plans: MemberPlan[], flags: TrainFlags, io: Io,
): Promise<number> {
  const bars: (() => void)[] = [];
  const signals = watchSignals(io, () => bars.forEach((stop) => stop()));
  const k = plans.length;
  const started = Date.now();
  const done = plans.filter((p) => p.done);
  if (done.length > 0) io.err(`kconv: ${done.map((p) => p.opts.out).join(', ')} ${done.length === 1 ? 'is' : 'are'} trained already; continuing the others\n`);
  try {
    const result = await trainEnsemble(data, valData, manifest, plans, (plan) => {
      const label = `model ${plan.index} of ${k} (seed ${plan.opts.seed}, ${plan.opts.out}${plan.resume ? ', resumed' : ''}): `;
      const { events, stopBar } = progressEvents(file, data.n, plan.opts, flags, io, () => signals.signal() !== null, label, { model: plan.index });
      bars.push(stopBar);
      return events;
    });
    for (const stop of bars) stop();
    if (result.stopped) {
      const at = result.stoppedAt!;
      const partial = result.results[at.index - 1]?.stopped;
      io.err(`kconv: stopped at model ${at.index} of ${k}${partial ? ` (checkpoint saved to ${at.opts.out})` : ''}; ${manifest} names all ${k} models. Resume with: ${resumeCommand(file, manifest, flags)}\n`);
      return 130;
    }
    if (!flags.json) {
      const accs = plans.map((p, i) => {
        const h = result.results[i]?.history ?? p.resume?.training?.history ?? [];
        return h[h.length - 1]?.valAcc ?? null;
      });
      const epochs = [...new Set(plans.map((p) => p.opts.epochs))].join('/');
      const val = accs.every((a) => a !== null) ? `, val acc ${accs.map((a) => pct(a)).join(', ')}` : '';
      io.out(`saved ${manifest}: an ensemble of ${k} models (${plans.map((p) => p.opts.out).join(', ')}), ${epochs} epochs each, in ${((Date.now() - started) / 1000).toFixed(1)} s${val}\n`);
    }
    const stopSignal = signals.signal();
    if (stopSignal) {
      io.err(`kconv: ${stopSignal} during the final save: training had finished; ${manifest} and its ${k} models are complete\n`);
      return 130;
    }
    return 0;
  } finally {
    for (const stop of bars) stop();
    signals.dispose();
  }
}
