import { readDataset, type AnyReadOptions, type Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { isImageInput, readImageDataset, type ImageDataset } from '../image/read-images.js';
import { reportSkipped } from './dataset-notes.js';
import type { Io } from './output.js';

/**
 * The inputs of predict, evaluate and show: one CSV or idx file as before, or image files
 * and folders of images (read by src/image/read-images.ts). Skipped and ignored files are
 * reported on stderr, one line each kind.
 */
export async function readInputs(paths: readonly string[], opts: AnyReadOptions, io: Io): Promise<Dataset | ImageDataset> {
  if (await isImageInput(paths)) {
    if (opts.labels !== undefined) throw new UsageError('--labels goes with an idx images file; images take their labels from the folders 0/ … 9/ they are in');
    const data = await readImageDataset(paths, { skipBad: opts.skipBadRows, requireLabels: opts.requireLabels, requireRows: opts.requireRows });
    reportImageNotes(data, io);
    return data;
  }
  if (paths.length !== 1) throw new UsageError(`give one CSV or idx file, or image files and folders of images (got ${paths.length} paths)`);
  const data = await readDataset(paths[0], opts);
  reportSkipped(data, io);
  return data;
}

/** The image files of a dataset read from images, else null. */
export function imageFiles(data: Dataset): string[] | null {
  return 'files' in data && Array.isArray((data as ImageDataset).files) ? (data as ImageDataset).files : null;
}

function reportImageNotes(data: ImageDataset, io: Io): void {
  const bad = data.badFiles;
  if (bad.length > 0) {
    io.err(`kconv: skipped ${bad.length} file${bad.length === 1 ? '' : 's'} that ${bad.length === 1 ? 'is' : 'are'} no readable image: ${bad.slice(0, 3).map((b) => b.reason).join('; ')}${bad.length > 3 ? '; …' : ''}\n`);
  }
  const ignored = data.ignored;
  if (ignored.length > 0) {
    io.err(`kconv: ignored ${ignored.length} entr${ignored.length === 1 ? 'y' : 'ies'} that ${ignored.length === 1 ? 'is' : 'are'} not a .png, .jpg or .jpeg image (${ignored.slice(0, 3).join(', ')}${ignored.length > 3 ? ', …' : ''})\n`);
  }
}

/** A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
