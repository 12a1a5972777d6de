/** `kconv download`: the official Kannada-MNIST files, verified, and Kaggle-format CSVs made from them. */
export {
  DEFAULT_DIR,
  DEFAULT_TIMEOUT_MS,
  DownloadInterrupted,
  downloadKannada,
  resolveSource,
  type CsvOutcome,
  type DownloadEvent,
  type DownloadOptions,
  type DownloadReport,
  type FileOutcome,
  type InternalDownloadOptions,
} from './download.js';
export { gitBlobId, gitBlobIdOfFile } from './blob-id.js';
export { csvHeader, writeKaggleCsv } from './csv.js';
export { CSV_FILES, OFFICIAL_BASE_URL, OFFICIAL_BLOB_IDS, OFFICIAL_FILES, type CsvName, type OfficialFileName } from '../data/official.js';
