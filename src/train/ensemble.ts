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
 */
import { TrainingError } from '../errors.js';
import { saveManifest } from '../model/ensemble.js';
import type { Images } from '../data/index.js';
import type { ModelFile } from '../model/weights-file.js';
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
 */
export async function trainEnsemble(
  data: Images, valData: Images | null, manifest: string, plans: readonly MemberPlan[], eventsOf: (plan: MemberPlan) => TrainEvents,
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
      if (error instanceof TrainingError) throw new TrainingError(`model ${plan.index} of ${plans.length} (${plan.opts.out}): ${error.message}`);
      throw error;
    }
    results[i] = result;
    const next = plans.slice(i + 1).find((p) => !p.done);
    if (result.stopped || (next && events.shouldStop?.())) {
      await saveManifest(manifest, names);
      return { stopped: true, stoppedAt: result.stopped ? plan : next!, results };
    }
  }
  await saveManifest(manifest, names);
  return { stopped: false, stoppedAt: null, results };
}
