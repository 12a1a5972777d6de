import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The real Kannada-MNIST folder: $KCONV_DATA, else ../shared/data/kannada from the repository. */
export const DATA_DIR = resolve(process.env.KCONV_DATA ?? resolve(__dirname, '../../../shared/data/kannada'));

export function dataFile(name: string): string {
  const path = resolve(DATA_DIR, name);
  if (!existsSync(path)) {
    throw new Error(`real-data test needs ${path}: set KCONV_DATA to the folder with train.csv, val.csv, test.csv and Dig-MNIST.csv`);
  }
  return path;
}
