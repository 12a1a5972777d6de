/**
 * Ensembles: several trained models whose probabilities are averaged. On disk an
 * ensemble is a small manifest naming ordinary weights files, each a complete,
 * resumable kconv model that also works alone:
 *
 *   { "format": "kconv-ensemble", "version": 1, "members": ["model.1.json", "model.2.json"] }
 *
 * Member paths are relative to the manifest's folder and stay inside it (no "..", no
 * absolute paths), so a folder holding a manifest and its members can be moved or
 * copied as a whole, and the text of a manifest from elsewhere cannot name files outside
 * its folder (a member that is a symbolic link is followed, as any file kconv reads).
 * A manifest reached through a symbolic link is the file the link points to: its members
 * are beside that file, not beside the link. `--weights` names a weights file, a
 * manifest, or a comma-separated list of weights files; loadWeights reads any of the three.
 */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { ModelFileError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { describe, own, readDocument } from './json-reader.js';
import { parseModel, readWeightsText, type ModelFile } from './weights-file.js';

export const ENSEMBLE_FORMAT = 'kconv-ensemble';
/** The newest manifest version this kconv reads. */
export const ENSEMBLE_VERSION = 1;
/** The most members an ensemble may have: each is a full pass over the images. */
export const MAX_MEMBERS = 16;
/** The largest manifest kconv reads: 16 members of at most MAX_MEMBER_PATH characters fit many times over. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** The longest member path a manifest may hold. */
export const MAX_MEMBER_PATH = 1024;

/** What `--weights` named, loaded: one model or several whose probabilities are averaged. */
export interface Ensemble {
  /** What was named, as typed: the weights file, the manifest, or the comma-separated list. */
  name: string;
  /** The models, in order (one for a plain weights file). */
  members: ModelFile[];
  /** Each member's file as the user would type it (a manifest's folder joined to its paths). */
  files: string[];
  /** The manifest's path when one was named, else null. */
  manifest: string | null;
}

/** A single model as a one-member ensemble. */
export function single(model: ModelFile, file: string): Ensemble {
  return { name: file, members: [model], files: [file], manifest: null };
}

/** The file name of member k (1-based) of an ensemble whose manifest is `out`: model.json → model.1.json. */
export function memberPath(out: string, k: number): string {
  return out.replace(/(\.json)?$/, `.${k}.json`);
}

/**
 * The file a manifest's name leads to: the name itself, or, when it is a symbolic link
 * (to a file or to nothing yet), the file at the end of the links, named relative to
 * the current folder when it is inside it. Its folder is where the members are.
 */
export function manifestTarget(file: string): string {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      if (!lstatSync(current).isSymbolicLink()) break;
      link = readlinkSync(current);
    } catch {
      break;
    }
    current = path.resolve(path.dirname(current), link);
  }
  if (current === file) return file;
  const relative = path.relative(process.cwd(), current);
  return relative.startsWith('..') || path.isAbsolute(relative) ? current : relative;
}

/** Each member's file, as the user would type it: the manifest's folder (after links) joined to its path. */
export function memberFiles(manifest: string, relative: readonly string[]): string[] {
  const folder = path.dirname(manifestTarget(manifest));
  return relative.map((m) => (folder === '.' ? path.normalize(m) : path.join(folder, m)));
}

/** The manifest's text: the members' paths, relative to its folder. */
export function stringifyManifest(members: readonly string[]): string {
  return JSON.stringify({ format: ENSEMBLE_FORMAT, version: ENSEMBLE_VERSION, members }, null, 2) + '\n';
}

/** Writes a manifest atomically (a temporary name, then renamed over `file`). */
export async function saveManifest(file: string, members: readonly string[]): Promise<void> {
  await writeFileAtomic(file, stringifyManifest(members));
}

/** Whether a file's text is a manifest (by its "format", near the start, as kconv writes it). */
export function looksLikeManifest(text: string): boolean {
  return /"format"\s*:\s*"kconv-ensemble"/.test(text.slice(0, 4096));
}

const isLink = (file: string): boolean => {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Parses and validates a manifest: format and version, then "members", an array of 1 to
 * MAX_MEMBERS plain relative paths, each at most once, none naming the manifest itself.
 * Returns the member paths as written. Every fault is one ModelFileError naming the file.
 */
export function parseManifest(text: string, file: string): string[] {
  const fail = (what: string): never => {
    throw new ModelFileError(`${file}: ${what}`);
  };
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) fail(`is an ensemble manifest of more than ${MAX_MANIFEST_BYTES / 1024} KiB, larger than any can be: a manifest lists at most ${MAX_MEMBERS} weights files`);
  const { doc } = readDocument(text, fail, 'ensemble manifest', ENSEMBLE_FORMAT, ENSEMBLE_VERSION);
  const members = own(doc, 'members');
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS) {
    return fail(`"members" must be an array of 1 to ${MAX_MEMBERS} weights files, got ${describe(members)}`);
  }
  const self = path.basename(manifestTarget(file));
  const seen = new Map<string, number>();
  return members.map((m: unknown, i: number) => {
    const at = `members[${i}]`;
    if (typeof m !== 'string' || m === '') return fail(`${at} must be the path of a weights file, got ${describe(m)}`);
    if (m.length > MAX_MEMBER_PATH) fail(`${at} is a path of ${m.length} characters, more than ${MAX_MEMBER_PATH}`);
    if (m.includes('\0')) fail(`${at} holds a NUL character: not a path`);
    if (m.includes('\\')) fail(`${at} is ${describe(m)}: write paths with "/" (a backslash is not a folder separator here)`);
    if (path.posix.isAbsolute(m) || /^[A-Za-z]:/.test(m)) fail(`${at} is ${describe(m)}: member paths are relative to the manifest's folder, not absolute`);
    if (m.split('/').includes('..')) fail(`${at} is ${describe(m)}: member paths stay inside the manifest's folder (no "..")`);
    const normal = path.posix.normalize(m);
    if (normal === self || normal === '.' || normal.endsWith('/')) fail(`${at} is ${describe(m)}: a member must be a weights file, not the manifest or its folder`);
    const before = seen.get(normal);
    if (before !== undefined) fail(`${at} is ${describe(m)}, the same file as members[${before}]: list each member once`);
    seen.set(normal, i);
    return m;
  });
}

/** Reads one weights file, refusing a manifest (members and list items are weights files). */
async function loadMember(file: string, manifestNote: (text: string) => string): Promise<ModelFile> {
  const text = await readWeightsText(file);
  if (looksLikeManifest(text) && text.length <= MAX_MANIFEST_BYTES) throw new ModelFileError(manifestNote(text));
  return parseModel(text, file);
}

/**
 * What `--weights` names, read and validated in full: a weights file (one member), an
 * ensemble manifest (its members, relative to its folder), or a comma-separated list of
 * weights files ("a.json,b.json"). A name that is an existing file is read as one file
 * even when it holds a comma. `flag` is how the messages name the option ('' for an argument).
 */
export async function loadWeights(spec: string, flag = '--weights'): Promise<Ensemble> {
  if (spec.includes(',') && !existsSync(spec)) return loadList(spec, flag);
  const text = await readWeightsText(spec);
  if (!looksLikeManifest(text)) return single(parseModel(text, spec), spec);
  const files = memberFiles(spec, parseManifest(text, spec));
  const members: ModelFile[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const which = `member ${i + 1} of ${files.length}`;
    if (!existsSync(file) && !isLink(file)) {
      throw new ModelFileError(`${spec}: ${which}, ${file}, does not exist (member paths are relative to the manifest's folder; if a kconv train --ensemble run was stopped, finish it with kconv train <data> --resume ${spec})`);
    }
    try {
      members.push(await loadMember(file, () => `${spec}: ${which}, ${file}, is itself an ensemble manifest: a manifest lists weights files only`));
    } catch (error) {
      if (error instanceof ModelFileError && !error.message.startsWith(`${spec}: `)) throw new ModelFileError(`${spec}: ${which}: ${error.message}`);
      throw error;
    }
  }
  return { name: spec, members, files, manifest: spec };
}

async function loadList(spec: string, flag: string): Promise<Ensemble> {
  const named = flag ? `${flag} ${spec}` : spec;
  const files = spec.split(',');
  if (files.some((f) => f.trim() === '')) throw new UsageError(`${named}: an empty name in the list; give weights files separated by commas, e.g. a.json,b.json`);
  if (files.length > MAX_MEMBERS) throw new UsageError(`${named}: ${files.length} weights files, more than an ensemble may have (${MAX_MEMBERS})`);
  const seen = new Set<string>();
  for (const f of files) {
    const normal = path.normalize(f);
    if (seen.has(normal)) throw new UsageError(`${named}: ${f} is listed twice; list each member once`);
    seen.add(normal);
  }
  const members: ModelFile[] = [];
  for (const file of files) {
    members.push(await loadMember(file, () => `${file}: is an ensemble manifest; a comma-separated list takes weights files: give the manifest alone, or list its members`));
  }
  return { name: spec, members, files, manifest: null };
}

/** How messages and pictures name an ensemble: "ens.json (3 members)"; a single model by its file. */
export function ensembleLabel(e: Ensemble): string {
  return e.members.length === 1 ? e.name : `${e.name} (${e.members.length} members)`;
}
