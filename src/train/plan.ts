/**
 * What a `kconv train` request becomes: the models to train, each with its options and
 * the checkpoint it continues (a single model is an ensemble of one, without a manifest),
 * the files they write, claimed before any work, and the notes to say before training.
 * The command line reads the data in between; trainEnsemble (ensemble.ts) then trains.
 */
import path from 'node:path';
import type { Images } from '../data/index.js';
import { UsageError } from '../errors.js';
import { lockOutput, type FileLock } from '../io/lock.js';
import { checkOutput, type NamedInput } from '../io/output-check.js';
import type { DataFingerprint, TrainingRecord } from '../model/weights-file.js';
import { freshPlans, resumedPlans, type MemberPlan } from './ensemble.js';
import { FINETUNE_DEFAULTS } from './finetune.js';
import { checkFineTuneOptions, initOptions, readInit } from './init.js';
import { freshOptions, type TrainRequest, type Typed } from './request.js';
import { dataChanged, readResume, resumeNote, resumeOptions } from './resume.js';
import { lastPath, type FileTrainOptions } from './trainer.js';

export interface TrainingPlan {
  /** The ensemble's manifest; null: a single model (no manifest). */
  manifest: string | null;
  /** The option that named the files written, for messages: --out, or --resume when a checkpoint is continued in place. */
  outFlag: '--out' | '--resume';
  /** The models in order (one for a single model). */
  members: MemberPlan[];
  /** A fine-tune's replay: the file (given, or the one a resumed fine-tune recorded), its ratio, and what the checkpoint recorded. */
  replay?: { file: string; ratio: number; recorded?: NonNullable<TrainingRecord['replay']> };
}

/** Reads what --init or --resume names and applies the rules: the plan, or a UsageError saying what does not go together. */
export async function planTraining(request: TrainRequest, typed: Typed): Promise<TrainingPlan> {
  checkFineTuneOptions(request, typed);
  if (request.init !== undefined) {
    if (request.resume !== undefined) throw new UsageError(`--init ${request.init} starts a new run from its weights, --resume ${request.resume} continues a checkpoint: give one of them`);
    const init = await readInit(request.init);
    return single(request, initOptions(request, typed, request.init, init), '--out');
  }
  const resumed = request.resume ? await readResume(request.resume) : undefined;
  if (resumed?.kind === 'ensemble' || request.ensemble !== undefined) {
    if (resumed?.kind === 'model') throw new UsageError(`--ensemble starts a new ensemble, but ${request.resume} is a single model's weights file; to continue an ensemble, give --resume its manifest`);
    if (request.saveBest) throw new UsageError('--save-best does not go with ensembles: each model would keep its best epoch in one file and its latest in another; train the models one at a time with --seed to use it');
    if (resumed) return { manifest: request.resume!, outFlag: '--resume', members: await resumedPlans(request, typed, request.resume!, resumed.members) };
    return { manifest: request.out, outFlag: '--out', members: freshPlans(request, request.ensemble!) };
  }
  if (!resumed) return single(request, freshOptions(request), '--out');
  const opts = resumeOptions(request, typed, request.resume!, resumed.model);
  return single(request, opts, typed('out') ? '--out' : '--resume', resumed.model);
}

function single(request: TrainRequest, opts: FileTrainOptions, outFlag: TrainingPlan['outFlag'], resume?: MemberPlan['resume']): TrainingPlan {
  const plan: TrainingPlan = { manifest: null, outFlag, members: [{ index: 1, name: path.basename(opts.out), opts, ...(resume ? { resume } : {}) }] };
  // A resumed fine-tune replays what it replayed (its record names the file), unless --replay names it elsewhere.
  const recorded = resume?.training?.replay;
  const file = request.replay ?? recorded?.file;
  if (file !== undefined) plan.replay = { file, ratio: request.replayRatio ?? recorded?.ratio ?? FINETUNE_DEFAULTS.replayRatio, ...(recorded ? { recorded } : {}) };
  return plan;
}

/**
 * Before any work: the manifest and every model's file can be written, none is an input,
 * and no other run writes them (a lock on each, released by the function returned).
 */
export async function claimOutputs(plan: TrainingPlan, inputs: NamedInput[]): Promise<() => void> {
  const { manifest, outFlag } = plan;
  const todo = plan.members.filter((p) => !p.done);
  if (manifest !== null) {
    const target = await checkOutput(manifest, outFlag, inputs);
    if (target.kind !== 'replace') throw new UsageError(`${outFlag} ${manifest}: an ensemble's manifest must be a file (its models are written beside it), not a device or a pipe`);
  }
  for (const p of todo) {
    const flag = manifest === null ? outFlag : `${outFlag} ${manifest}: model ${p.index}:`;
    await checkOutput(p.opts.out, flag, inputs);
    if (p.opts.saveBest) await checkOutput(lastPath(p.opts.out), flag, inputs);
  }
  const locks: FileLock[] = [];
  const release = () => locks.forEach((lock) => lock.release());
  try {
    if (manifest !== null) locks.push(await lockOutput(manifest, `${outFlag} ${manifest}`));
    for (const p of todo) locks.push(await lockOutput(p.opts.out, manifest === null ? `${outFlag} ${p.opts.out}` : `${outFlag} ${manifest}: model ${p.index}, ${p.opts.out}`));
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

/**
 * Gives every model the data it trains on (and a fine-tune its replay images), and
 * returns what to say before training: that the data is not what a checkpoint was
 * trained on (once), what a resume changes (once).
 */
export function ready(plan: TrainingPlan, data: DataFingerprint, replay?: { images: Images; file: string }): string[] {
  const notes: string[] = [];
  for (const p of plan.members) {
    p.opts.data = data;
    if (replay) p.opts.replay = { images: replay.images, ratio: plan.replay!.ratio, file: replay.file };
    const changed = p.done ? null : dataChanged(p.opts.resumedFile ?? p.opts.out, p.resume?.training?.data, data);
    if (changed && notes.length === 0) notes.push(changed);
  }
  const resumed = plan.members.find((p) => p.resume && !p.done);
  const note = resumed ? resumeNote(resumed.opts, resumed.resume!) : null;
  if (note) notes.push(note);
  return notes;
}

/** The threads a resumed run computed with (same sums, same rounding), unless told otherwise. */
export function recordedThreads(plan: TrainingPlan): number | undefined {
  return plan.members.find((p) => p.resume)?.resume?.training?.threads;
}
