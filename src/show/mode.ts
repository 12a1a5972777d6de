/** Which picture `kconv show` draws, from what it is asked: the rules, apart from the command line. */
import { UsageError } from '../errors.js';

/** What kconv show is asked to draw (the command line's options). */
export interface ShowRequest {
  row?: number;
  out?: string;
  filters?: boolean;
  curves?: boolean;
  mistakes?: boolean;
  limit?: number;
  layer?: string;
}

export type ShowMode = 'digit' | 'filters' | 'curves' | 'mistakes';

export const DEFAULT_MISTAKES_LIMIT = 100;

/** Which picture the options ask for (`file`: the data files named, if any); a UsageError when they do not fit together. */
export function showMode(file: string | undefined, request: ShowRequest): ShowMode {
  const picked = (['filters', 'curves', 'mistakes'] as const).filter((m) => request[m]);
  if (picked.length > 1) throw new UsageError(`--${picked.join(' and --')} draw different pictures: give one of them at a time`);
  const mode = (picked[0] ?? 'digit') as ShowMode;
  if ((mode === 'filters' || mode === 'curves') && file !== undefined) {
    throw new UsageError(`--${mode} draws from the weights file alone: leave out the data file "${file}"`);
  }
  if (mode === 'mistakes' && file === undefined) {
    throw new UsageError('--mistakes needs a labelled data file, e.g. kconv show val.csv --mistakes --out mistakes.png');
  }
  if (mode === 'digit' && file === undefined) {
    throw new UsageError(request.row !== undefined
      ? '--row picks an image of a data file: give the file too, e.g. kconv show val.csv --row 3'
      : 'nothing to show: give a data file (kconv show val.csv --row 3), or --filters, --curves or --mistakes with --out');
  }
  if (request.row !== undefined && mode !== 'digit') throw new UsageError(`--row picks the one image to show: it does not go with --${mode}`);
  if (request.limit !== undefined && mode !== 'mistakes') throw new UsageError('--limit goes with --mistakes (how many mistakes to draw)');
  if (request.layer !== undefined && mode !== 'filters') throw new UsageError('--layer goes with --filters (which conv layer\'s filters to draw)');
  if (mode !== 'digit' && request.out === undefined) throw new UsageError(`--${mode} draws a picture: give the file to write it to, e.g. --out ${mode}.png`);
  if (request.out !== undefined && !/\.png$/i.test(request.out)) throw new UsageError(`--out writes a PNG picture: give a file name ending in .png, not "${request.out}"`);
  return mode;
}
