import { UsageError } from '../errors.js';
import { dataError } from './data-error.js';
import { readIdxDataset } from './idx.js';
import { readCsv } from './read-csv.js';
import { isDecodedPicture, pictureFormat, unreadablePicture } from './magic.js';
import { sniffFormat } from './sniff.js';
import { openSource, type Source } from './source.js';
import type { DataFile, ReadOptions } from './types.js';

/**
 * Reads images from a Kaggle-format CSV or, recognised by content, an official idx
 * images file (its labels paired by name or given), with the same checks either way.
 * `file` may be `-` for standard input, or a FIFO. The input is opened once, here, and
 * everything after reads what was opened.
 */
export async function readDataset(file: string, opts: ReadOptions = {}): Promise<DataFile> {
  const source = await openSource(file, 'a CSV or idx file');
  try {
    return await readSource(source, opts);
  } finally {
    await source.close();
  }
}

/**
 * Reads an input opened with openSource (which its caller closes): a CSV or an idx file.
 * A picture is refused saying what it is: PNG and JPEG are read by the commands that take
 * image files (src/image/), the other formats need converting.
 */
export async function readSource(source: Source, opts: ReadOptions = {}): Promise<DataFile> {
  const format = sniffFormat(source);
  if (format === 'picture') {
    const picture = pictureFormat(source.head)!;
    if (!isDecodedPicture(picture)) throw dataError(source.name, unreadablePicture(source.name, picture, source.identity === null));
    throw dataError(source.name, `a ${picture} image, not a CSV or idx file: training reads labelled images from a CSV (label,pixel0,…,pixel783) or an idx file; kconv predict, evaluate and show read PNG and JPEG files`);
  }
  if (format === 'csv') {
    if (opts.labels !== undefined) throw new UsageError(`--labels goes with an idx images file, and ${source.name} is not one`);
    return await readCsv(source, opts);
  }
  const data = await readIdxDataset(source, opts.labels !== undefined ? { labels: opts.labels } : {});
  if (opts.requireLabels && !data.images.labels) {
    const why = source.identity === null ? 'idx images from a stream have no labels beside them' : 'no labels file found beside this idx images file';
    throw dataError(data.file, `${why}; ${opts.labelsNeededBy ?? 'training'} needs labels: give it with --labels`);
  }
  if (opts.requireRows && data.images.n === 0) throw dataError(data.file, 'holds no images');
  return data;
}
