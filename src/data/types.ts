/** What a header says about the file: which of the non-pixel columns it has. */
export type HeaderKind = 'label' | 'id' | 'id+label' | 'pixels';

/** Images read from one CSV file. */
export interface Dataset {
  /** Number of images. */
  n: number;
  /** n×784 bytes, row-major: image i is pixels[i*784 .. i*784+783], pixel x at row x/28, column x%28. */
  pixels: Uint8Array;
  /** Digits 0..9, or null when the file has no label column. */
  labels: Uint8Array | null;
  /** The `id` column (non-negative integers), or null when there is none. */
  ids: Int32Array | null;
  /** The path as given. */
  file: string;
  /** With skipBadRows: how many rows were skipped and the first (up to 10) 1-based line numbers. */
  skipped: { count: number; lines: number[] };
  header: HeaderKind;
}

export interface ReadOptions {
  /** Skip rows with a wrong field count, a bad pixel, label or id, or a duplicate id, instead of failing. Default false. */
  skipBadRows?: boolean;
  /** Keep and reuse a binary copy of the parsed file. Default true. */
  cache?: boolean;
  /** Where cached copies live. Default $XDG_CACHE_HOME/kconv, else ~/.cache/kconv. */
  cacheDir?: string;
  /** Parse workers. Default os.availableParallelism(), at most 4 (each costs memory); files under 4 MB use one. */
  threads?: number;
  /** Fail when the file has no label column (training needs labels). */
  requireLabels?: boolean;
  /** Fail when the file has no data rows. */
  requireRows?: boolean;
}

/** How a dataset was obtained, reported through the internal `onLoad` hook. */
export interface LoadInfo {
  source: 'cache' | 'parse';
  /** Worker threads used to parse (1 = parsed on the calling thread; 0 for a cache hit). */
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
}

/** Number of pixels in one 28×28 image. */
export const PIXELS = 784;
