/** Reading Kaggle-format Kannada-MNIST CSV files (and the official idx files) into typed arrays. */
export { readDataset } from './read.js';
export { defaultCacheDir } from './cache.js';
export { STDIN, STDIN_NAME } from './source.js';
export { MAX_IMAGES, PIXELS } from './types.js';
export type { DataFile, Dataset, HeaderKind, Images, InternalReadOptions, LoadInfo, ReadOptions, Skipped } from './types.js';
