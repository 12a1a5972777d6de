/** Reading Kaggle-format Kannada-MNIST CSV files (and the official idx files) into typed arrays. */
export { readDataset, readSource } from './read.js';
export { FOLDER, memorySource, openInput, openSource, sourceBytes, STDIN, STDIN_NAME, type Source } from './source.js';
export { isDecodedPicture, pictureFormat, shellWord, unreadablePicture } from './magic.js';
export { MAX_IMAGES, PIXELS } from './types.js';
export type { DataFile, Dataset, HeaderKind, Images, ReadOptions, Skipped } from './types.js';
