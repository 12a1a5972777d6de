import { readDataset, STDIN, type DataFile, type ReadOptions } from '../data/index.js';
import { UsageError } from '../errors.js';
import { isImageInput, readImageFiles, type ImageFiles } from '../image/index.js';
import type { NamedInput } from '../io/output-check.js';
import type { Io } from './output.js';

/** The options every command that reads images takes (see options.ts). */
export interface ReadFlags {
  skipBadRows?: boolean;
  cache: boolean;
  labels?: string;
}

/** Standard input can be read once: at most one of a command's inputs may be `-`. */
export function refuseStdinTwice(inputs: NamedInput[]): void {
  const fromStdin = inputs.filter((i) => i.file === STDIN);
  if (fromStdin.length > 1) {
    const names = fromStdin.map((i) => (i.flag ? `${i.flag} -` : 'the data file -'));
    throw new UsageError(`${names.join(' and ')} both read standard input, which can be read once; give one of them as a file`);
  }
}

type InputOptions = Pick<ReadOptions, 'requireLabels' | 'requireRows'> & { labels?: string };

/**
 * The inputs of predict, evaluate and show: one CSV or idx file (or - for standard
 * input), or image files and folders of images (src/image/read-images.ts). What was
 * skipped or ignored is reported on stderr.
 */
export async function readInputs(paths: readonly string[], flags: ReadFlags, io: Io, opts: InputOptions = {}): Promise<DataFile> {
  if (await isImageInput(paths)) {
    if (flags.labels !== undefined) throw new UsageError('--labels goes with an idx images file; images take their labels from the folders 0/ … 9/ they are in');
    const data = await readImageFiles(paths, { skipBad: flags.skipBadRows, requireLabels: opts.requireLabels, requireRows: opts.requireRows });
    reportImageNotes(data, io);
    return data;
  }
  if (paths.length !== 1) throw new UsageError(`give one CSV or idx file, or image files and folders of images (got ${paths.length} paths)`);
  return readData(paths[0], flags, io, opts);
}

function reportImageNotes(data: ImageFiles, io: Io): void {
  const bad = data.badFiles;
  if (bad.length > 0) {
    io.err(`kconv: skipped ${bad.length} file${bad.length === 1 ? '' : 's'} that ${bad.length === 1 ? 'is' : 'are'} no readable image: ${bad.slice(0, 3).map((b) => b.reason).join('; ')}${bad.length > 3 ? '; …' : ''}\n`);
  }
  const ignored = data.ignored;
  if (ignored.length > 0) {
    io.err(`kconv: ignored ${ignored.length} entr${ignored.length === 1 ? 'y' : 'ies'} that ${ignored.length === 1 ? 'is' : 'are'} not a .png, .jpg or .jpeg image (${ignored.slice(0, 3).join(', ')}${ignored.length > 3 ? ', …' : ''})\n`);
  }
}

/** Reads a data file for a command and reports skipped rows (with --skip-bad-rows). */
export async function readData(file: string, flags: ReadFlags, io: Io, opts: InputOptions = {}): Promise<DataFile> {
  const data = await readDataset(file, { skipBadRows: flags.skipBadRows, cache: flags.cache, ...opts });
  reportSkipped(data, io);
  return data;
}

/** With --skip-bad-rows: say how many rows were skipped and where the first ones are. */
export function reportSkipped(data: DataFile, io: Io): void {
  const { count, lines } = data.skipped;
  if (count === 0) return;
  const more = count > lines.length ? ', …' : '';
  io.err(`kconv: ${data.file}: skipped ${count} bad row${count === 1 ? '' : 's'} (line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}${more})\n`);
}
