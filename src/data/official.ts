/**
 * The official Kannada-MNIST files (Vinay Uday Prabhu, arXiv:1908.01242, CC BY-SA 4.0):
 * repository vinayprabhu/Kannada_MNIST on GitHub, branch master, folder
 * data/output_tensors/MNIST_format/, with the git blob id of each file there.
 */

/** Where `kconv download` fetches from unless given `--mirror`. */
export const OFFICIAL_BASE_URL = 'https://raw.githubusercontent.com/vinayprabhu/Kannada_MNIST/master/data/output_tensors/MNIST_format/';

export const X_TRAIN = 'X_kannada_MNIST_train-idx3-ubyte.gz';
export const Y_TRAIN = 'y_kannada_MNIST_train-idx1-ubyte.gz';
export const X_TEST = 'X_kannada_MNIST_test-idx3-ubyte.gz';
export const Y_TEST = 'y_kannada_MNIST_test-idx1-ubyte.gz';
export const X_DIG = 'X_dig_MNIST-idx3-ubyte.gz';
export const Y_DIG = 'y_dig_MNIST-idx1-ubyte.gz';

export type OfficialFileName = typeof X_TRAIN | typeof Y_TRAIN | typeof X_TEST | typeof Y_TEST | typeof X_DIG | typeof Y_DIG;

/** Git blob ids (SHA-1 of `blob <size>\0` + the bytes) as the official repository lists them. */
export const OFFICIAL_BLOB_IDS: Readonly<Record<OfficialFileName, string>> = {
  [X_TRAIN]: 'b588ed8355da1fc0dd0c2707947c132f7aa427c0',
  [Y_TRAIN]: 'bcfa4effc50c989ea25264975dc38e14d6f8ecc1',
  [X_TEST]: '1dc875a6b5278cf9504eda58ac28530bb65817e9',
  [Y_TEST]: '46809f488ce804791478598cc66f7ef85639eae1',
  [X_DIG]: '5ae535fc8a7579f29f07771955dbfb142bd120eb',
  [Y_DIG]: '6ea1e2fc2d2501e1976bafe433524a8cfd5cd5f7',
};

/** The six files, in the order they are fetched. */
export const OFFICIAL_FILES: readonly OfficialFileName[] = [X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, X_DIG, Y_DIG];

export type CsvName = 'train.csv' | 'test.csv' | 'Dig-MNIST.csv';

/** The Kaggle-format CSV files made from them (all with a label column). */
export const CSV_FILES: readonly { name: CsvName; images: OfficialFileName; labels: OfficialFileName; rows: number }[] = [
  { name: 'train.csv', images: X_TRAIN, labels: Y_TRAIN, rows: 60_000 },
  { name: 'test.csv', images: X_TEST, labels: Y_TEST, rows: 10_000 },
  { name: 'Dig-MNIST.csv', images: X_DIG, labels: Y_DIG, rows: 10_240 },
];
