import type { DataFile } from '../../src/data/index.js';

/** A data file's images and where they came from side by side in one object, for compact assertions. */
export function flat(d: DataFile) {
  return { ...d.images, file: d.file, format: d.format, header: d.header, skipped: d.skipped };
}
export type Flat = ReturnType<typeof flat>;
