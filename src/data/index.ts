/** Reading Kaggle-format Kannada-MNIST CSV files (and the official idx files) into typed arrays. */
import type { Source } from './source.js';
import type { DataFile, ReadOptions } from './types.js';

// The readers (csv-parse and a dozen modules of ours) load on first use, not with this
// index: `kconv predict one.png` imports the index for its constants and types and never
// reads a CSV; loading them anyway cost it ~20 ms of its start-up (docs/performance.md).
/** Reads a CSV (.csv, .csv.gz) or idx file, `-` for standard input: see read.ts. */
export async function readDataset(file: string, opts: ReadOptions = {}): Promise<DataFile> {
  return (await import('./read.js')).readDataset(file, opts);
}

/** Reads an opened source as CSV or idx: see read.ts. */
export async function readSource(source: Source, opts: ReadOptions = {}): Promise<DataFile> {
  return (await import('./read.js')).readSource(source, opts);
}
export { FOLDER, memorySource, openInput, openSource, sourceBytes, STDIN, STDIN_NAME, type Source } from './source.js';
export { isDecodedPicture, pictureFormat, shellWord, unreadablePicture } from './magic.js';
export { MAX_IMAGES, PIXELS } from './types.js';
export type { DataFile, Dataset, HeaderKind, Images, ReadOptions, Skipped } from './types.js';
