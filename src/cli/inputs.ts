import { FOLDER, isDecodedPicture, openInput, PIXELS, pictureFormat, readDataset, readSource, STDIN, type DataFile, type ReadOptions } from '../data/index.js';
import { DataError, UsageError } from '../errors.js';
import { BLANK_MESSAGE, isImageInput, readImageFiles, readImageSource, type ImageFiles, type ImageReadOptions } from '../image/index.js';
import type { NamedInput } from '../io/output-check.js';
import { startTask } from './bar.js';
import type { Io } from './output.js';

/** The options every command that reads images takes (see options.ts). */
export interface ReadFlags {
  skipBadRows?: boolean;
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

type InputOptions = Pick<ReadOptions, 'requireLabels' | 'requireRows' | 'labelsNeededBy' | 'labelsHint'> & { labels?: string };

/**
 * The inputs of predict, evaluate and show: one CSV or idx file (or - for standard
 * input), or image files and folders of images (src/image/read-images.ts). One path
 * without an image's name is opened once: a folder is read as images; a file is told
 * by its first bytes: a PNG or JPEG is decoded, other pictures are refused with what
 * to do, the rest is read as CSV or idx from what was opened. What was skipped or
 * ignored is reported on stderr.
 */
export async function readInputs(paths: readonly string[], flags: ReadFlags, io: Io, opts: InputOptions = {}): Promise<DataFile> {
  const imageOptions = { skipBad: flags.skipBadRows, requireLabels: opts.requireLabels, requireRows: opts.requireRows };
  if (isImageInput(paths)) return readImages(paths, flags, io, imageOptions);
  if (paths.length !== 1) throw new UsageError(`give one CSV or idx file, or image files and folders of images (got ${paths.length} paths)`);
  const source = await openInput(paths[0], 'a CSV or idx file, or a PNG or JPEG image');
  if (source === FOLDER) return readImages(paths, flags, io, imageOptions);
  try {
    if (!source.gzip && isDecodedPicture(pictureFormat(source.head))) {
      if (flags.labels !== undefined) throw new UsageError(`--labels goes with an idx images file, and ${source.name} is a picture`);
      const data = await readImageSource(source, imageOptions);
      reportImageNotes(data, io);
      return data;
    }
    const data = await readSource(source, { skipBadRows: flags.skipBadRows, ...opts });
    reportSkipped(data, io);
    return data;
  } finally {
    await source.close();
  }
}

/** Image files and folders of images, with a progress bar. */
async function readImages(paths: readonly string[], flags: ReadFlags, io: Io, imageOptions: ImageReadOptions): Promise<DataFile> {
  if (flags.labels !== undefined) throw new UsageError('--labels goes with an idx images file; images take their labels from the folders 0/ … 9/ they are in');
  const task = startTask(io, 'reading images', 'files');
  try {
    const data = await readImageFiles(paths, { ...imageOptions, onProgress: (done, total) => task.tick(done, total) });
    task.end();
    reportImageNotes(data, io);
    return data;
  } finally {
    task.end();
  }
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

/**
 * Pictures with no ink (an empty or uniform picture) have nothing to classify: each is
 * named on stderr and left out; when none is left, that is the error. Data files (CSV,
 * idx) are returned as they are: their rows are images already.
 */
export function withoutBlankPictures(data: DataFile, io: Io): DataFile {
  const blank = (data as Partial<ImageFiles>).blank ?? [];
  if (blank.length === 0 || !data.names) return data;
  const names = data.names;
  if (blank.length === data.images.n) {
    const first = names[blank[0]];
    throw new DataError(blank.length === 1 ? `${first}: ${BLANK_MESSAGE}` : `${first} and the ${blank.length - 1} other picture${blank.length === 2 ? '' : 's'}: ${BLANK_MESSAGE}`, first);
  }
  for (const i of blank.slice(0, 10)) io.err(`kconv: ${names[i]}: ${BLANK_MESSAGE}; left out\n`);
  if (blank.length > 10) io.err(`kconv: and ${blank.length - 10} more pictures with no ink; left out\n`);
  const out = new Set(blank);
  const keep = names.map((_, i) => i).filter((i) => !out.has(i));
  const { images } = data;
  const pixels = new Uint8Array(keep.length * PIXELS);
  keep.forEach((i, k) => pixels.set(images.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS));
  return {
    ...data,
    images: { n: keep.length, pixels, labels: images.labels ? Uint8Array.from(keep, (i) => images.labels![i]) : null, ids: null },
    names: keep.map((i) => names[i]),
    blank: [],
  } as DataFile;
}

/** Reads a data file for a command and reports skipped rows (with --skip-bad-rows). */
export async function readData(file: string, flags: ReadFlags, io: Io, opts: InputOptions = {}): Promise<DataFile> {
  const data = await readDataset(file, { skipBadRows: flags.skipBadRows, ...opts });
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
