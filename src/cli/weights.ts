import { existsSync } from 'node:fs';
import type { NamedInput } from '../io/output-check.js';
import { type Ensemble } from '../model/ensemble.js';
import { baseName } from '../show/base-name.js';

/** --weights of the commands that classify: one model, or an ensemble whose probabilities are averaged. */
export const WEIGHTS_HELP = 'weights file written by kconv train; or an ensemble: a manifest (kconv train --ensemble K) or weights files separated by commas (a.json,b.json), whose probabilities are averaged';

/**
 * The files `--weights` names before they are read (the name, or each file of a
 * comma-separated list), as inputs an output must not replace.
 */
export function namedWeights(spec: string, flag = '--weights'): NamedInput[] {
  const files = spec.includes(',') && !existsSync(spec) ? spec.split(',') : [spec];
  return files.map((file) => ({ flag, file }));
}

/** A loaded ensemble's files (the manifest and every member), as inputs an output must not replace. */
export function ensembleInputs(e: Ensemble, flag = '--weights'): NamedInput[] {
  return [...(e.manifest ? [e.manifest] : []), ...e.files].map((file) => ({ flag, file }));
}

/** The name pictures and pages give the model: the file's name, the manifest's, or the members' names joined. */
export function modelTitle(e: Ensemble): string {
  return e.manifest ? baseName(e.manifest) : e.files.map(baseName).join(',');
}

/** The stderr note of a command that draws one member of an ensemble. */
export function firstMemberNote(e: Ensemble, what: string): string | null {
  if (e.members.length === 1) return null;
  return `kconv: note: ${e.name} is an ensemble of ${e.members.length} models; ${what} are those of model 1, ${e.files[0]} (--weights ${e.files[0]}, or another member's file, draws one model alone)\n`;
}
