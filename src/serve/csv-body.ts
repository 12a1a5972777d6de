import { PIXELS } from '../data/index.js';
import { dataError } from '../data/data-error.js';
import { describeBadValue, MAX_ID, MAX_LABEL, MAX_PIXEL, parseUint } from '../data/fields.js';
import { ID, LABEL, columnName, layoutFromHeader } from '../data/header.js';

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
 * Parses a CSV body in memory: the header as the file reader checks it (columns by name,
 * any order), then every row strictly (whole numbers in range, the header's field count),
 * errors as `the CSV body:line: column …: what`. A byte loop rather than csv-parse: a
 * request body is small and plain, and this makes no string per field. Fields may be
 * quoted; line ends LF or CRLF; a UTF-8 BOM and blank lines are allowed.
 */
export function parseCsvBody(body: Uint8Array, maxImages: number, name = 'the CSV body'): CsvImages {
  let pos = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  const lineEnd = (from: number) => {
    const i = body.indexOf(0x0a, from);
    return i < 0 ? body.length : i;
  };
  // Header.
  const headEnd = lineEnd(pos);
  const headText = Buffer.from(body.subarray(pos, headEnd)).toString('utf8').replace(/\r$/, '');
  if (headText.trim() === '') throw dataError(name, 'is empty: send a header line (label,pixel0,…,pixel783 or id,pixel0,…) and one row per image', 1);
  const fields = headText.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
  const layout = layoutFromHeader(fields, name);
  const roles = layout.roles;
  const hasId = roles.includes(ID);
  pos = headEnd + 1;

  // Count the rows first, so the arrays are sized once and a huge body is refused before work.
  let rows = 0;
  for (let i = pos; i < body.length; i = lineEnd(i) + 1) {
    const end = lineEnd(i);
    const blank = end === i || (end === i + 1 && body[i] === 0x0d);
    if (!blank) rows++;
    if (rows > maxImages) throw new TooManyImages(`${name} holds more than ${maxImages} images: send at most ${maxImages} in one request`);
  }
  const pixels = new Uint8Array(rows * PIXELS);
  const ids: number[] | null = hasId ? [] : null;

  let line = 1;
  let row = 0;
  while (pos < body.length) {
    line++;
    let end = lineEnd(pos);
    const next = end + 1;
    if (end > pos && body[end - 1] === 0x0d) end--;
    if (end === pos) {
      pos = next;
      continue;
    }
    let field = 0;
    let i = pos;
    while (i <= end) {
      // One field: optional quotes around digits.
      let j = i;
      const quoted = body[j] === 0x22;
      if (quoted) j++;
      let value = 0;
      let digits = 0;
      let ok = true;
      while (j < end && body[j] !== 0x2c && body[j] !== 0x22) {
        const d = body[j] - 48;
        if (d < 0 || d > 9) ok = false;
        else value = Math.min(value * 10 + d, MAX_ID + 1);
        digits++;
        j++;
      }
      if (quoted) {
        if (body[j] !== 0x22) ok = false;
        else j++;
      }
      if (j < end && body[j] !== 0x2c) ok = false;
      if (field >= roles.length) {
        throw dataError(name, `has more than the header's ${roles.length} fields; every row needs one value per column`, line);
      }
      const role = roles[field];
      const max = role === LABEL ? MAX_LABEL : role === ID ? MAX_ID : MAX_PIXEL;
      if (!ok || digits === 0 || value > max) {
        // The slow path: say exactly what is wrong, with csv-like field text.
        let k = j;
        while (k < end && body[k] !== 0x2c) k++;
        const text = Buffer.from(body.subarray(i, Math.min(k, i + 60))).toString('utf8').replace(/^"|"$/g, '');
        const reason = parseUint(text, max) >= 0 ? `${JSON.stringify(text)} is not ${max === MAX_ID ? 'a non-negative integer' : `an integer 0–${max}`}` : describeBadValue(text, max);
        throw dataError(name, reason, line, columnName(role));
      }
      if (role >= 0) pixels[row * PIXELS + role] = value;
      else if (role === ID) ids!.push(value);
      field++;
      i = j + 1;
    }
    if (field !== roles.length) {
      throw dataError(name, `has ${field} fields, the header has ${roles.length}; every row needs one value per column`, line);
    }
    row++;
    pos = next;
  }
  return { n: row, pixels, ids };
}
