import { memorySource } from '../data/index.js';
import { SKIP_HINT } from '../data/data-error.js';
import { readCsv } from '../data/read-csv.js';
import { DataError } from '../errors.js';

/** Images of a Kaggle-layout CSV sent as a request body. */
export interface CsvImages {
  n: number;
  pixels: Uint8Array;
  /** The id column, when the CSV has one. */
  ids: number[] | null;
}

/** Raised when there are more rows than a request may hold (the server answers 413). */
export class TooManyImages extends Error {}

/**
 * Parses a CSV body in memory with the file reader (src/data/read-csv.ts): the same
 * header checks, row parser and one-line errors, as `the CSV body:line: column …: what`.
 * A body with more non-blank lines than `maxImages` rows is refused before any parsing.
 */
export async function parseCsvBody(body: Uint8Array, maxImages: number, name = 'the CSV body'): Promise<CsvImages> {
  const tooMany = () => new TooManyImages(`${name} holds more than ${maxImages} images: send at most ${maxImages} in one request`);
  if (rowLines(body) > maxImages) throw tooMany();
  let images;
  try {
    ({ images } = await readCsv(memorySource(name, Buffer.from(body.buffer, body.byteOffset, body.byteLength))));
  } catch (error) {
    // A request has no --skip-bad-rows: the reader's hint to use it is left out.
    if (error instanceof DataError) throw new DataError(error.message.replace(` ${SKIP_HINT}`, ''), error.file, error.line, error.column);
    throw error;
  }
  if (images.n > maxImages) throw tooMany(); // a gzip'd body, whose lines were not counted
  return { n: images.n, pixels: images.pixels, ids: images.ids ? Array.from(images.ids) : null };
}

/** Non-blank lines after the first: the most rows the body can hold. */
function rowLines(body: Uint8Array): number {
  let lines = 0;
  for (let start = body.indexOf(0x0a) + 1; start > 0 && start < body.length; ) {
    const lf = body.indexOf(0x0a, start);
    const end = lf < 0 ? body.length : lf;
    if (end > start && !(end === start + 1 && body[start] === 0x0d)) lines++;
    start = end + 1;
  }
  return lines;
}
