/**
 * Training an ensemble: K models, the same options but the seed (seed, seed + 1, …,
 * seed + K − 1), each an ordinary checkpointed run of train() into its own weights file,
 * then the manifest that names them (model/ensemble.ts), written atomically once they
 * are trained.
 *
 * The models are trained one after another, each on all the threads: on a 2-core
 * machine, two models trained at once on one thread each were no faster than one after
 * the other on two threads each (see the README's "Ensembles"), and one at a time keeps
 * a single progress line, one lock-step checkpoint per epoch, and the memory of one run.
 *
 * Stopped part way (Ctrl-C), the model being trained saves its checkpoint as a single
 * run does, and the manifest is written naming all K files, so that
 * `kconv train data.csv --resume <manifest>` finds them: finished models are skipped,
 * the stopped one continues, the ones not started start (their files do not exist yet,
 * and a command that reads the manifest says so).
 *
 * A single model is trained as an ensemble of one without a manifest (plan.ts).
 */
import path from 'node:path';
import { ModelFileError, TrainingError, UsageError } from '../errors.js';
import { looksLikeManifest, manifestTarget, MAX_MANIFEST_BYTES, memberFiles, memberPath, saveManifest } from '../model/ensemble.js';
import type { Images } from '../data/index.js';
import { parseModel, readWeightsText, type ModelFile } from '../model/weights-file.js';
import { augmentSettings } from '../augment/augment.js';
import { freshOptions, type TrainRequest, type Typed } from './request.js';
import { resumeOptions } from './resume.js';
import { train, type FileTrainOptions, type TrainEvents, type TrainResult } from './trainer.js';

/** One model of an ensemble run: what to train (or that it is done). */
export interface MemberPlan {
  /** 1-based position in the ensemble. */
  index: number;
  /** Its path in the manifest, relative to the manifest's folder. */
  name: string;
  /** The options of its run: the ensemble's, with its own seed and `out` (its weights file). */
  opts: FileTrainOptions;
  /** The checkpoint it continues from, when resuming. */
  resume?: ModelFile;
  /** Already trained to its target: nothing to do. */
  done?: boolean;
}

export interface EnsembleResult {
  /** True when a stop was asked for before every model was trained. */
  stopped: boolean;
  /** The model that was being trained (or would start next) when stopped. */
  stoppedAt: MemberPlan | null;
  /** Each model's result, or null for one that was done already or not reached. */
  results: (TrainResult | null)[];
}

/**
 * Trains the ensemble's models in order, each with the events `eventsOf` gives it, then
 * writes the manifest at `manifest`. A stop (the events' shouldStop) ends the model being
 * trained with a checkpoint, and the manifest is written then too, naming every model.
 * A model that diverges stops the whole run, with its position in the message.
 * With `manifest` null (a single model) no manifest is written and errors are as train()'s.
 */
export async function trainEnsemble(
  data: Images, valData: Images | null, manifest: string | null, plans: readonly MemberPlan[], eventsOf: (plan: MemberPlan) => TrainEvents,
): Promise<EnsembleResult> {
  const results: (TrainResult | null)[] = plans.map(() => null);
  const names = plans.map((p) => p.name);
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i];
    if (plan.done) continue;
    const events = eventsOf(plan);
    let result: TrainResult;
    try {
      result = await train(data, valData, plan.opts, events, plan.resume);
    } catch (error) {
      if (error instanceof TrainingError && manifest !== null) throw new TrainingError(`model ${plan.index} of ${plans.length} (${plan.opts.out}): ${error.message}`);
      throw error;
    }
    results[i] = result;
    const next = plans.slice(i + 1).find((p) => !p.done);
    if (result.stopped || (next && events.shouldStop?.())) {
      if (manifest !== null) await saveManifest(manifest, names);
      return { stopped: true, stoppedAt: result.stopped ? plan : next!, results };
    }
  }
  if (manifest !== null) await saveManifest(manifest, names);
  return { stopped: false, stoppedAt: null, results };
}

/** A new ensemble of `k`: the run's options, the seed counting up, each model into <out>.<k>.json beside the manifest. */
export function freshPlans(request: TrainRequest, k: number): MemberPlan[] {
  const opts = freshOptions(request);
  return Array.from({ length: k }, (_, i) => {
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
export async function resumedPlans(request: TrainRequest, typed: Typed, manifest: string, names: string[]): Promise<MemberPlan[]> {
  if (typed('out')) throw new UsageError(`--out does not go with --resume of an ensemble: its models are continued in their own files, named by ${manifest}; leave --out out`);
  if (request.ensemble !== undefined && request.ensemble !== names.length) {
    throw new UsageError(`--ensemble ${request.ensemble}: ${manifest} is an ensemble of ${names.length} models, and a resume cannot change that; leave --ensemble out`);
  }
  const files = memberFiles(manifest, names);
  const models: (ModelFile | null)[] = [];
  for (let i = 0; i < files.length; i++) models.push(await readMember(manifest, files, i));
  const first = models[0];
  if (!first) throw new ModelFileError(`${manifest}: model 1, ${files[0]}, does not exist: an ensemble is resumed from its models' checkpoints; train it anew with --ensemble`);
  const t1 = first.training!;
  // --seed names the first model's seed; the others count up from it.
  if (typed('seed') && request.seed !== t1.seed) {
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
    if (model === null) return { index, name: names[i], opts: startedLike(first, request, files[i], t1.seed + i) };
    const t = model.training!;
    const target = request.epochs ?? t.epochs;
    if (t.history.length >= target && !t.position) {
      return { index, name: names[i], opts: { ...startedLike(model, request, files[i], t.seed), epochs: t.epochs }, resume: model, done: true };
    }
    return { index, name: names[i], opts: resumeOptions(request, memberTyped, files[i], model), resume: model };
  });
  if (plans.every((p) => p.done)) {
    const epochs = Math.max(...models.map((m) => m!.training!.history.length));
    throw new UsageError(`${manifest}: every model is already trained (${epochs} epochs); give --epochs N with N > ${epochs} to train more`);
  }
  return plans;
}

/** Model i of a manifest's `files` (null: its file does not exist yet), with a training record to resume from. */
async function readMember(manifest: string, files: string[], i: number): Promise<ModelFile | null> {
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
  return model;
}

/** A new run with a trained model's options (as kconv train would start it) and another seed. */
function startedLike(model: ModelFile, request: TrainRequest, out: string, seed: number): FileTrainOptions {
  const t = model.training!;
  return {
    arch: model.arch,
    epochs: request.epochs ?? t.epochs,
    batchSize: t.batchSize,
    optimizer: t.optimizer.name,
    lr: t.optimizer.lr,
    schedule: t.schedule,
    weightDecay: request.weightDecay ?? t.optimizer.weightDecay,
    seed,
    validation: t.validation,
    limit: t.limit,
    out,
    saveBest: false,
    optimizerState: request.optimizerState,
    augment: augmentSettings(t.augment),
    labelSmoothing: t.labelSmoothing ?? 0,
    ema: t.ema ?? 0,
    threads: 1,
  };
}
