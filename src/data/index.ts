/** Reading Kaggle-format Kannada-MNIST CSV files into typed arrays. */
export { readDataset } from './read-dataset.js';
export { defaultCacheDir } from './cache.js';
export { PIXELS } from './types.js';
export type { Dataset, HeaderKind, InternalReadOptions, LoadInfo, ReadOptions } from './types.js';
