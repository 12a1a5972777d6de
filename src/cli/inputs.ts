import { readDataset, STDIN, type DataFile, type ReadOptions } from '../data/index.js';
import { UsageError } from '../errors.js';
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

/** Reads a data file for a command and reports skipped rows (with --skip-bad-rows). */
export async function readData(file: string, flags: ReadFlags, io: Io, opts: Pick<ReadOptions, 'requireLabels' | 'requireRows'> & { labels?: string } = {}): Promise<DataFile> {
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
