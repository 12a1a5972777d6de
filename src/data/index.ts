/** Reading Kaggle-format Kannada-MNIST CSV files (and the official idx files) into typed arrays. */
export { readDataset, type AnyReadOptions } from './read-any.js';
export { defaultCacheDir } from './cache.js';
export { PIXELS } from './types.js';
export type { Dataset, HeaderKind, InternalReadOptions, LoadInfo, ReadOptions } from './types.js';
