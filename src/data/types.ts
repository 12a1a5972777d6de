/** What a header says about the file: which of the non-pixel columns it has. */
export type HeaderKind = 'label' | 'id' | 'id+label' | 'pixels';

/** Images as training and prediction use them: typed arrays, nothing about where they came from. */
export interface Images {
  /** Number of images. */
  n: number;
  /** n×784 bytes, row-major: image i is pixels[i*784 .. i*784+783], pixel x at row x/28, column x%28. */
  pixels: Uint8Array;
  /** Digits 0..9, or null when the file has no labels. */
  labels: Uint8Array | null;
  /** The `id` column (non-negative integers), or null when there is none. */
  ids: Int32Array | null;
}

/** The name the training and prediction code gives its images (the same type). */
export type Dataset = Images;

/** Rows skipped as bad: how many, and the first (up to 10) 1-based line numbers. */
export interface Skipped {
  count: number;
  lines: number[];
}

/** A data file read: its images, and beside them where they came from and what reading found. */
export interface DataFile {
  images: Images;
  /** The path as given; `stdin` for standard input (`-`). */
  file: string;
  format: 'csv' | 'idx' | 'images';
  header: HeaderKind;
  /** With skipBadRows: the rows skipped. */
  skipped: Skipped;
  /** Read from image files: each image's path, in order (what predictions name it by). */
  names?: string[];
}

export interface ReadOptions {
  /** Skip rows with a wrong field count, a bad pixel, label or id, or a duplicate id, instead of failing. Default false. */
  skipBadRows?: boolean;
  /** Fail when the file has no label column (training needs labels). */
  requireLabels?: boolean;
  /** With requireLabels: what needs them, for the message ('training' unless told, e.g. 'evaluation'). */
  labelsNeededBy?: string;
  /** With requireLabels: what to do instead, ending the message (e.g. "to classify them, use kconv predict test.csv"). */
  labelsHint?: string;
  /** Fail when the file has no data rows. */
  requireRows?: boolean;
  /** For an idx images file: its labels file, where it is not found beside it by name. */
  labels?: string;
}

/** Number of pixels in one 28×28 image. */
export const PIXELS = 784;
/** The most images kconv reads from one file (1.5 GB of pixels): a bound checked before allocating. */
export const MAX_IMAGES = 2_000_000;
/** The longest line a CSV row may have: a row of 785 numbers takes at most about 3 KB. */
export const MAX_LINE_BYTES = 1 << 20;
