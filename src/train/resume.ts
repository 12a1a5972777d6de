/**
 * The rules of a resumed run (`--resume checkpoint.json`). What carries over from the
 * checkpoint and cannot change: the network, batch size, seed, validation, --limit,
 * augmentation, label smoothing, --ema, and a fine-tune's --freeze and replay (they
 * decide what each batch is and what is kept, so the run could not continue). What may
 * change: --epochs (the target), --lr, --lr-schedule and --optimizer (a new schedule
 * then starts where the run resumes; a new optimizer starts with fresh state),
 * --weight-decay, --threads, --out, --save-best.
 */
import { DataError, UsageError } from '../errors.js';
import { looksLikeManifest, MAX_MANIFEST_BYTES, parseManifest } from '../model/ensemble.js';
import { parseModel, readWeightsText, type DataFingerprint, type ModelFile, type TrainingRecord } from '../model/weights-file.js';
import { DEFAULT_LR } from '../optim/optimizer.js';
import { augmentSettings, describeAugmentation, isAugmenting } from '../augment/augment.js';
import { checkSaveBest, sameArch, validationOf, type TrainRequest, type Typed } from './request.js';
import type { FileTrainOptions } from './trainer.js';

/** What --resume names: a weights file, or an ensemble's manifest (with its members' paths). */
export type Resumed = { kind: 'model'; model: ModelFile } | { kind: 'ensemble'; members: string[] };

export async function readResume(file: string): Promise<Resumed> {
  const text = await readWeightsText(file);
  if (looksLikeManifest(text) && text.length <= MAX_MANIFEST_BYTES) return { kind: 'ensemble', members: parseManifest(text, file) };
  return { kind: 'model', model: parseModel(text, file) };
}

/** A resumed run's options: the checkpoint's (read from `from`), with what may change taken from the request. */
export function resumeOptions(request: TrainRequest, typed: Typed, from: string, resume: ModelFile): FileTrainOptions {
  const t = resume.training;
  if (!t || !Array.isArray(t.history)) throw new UsageError(`${from}: has no training record to resume from (was it written by kconv train?)`);
  const fixed = (option: string, same: boolean, was: string) => {
    if (!same) {
      throw new UsageError(`${option} cannot change when resuming: ${from} was trained with ${was}, and the batches after it depend on it; leave ${option} out, or start a new run without --resume`);
    }
  };
  if (typed('recipe')) throw new UsageError(`--recipe chooses a new run's options; with --resume give only what changes (--epochs, --lr, --lr-schedule, --optimizer)`);
  if (typed('arch')) fixed('--arch', sameArch(request.arch!, resume.arch), `the network ${resume.arch}`);
  if (typed('batchSize')) fixed('--batch-size', request.batchSize === t.batchSize, `batch size ${t.batchSize}`);
  if (typed('seed')) fixed('--seed', request.seed === t.seed, `seed ${t.seed}`);
  if (typed('limit')) fixed('--limit', (request.limit ?? null) === t.limit, t.limit === null ? 'no --limit' : `--limit ${t.limit}`);
  const augment = augmentSettings(t.augment);
  if (typed('augment')) fixed(request.augment ? '--augment' : '--no-augment', request.augment ? augment.affine : !isAugmenting(augment), `augmentation ${describeAugmentation(augment)}`);
  for (const key of ['elastic', 'stroke', 'contrast', 'erase'] as const) {
    if (typed(key)) fixed(`--${key}`, request[key] === augment[key], `augmentation ${describeAugmentation(augment)}`);
  }
  if (typed('labelSmoothing')) fixed('--label-smoothing', request.labelSmoothing === (t.labelSmoothing ?? 0), `label smoothing ${t.labelSmoothing ?? 0}`);
  if (typed('ema')) fixed('--ema', request.ema === (t.ema ?? 0), t.ema ? `--ema ${t.ema}` : 'no --ema');
  if (typed('val') || typed('valSplit')) {
    const v = validationOf(request);
    fixed(request.val === false ? '--no-val' : typed('val') ? '--val' : '--val-split', JSON.stringify(v) === JSON.stringify(t.validation), describeValidation(t.validation));
  }
  if (typed('freeze')) fixed('--freeze', request.freeze === (t.freeze ?? 0), t.freeze ? `--freeze ${t.freeze}` : 'no layers frozen');
  if (typed('replayRatio')) fixed('--replay-ratio', request.replayRatio === t.replay?.ratio, t.replay ? `--replay-ratio ${t.replay.ratio}` : 'no --replay');
  if (typed('replay') && !t.replay) fixed('--replay', false, 'no --replay');
  const optimizer = request.optimizer ?? t.optimizer.name;
  const changedOptimizer = optimizer !== t.optimizer.name;
  const opts: FileTrainOptions = {
    arch: resume.arch,
    epochs: request.epochs ?? t.epochs,
    batchSize: t.batchSize,
    optimizer,
    lr: request.lr ?? (changedOptimizer ? DEFAULT_LR[optimizer] : t.optimizer.lr),
    schedule: request.lrSchedule ?? t.schedule,
    weightDecay: request.weightDecay ?? t.optimizer.weightDecay,
    seed: t.seed,
    validation: t.validation,
    limit: t.limit,
    // An explicit --out wins; by default the checkpoint is continued in place.
    out: typed('out') ? request.out : from,
    saveBest: Boolean(request.saveBest),
    optimizerState: request.optimizerState,
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

function describeValidation(v: FileTrainOptions['validation']): string {
  return v.kind === 'none' ? 'no validation' : v.kind === 'file' ? `--val ${v.file}` : `--val-split ${v.fraction}`;
}

/** What a resumed run changes (null: nothing), to say once before it starts. */
export function resumeNote(opts: FileTrainOptions, resume: ModelFile): string | null {
  const t = resume.training!;
  const changes: string[] = [];
  if (opts.optimizer !== t.optimizer.name) changes.push(`optimizer ${t.optimizer.name} → ${opts.optimizer} (its state starts afresh)`);
  if (opts.lr !== t.optimizer.lr) changes.push(`lr ${t.optimizer.lr} → ${opts.lr}`);
  if (opts.schedule !== t.schedule) changes.push(`schedule ${t.schedule} → ${opts.schedule}`);
  if (changes.length === 0) return null;
  return `resuming with ${changes.join(', ')}: a new ${opts.schedule} schedule runs from here to epoch ${opts.epochs}`;
}

/** Where a resumed run picks up: the epoch and batch after the checkpoint's last. */
export function resumePoint(t: TrainingRecord, into: string | null): string {
  const epoch = t.position ? t.position.epoch : t.history.length + 1;
  const batch = t.position ? t.position.batch + 1 : 1;
  return `resuming at epoch ${epoch}, batch ${batch} (${t.history.length} epoch${t.history.length === 1 ? '' : 's'} done${t.position ? ` and ${t.position.batch} batch${t.position.batch === 1 ? '' : 'es'} of epoch ${epoch}` : ''})${into ? `, saving to ${into}` : ''}`;
}

/** The data now is not what `file` was trained on (null: it is, or nothing was recorded): training goes on with it. */
export function dataChanged(file: string, recorded: DataFingerprint | undefined, now: DataFingerprint): string | null {
  if (!recorded || recorded.sha256 === now.sha256) return null;
  return `warning: ${now.file} is not the data ${file} was trained on (${recorded.file}, ${recorded.images} images; now ${now.images} images with other content): training goes on with it`;
}

type RecordedReplay = NonNullable<TrainingRecord['replay']>;

/**
 * A resumed fine-tune replays the images it replayed (the batches after the checkpoint
 * depend on them): when the recorded file cannot be read, the error to throw instead.
 */
export function unreadableReplay(error: unknown, from: string | undefined, recorded: RecordedReplay | undefined, typedReplay: boolean): unknown {
  if (recorded && !typedReplay && error instanceof DataError) {
    return new UsageError(`${from} was fine-tuned with replay of ${recorded.file}, which cannot be read (${error.message}); give --replay FILE with the same images`);
  }
  return error;
}

/** Throws unless the replay images read from `file` are the ones the checkpoint `from` recorded. */
export function checkReplay(file: string, from: string | undefined, recorded: RecordedReplay | undefined, now: DataFingerprint): void {
  if (recorded && now.sha256 !== recorded.sha256) {
    throw new UsageError(`--replay ${file}: not the images ${from} was fine-tuned with (${recorded.file}, ${recorded.images} images; now ${now.images} with other content), and the batches after the checkpoint depend on them; give --replay the same file`);
  }
}
