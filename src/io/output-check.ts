/**
 * Checks on a file to be written, made before any work starts: a run must not train
 * for an hour and then find that it cannot save, or that saving would replace its input.
 */
import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { OutputError, UsageError } from '../errors.js';
import { resolveWriteTarget, temporaryName, type WriteTarget } from './atomic-write.js';

/** A file the command reads, by the option that named it (the argument has flag ''). */
export interface NamedInput {
  flag: string;
  file: string | undefined;
}

/**
 * Throws a one-line error unless `file` can be written: it is not a folder, its folder
 * exists and takes new files, and it is not one of the command's inputs (compared as
 * files, after symbolic and hard links, not as names). Returns where the write will go.
 */
export async function checkOutput(file: string, flag: string, inputs: NamedInput[] = []): Promise<WriteTarget> {
  const named = flag ? `${flag} ${file}` : file;
  if (file.trim() === '') throw new UsageError(`${flag || 'the output'} needs a file name, got an empty one`);
  await refuseInputs(file, named, inputs);
  let target: WriteTarget;
  try {
    target = await resolveWriteTarget(file);
  } catch (err) {
    throw problem(err, named, path.dirname(file));
  }
  if (target.kind === 'replace') await probe(target.file, named);
  return target;
}

async function refuseInputs(file: string, named: string, inputs: NamedInput[]): Promise<void> {
  const out = await stat(file).catch(() => null);
  if (!out) return;
  for (const input of inputs) {
    if (input.file === undefined || input.file === '-') continue;
    const st = await stat(input.file).catch(() => null);
    if (st && st.dev === out.dev && st.ino === out.ino) {
      const which = input.flag ? `${input.flag} ${input.file}` : `the input file ${input.file}`;
      throw new UsageError(`${named} is the same file as ${which}: writing it would destroy the input; give the output another name`);
    }
  }
}

/** Creates and removes a temporary file where the real one will be written. */
async function probe(target: string, named: string): Promise<void> {
  const tmp = temporaryName(target);
  try {
    await (await open(tmp, 'wx')).close();
  } catch (err) {
    throw problem(err, named, path.dirname(target));
  }
  await unlink(tmp).catch(() => undefined);
}

function problem(err: unknown, named: string, dir: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const folder = dir === '.' ? 'the current folder' : dir;
  switch (code) {
    case 'EISDIR':
      return new OutputError(`${named}: is a folder; give a file name`, code);
    case 'ENOENT':
      return new OutputError(`${named}: the folder ${folder} does not exist; create it or give another path`, code);
    case 'ENOTDIR':
      return new OutputError(`${named}: a part of the path is a file, not a folder; give another path`, code);
    case 'EACCES':
    case 'EPERM':
      return new OutputError(`${named}: cannot create files in ${folder} (permission denied); give another path`, code);
    case 'EROFS':
      return new OutputError(`${named}: ${folder} is on a read-only file system; give another path`, code);
    case 'ENOSPC':
    case 'EDQUOT':
      return new OutputError(`${named}: the disk of ${folder} is full; free some space or give another path`, code);
    case 'ELOOP':
      return new OutputError(`${named}: too many levels of symbolic links`, code);
    case 'ENAMETOOLONG':
      return new OutputError(`${named}: the name is too long`, code);
  }
  return code ? new OutputError(`${named}: cannot write there (${code})`, code) : (err as Error);
}
