import { DataError, UsageError } from '../errors.js';
import { looksLikeIdx, readIdxDataset } from './idx.js';
import { readDataset as readCsvDataset } from './read-dataset.js';
import type { Dataset, InternalReadOptions, ReadOptions } from './types.js';

export interface AnyReadOptions extends ReadOptions {
  /** For an idx images file: its labels file, where it is not found beside it by name. */
  labels?: string;
}

/**
 * Reads images from a Kaggle-format CSV or, recognised by content, an official idx
 * images file (its labels paired by name or given), with the same checks either way.
 */
export async function readDataset(file: string, opts: AnyReadOptions & InternalReadOptions = {}): Promise<Dataset> {
  if (!(await looksLikeIdx(file))) {
    if (opts.labels !== undefined) throw new UsageError(`--labels goes with an idx images file, and ${file} is not one`);
    return readCsvDataset(file, opts);
  }
  const data = await readIdxDataset(file, opts.labels !== undefined ? { labels: opts.labels } : {});
  if (opts.requireLabels && !data.labels) {
    throw new DataError(`${file}: no labels file found beside this idx images file; training needs labels: give it with --labels`, file);
  }
  if (opts.requireRows && data.n === 0) throw new DataError(`${file}: holds no images`, file);
  return data;
}
