/**
 * The rules of a fine-tune (`--init model.json`): the net and its input spec come from
 * the file, so an --arch or --recipe naming another is refused; the defaults are
 * fine-tuning's (finetune.ts), or the recipe's when one is typed; options typed win.
 */
import type { Images } from '../data/index.js';
import { ModelFileError, UsageError } from '../errors.js';
import { looksLikeManifest, MAX_MANIFEST_BYTES, memberFiles, parseManifest } from '../model/ensemble.js';
import { DEFAULT_INPUT, parseModel, readWeightsText, type InputSpec, type ModelFile } from '../model/weights-file.js';
import { formatArch, parseArch } from '../net/spec.js';
import { evaluate } from '../batch/evaluate.js';
import { stratifiedSplit } from '../batch/fill.js';
import { defaultFreeze, fineTuneRecipe } from './finetune.js';
import { RECIPES } from './recipes.js';
import { freshOptions, sameArch, type TrainRequest, type Typed } from './request.js';
import type { FileTrainOptions } from './trainer.js';

/** A fine-tune's options, from the request and the model it starts from (read from `from`). */
export function initOptions(request: TrainRequest, typed: Typed, from: string, init: ModelFile): FileTrainOptions {
  if (request.ensemble !== undefined) throw new UsageError(`--ensemble trains new models from fresh weights; --init ${from} fine-tunes one model: give one of them`);
  const recipe = typed('recipe') ? RECIPES[request.recipe] : null;
  if (recipe && !sameArch(recipe.arch, init.arch)) {
    throw new UsageError(`--recipe ${request.recipe} trains the network ${formatArch(parseArch(recipe.arch))}, but --init ${from} holds ${init.arch}: the net comes from --init; leave --recipe out, or give its options one by one`);
  }
  if (typed('arch') && !sameArch(request.arch!, init.arch)) {
    throw new UsageError(`--arch ${request.arch} conflicts with --init ${from}, whose network is ${init.arch}: the net comes from the --init file; leave --arch out`);
  }
  if ((recipe || typed('arch')) && !sameInput(init.input, DEFAULT_INPUT)) {
    throw new UsageError(`${typed('arch') ? '--arch' : '--recipe'} builds a net reading ${describeInput(DEFAULT_INPUT)}, but --init ${from} reads ${describeInput(init.input)}: the net comes from the --init file; leave ${typed('arch') ? '--arch' : '--recipe'} out`);
  }
  const withParams = init.net.layers.filter((l) => l.params().length > 0).length;
  if (request.freeze !== undefined && request.freeze >= withParams) {
    throw new UsageError(`--freeze ${request.freeze}: ${from}'s network ${init.arch} has ${withParams} layers with parameters, and at least the last must learn; give --freeze 0 to ${withParams - 1}`);
  }
  const opts = freshOptions({ ...request, arch: undefined }, { ...(recipe ?? fineTuneRecipe(init)), arch: init.arch });
  // By default beside the weights it came from, never over them.
  if (!typed('out')) opts.out = from.replace(/(\.json)?$/, '.finetuned.json');
  opts.init = { model: init, file: from };
  opts.freeze = request.freeze ?? defaultFreeze(init.net);
  return opts;
}

function sameInput(a: InputSpec, b: InputSpec): boolean {
  return a.scale === b.scale && a.mean === b.mean && a.std === b.std;
}

function describeInput(i: InputSpec): string {
  return `pixels / ${i.scale}, then (x − ${i.mean}) / ${i.std}`;
}

/** --freeze, --replay and --replay-ratio go with --init (or the checkpoint of a fine-tune); said before any work. */
export function checkFineTuneOptions(request: TrainRequest, typed: Typed): void {
  if (request.init !== undefined) {
    if (request.replayRatio !== undefined && request.replay === undefined) throw new UsageError('--replay-ratio sets how many --replay images each epoch mixes in: give --replay train.csv too');
    return;
  }
  if (typed('resume')) return; // a resumed fine-tune: checked against its record (resumeOptions)
  for (const [flag, given] of [['--freeze', request.freeze !== undefined], ['--replay', request.replay !== undefined], ['--replay-ratio', request.replayRatio !== undefined]] as const) {
    if (given) throw new UsageError(`${flag} is for fine-tuning a trained model: give --init model.json (the weights to start from)`);
  }
}

/** A weights file for --init: one model, not an ensemble's manifest. */
export async function readInit(file: string): Promise<ModelFile> {
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

/** Before a fine-tune: the init model's accuracy on the run's validation images (null: none), to compare with the epochs'. */
export function accuracyBefore(opts: FileTrainOptions, data: Images, valData: Images | null): number | null {
  const v = opts.validation;
  const rows = v.kind === 'split' ? stratifiedSplit(data.labels!, opts.limit ?? data.n, v.fraction, opts.seed).val : null;
  const set = v.kind === 'file' ? valData : v.kind === 'split' && rows!.length > 0 ? data : null;
  return set ? evaluate(opts.init!.model.net, opts.init!.model.input, set, rows).acc : null;
}
