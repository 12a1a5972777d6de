/** What a header says about the file: which of the non-pixel columns it has. */
export type HeaderKind = 'label' | 'id' | 'id+label' | 'pixels';

/**
 * Images as training and prediction use them: typed arrays, nothing about where they came
 * from. A CSV parsed on several threads gives views of SharedArrayBuffers (each thread
 * wrote its rows in place); other reads give ordinary ArrayBuffers.
 */
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
  /** Keep and reuse a binary copy of the parsed file. Default true. */
  cache?: boolean;
  /** Where cached copies live. Default $XDG_CACHE_HOME/kconv, else ~/.cache/kconv. */
  cacheDir?: string;
  /** Threads that parse: this one and threads − 1 workers. Default os.availableParallelism(), at most 4; files under 4 MB use one. */
  threads?: number;
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

/** How a dataset was obtained, reported through the internal `onLoad` hook. */
export interface LoadInfo {
  source: 'cache' | 'parse';
  /** Threads set to parse: the calling thread and its parse workers (1 = the calling thread alone; 0 for a cache hit). */
  threads: number;
  /** The cache entry read or written, when there is one. */
  cacheFile?: string;
}

/** Knobs for tests and benchmarks; not part of the CLI's options. */
export interface InternalReadOptions {
  /** Files smaller than this are parsed on one thread. Default 4 MiB; 0 forces workers. */
  minParallelBytes?: number;
  /** Called once with how the dataset was obtained. */
  onLoad?: (info: LoadInfo) => void;
  /**
   * Who parses the ranges of a file split for `threads` threads: by default this thread
   * and threads − 1 workers; 'workers': `threads` workers (this thread only gathers
   * their rows); 'caller': this thread alone, range by range, no worker started. For tests.
   */
  rangesBy?: 'workers' | 'caller';
  /**
   * 'general': csv-parse reads every line, instead of the fast path taking the plain
   * ones (same result; for tests and benchmarks). Default: KCONV_CSV=general, else 'fast'.
   */
  csvParser?: 'fast' | 'general';
}

/** Number of pixels in one 28×28 image. */
export const PIXELS = 784;
/** The most images kconv reads from one file (1.5 GB of pixels): a bound checked before allocating. */
export const MAX_IMAGES = 2_000_000;
/** The longest line a CSV row may have: a row of 785 numbers takes at most about 3 KB. */
export const MAX_LINE_BYTES = 1 << 20;
