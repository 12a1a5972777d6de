import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readDataset, type Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { loadModel, type ModelFile } from '../model/weights-file.js';
import { PRESETS, GRAMMAR_HELP } from '../net/spec.js';
import { DEFAULT_LR, type OptimizerName } from '../optim/optimizer.js';
import { SCHEDULES, type ScheduleName } from '../optim/schedule.js';
import { RECIPES } from '../train/recipes.js';
import { checkArch, train, type TrainOptions } from '../train/trainer.js';
import { reportSkipped } from './dataset-notes.js';
import { nonNegativeInt, number, oneOf, positiveInt, withReadOptions } from './options.js';
import type { Io } from './output.js';
import { defaultThreads } from './threads.js';

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
  cache: boolean;
  threads?: number;
  labels?: string;
}

const pct = (x: number | null) => (x === null ? '   -  ' : `${(x * 100).toFixed(2)}%`);

export function trainCommand(io: Io, setExit: (code: number) => void): Command {
  return withReadOptions(new Command('train'))
    .description('train a CNN on a labelled Kaggle-format CSV and save its weights as JSON')
    .argument('<data.csv>', 'training images: label,pixel0..pixel783 (.csv or .csv.gz), or an idx images file with its labels')
    .option('--recipe <name>', `a bundle of the options below: ${Object.keys(RECIPES).join(', ')} (see the README)`, oneOf('--recipe', Object.keys(RECIPES)), 'default')
    .option('--arch <preset|spec>', `network: a preset (${Object.keys(PRESETS).join(', ')}) or layers such as conv8k5,relu,pool2,dense10 (default: default)`)
    .option('--epochs <n>', 'passes over the training data (default 5)', positiveInt('--epochs'))
    .option('--batch-size <n>', 'images per gradient step (default 64)', positiveInt('--batch-size'))
    .option('--optimizer <name>', 'sgd, momentum (0.9) or adam (default momentum)', oneOf('--optimizer', ['sgd', 'momentum', 'adam'] as const))
    .option('--lr <x>', 'learning rate (default 0.05 for sgd/momentum, 0.001 for adam, 0.003 in the augmented and best recipes)', number('--lr', 0, Infinity, { minExclusive: true }))
    .option('--lr-schedule <name>', `learning-rate schedule: ${SCHEDULES.join(', ')} (default cosine)`, oneOf('--lr-schedule', SCHEDULES))
    .option('--weight-decay <x>', 'L2 penalty on the weights (default 0)', number('--weight-decay', 0, Infinity))
    .option('--augment', 'random rotation (±11°), scale (±10%) and shift (±2 px) of every image, new each epoch')
    .option('--no-augment', 'no augmentation, even where the recipe has it')
    .option('--val <file.csv>', 'validate on this labelled file after each epoch')
    .option('--val-split <f>', 'else hold out this fraction of the training file (stratified)', number('--val-split', 0, 1, { maxExclusive: true }), 0.1)
    .option('--no-val', 'no validation')
    .option('--seed <n>', 'random seed: same seed, data and options give the same weights file', nonNegativeInt('--seed'), 1)
    .option('--out <file>', 'where to write the weights (after every epoch)', 'model.json')
    .option('--resume <file>', 'continue training from a weights file written by kconv train')
    .option('--limit <n>', 'use only the first n rows of the training file', positiveInt('--limit'))
    .option('--save-best', 'keep the epoch with the best validation accuracy in --out (the latest goes to <out>.last.json)')
    .option('--no-optimizer-state', 'leave optimizer state out of the file (smaller; --resume then restarts momentum)')
    .option('--json', 'one JSON line per epoch on stdout')
    .option('--threads <n>', 'threads computing each batch (default: the machine\'s cores)', positiveInt('--threads'))
    .addHelpText('after', [
      '',
      'Example:',
      '  $ kconv train ../shared/data/kannada/train.csv --epochs 5 --out model.json',
      '  $ kconv train train.csv --arch conv16k3p1,relu,pool2,conv32k3p1,relu,pool2,dense10 --optimizer adam',
      '  $ kconv train train.csv --recipe best --val val.csv',
      '',
      `Architecture tokens: ${GRAMMAR_HELP}.`,
      'Ctrl-C finishes the current batch, saves a checkpoint and prints how to resume.',
      '',
    ].join('\n'))
    .action(async (file: string, flags: TrainFlags) => {
      setExit(await runTrain(file, flags, io));
    });
}

async function runTrain(file: string, flags: TrainFlags, io: Io): Promise<number> {
  let resume: ModelFile | undefined;
  let opts: TrainOptions;
  if (flags.resume) {
    resume = await loadModel(flags.resume);
    const t = resume.training;
    if (!t || !Array.isArray(t.history)) throw new UsageError(`${flags.resume}: has no training record to resume from (was it written by kconv train?)`);
    opts = {
      arch: resume.arch,
      epochs: flags.epochs ?? t.epochs,
      batchSize: t.batchSize,
      optimizer: t.optimizer.name as OptimizerName,
      lr: t.optimizer.lr,
      schedule: t.schedule as ScheduleName,
      weightDecay: t.optimizer.weightDecay,
      seed: t.seed,
      validation: t.validation,
      limit: t.limit,
      out: flags.out === 'model.json' ? flags.resume : flags.out,
      saveBest: Boolean(flags.saveBest),
      optimizerState: flags.optimizerState,
      augment: Boolean(t.augment),
      // Same thread count as before unless told: the sums then round the same way.
      threads: flags.threads ?? t.threads ?? defaultThreads(),
    };
    if (t.history.length >= opts.epochs && !t.position) {
      throw new UsageError(`${flags.resume}: already trained for ${t.history.length} epochs; give --epochs N with N > ${t.history.length} to train more`);
    }
  } else {
    // A recipe gives every choice; options the user typed win.
    const recipe = RECIPES[flags.recipe];
    const optimizer = flags.optimizer ?? recipe.optimizer;
    opts = {
      arch: flags.arch ?? recipe.arch,
      epochs: flags.epochs ?? recipe.epochs,
      batchSize: flags.batchSize ?? recipe.batchSize,
      optimizer,
      lr: flags.lr ?? (flags.optimizer && flags.optimizer !== recipe.optimizer ? DEFAULT_LR[optimizer] : recipe.lr),
      schedule: flags.lrSchedule ?? recipe.schedule,
      weightDecay: flags.weightDecay ?? recipe.weightDecay,
      augment: flags.augment ?? recipe.augment,
      seed: flags.seed,
      validation: flags.val === false ? { kind: 'none' } : typeof flags.val === 'string' ? { kind: 'file', file: flags.val } : { kind: 'split', fraction: flags.valSplit },
      limit: flags.limit ?? null,
      out: flags.out,
      saveBest: Boolean(flags.saveBest),
      optimizerState: flags.optimizerState,
      threads: flags.threads ?? defaultThreads(),
    };
    if (opts.saveBest && opts.validation.kind === 'none') throw new UsageError('--save-best needs validation: drop --no-val');
    checkArch(opts.arch);
  }

  const read = { skipBadRows: flags.skipBadRows, cache: flags.cache };
  const data = await readDataset(file, { ...read, requireLabels: true, requireRows: true, labels: flags.labels });
  reportSkipped(data, io);
  let valData: Dataset | null = null;
  if (opts.validation.kind === 'file') {
    valData = await readDataset(opts.validation.file, { ...read, requireLabels: true, requireRows: true });
    reportSkipped(valData, io);
  }

  // Ctrl-C / SIGTERM: the first finishes the batch and saves; a second one quits now
  // (the last checkpoint on disk is whole, since every write is atomic).
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      io.err(`\nkconv: stopped at once on a second ${signal}; the last checkpoint is intact\n`);
      process.exit(130);
    }
    stopRequested = true;
    io.err(`\nkconv: ${signal}: finishing this batch and saving a checkpoint (again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const bar = io.errIsTTY
    ? new cliProgress.SingleBar({
        format: 'epoch {epoch} |{bar}| {value}/{total} batches · loss {loss} · acc {acc} · {speed} img/s · ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
      }, cliProgress.Presets.shades_classic)
    : null;
  const started = Date.now();
  io.err(`training ${opts.arch} on ${file}: ${opts.limit !== null && opts.limit < data.n ? `${opts.limit} of ${data.n}` : data.n} images, ${opts.epochs} epochs, batch ${opts.batchSize}, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}, ${opts.optimizer} lr ${opts.lr}${opts.schedule !== 'constant' ? ` (${opts.schedule})` : ''}${opts.augment ? ', augmented' : ''}\n`);
  try {
    const result = await train(data, valData, opts, {
      onEpochStart: (epoch, batches) => bar?.start(batches, 0, { epoch, loss: '-', acc: '-', speed: '-' }),
      onBatch: (p) => bar?.update(p.batch, { epoch: p.epoch, loss: p.loss.toFixed(4), acc: pct(p.acc), speed: Math.round(p.imagesPerSecond) }),
      onEpochEnd: (r, saved) => {
        bar?.stop();
        io.err(`epoch ${String(r.epoch).padStart(3)}/${opts.epochs}  loss ${r.loss.toFixed(4)}  acc ${pct(r.acc)}  val loss ${r.valLoss === null ? '   -  ' : r.valLoss.toFixed(4)}  val acc ${pct(r.valAcc)}  ${r.seconds.toFixed(2)} s  → ${saved.join(', ')}\n`);
        if (flags.json) io.out(JSON.stringify({ ...r, saved }) + '\n');
      },
      shouldStop: () => stopRequested,
    }, resume);
    bar?.stop();
    if (result.stopped) {
      io.err(`kconv: stopped; checkpoint saved to ${result.checkpoint}. Resume with: kconv train ${file} --resume ${result.checkpoint}\n`);
      return 130;
    }
    const last = result.history[result.history.length - 1];
    if (!flags.json) {
      io.out(`saved ${opts.saveBest ? `${opts.out} (best epoch) and ${result.checkpoint} (last)` : opts.out}: ${result.history.length} epochs in ${((Date.now() - started) / 1000).toFixed(1)} s${last?.valAcc != null ? `, val acc ${pct(last.valAcc)}` : ''}\n`);
    }
    return 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
