/**
 * The fast path for plain rows: lines of digits and commas, parsed straight from the
 * bytes into the row arrays, without csv-parse's strings (which cost ~10× more).
 * It accepts a line only when csv-parse plus the record writer (row-parser.ts) would
 * certainly turn it into the same row, and leaves every other line to them:
 *
 *   accepted:  v₁,v₂,…,v_F  then LF or CRLF (or the end of the file), F = the header's
 *              field count, each v one or more ASCII digits whose value is at most the
 *              maximum of its column's role (pixel 255, label 9, id 2³¹−1)
 *   passed over: a blank line ("" or a lone CR before the LF), as the record writer does
 *   left:      anything else (a quote, a space, a sign, an empty field, a lone CR, too
 *              many or too few fields, a value out of range, the 2,000,001st row)
 *
 * Why an accepted line gives the same row either way: without a quote, csv-parse's
 * quoting, escaping and column-count state never comes into play; its fields are the
 * bytes between commas; its line count, which moves on each CR and each LF outside a
 * CRLF, moves by exactly one; parseUint of a digit string is v·10 + d over its digits,
 * computed here the same way, and compared with the same maximum (v only grows, so
 * comparing at the end is comparing at each digit). Every pixel role appears once in
 * a header (header.ts), so an accepted row writes all 784 pixels, as the writer does.
 * After an accepted or blank line csv-parse is at the start of a record with nothing
 * pending, so it can take over at any such line with the same results: see
 * parse-range.ts for who takes the lines left here.
 */
import { MAX_ID, MAX_LABEL, MAX_PIXEL } from './fields.js';
import { ID, LABEL } from './header.js';
import type { RowSink } from './rows.js';
import { MAX_IMAGES, PIXELS } from './types.js';

export const LF = 0x0a;
export const CR = 0x0d;
const COMMA = 0x2c;
const ZERO = 0x30;
// Module-local copies for the pixel loop: V8 reads an imported binding through its
// module cell at every use, which costs that loop a quarter of its speed.
const PIXEL_COUNT = PIXELS;
const PIXEL_MAX = MAX_PIXEL;

export class PlainRows {
  /** 1-based line number of the next line to parse. */
  line: number;
  private readonly roles: Int32Array;
  /** Largest value of each field, by its role. */
  private readonly maxima: Float64Array;
  /**
   * Field of pixel0 when pixel0…pixel783 are consecutive fields in order (Kaggle's
   * layout, whatever label or id come before or after them): those are parsed by a
   * loop made for them, twice as fast. -1 for any other order.
   */
  private readonly pixelRun: number;

  constructor(
    roles: readonly number[],
    firstLine: number,
    private readonly sink: RowSink,
  ) {
    this.line = firstLine;
    this.roles = Int32Array.from(roles);
    this.maxima = Float64Array.from(roles, (role) => (role >= 0 ? MAX_PIXEL : role === LABEL ? MAX_LABEL : role === ID ? MAX_ID : -1));
    const first = roles.indexOf(0);
    const inOrder = first >= 0 && first + PIXELS <= roles.length && roles.slice(first, first + PIXELS).every((role, x) => role === x);
    this.pixelRun = inOrder ? first : -1;
  }

  /**
   * Parses the lines of buf[from, to), where `to` is just past a LF, up to the first
   * line it does not accept. Returns where it stopped: `to` when it took every line,
   * else the start of the line it left, whose number is then `this.line`.
   */
  lines(buf: Buffer, from: number, to: number): number {
    const { sink, pixelRun } = this;
    const fields = this.roles.length;
    // The sink's arrays, held in locals (the loops run about 1.3× faster so): they
    // change only when reserve() grows them, when `room` runs out.
    let { pixels, idLines } = sink;
    let room = sink.room;
    let p = from;
    while (p < to) {
      const lf = buf.indexOf(LF, p);
      const end = lf > p && buf[lf - 1] === CR ? lf - 1 : lf;
      if (end > p) {
        if (sink.n >= MAX_IMAGES) return p; // the record writer says what is wrong
        if (room === 0) {
          sink.reserve();
          ({ pixels, idLines } = sink);
          room = sink.room;
        }
        const row = sink.n;
        // A row may be written in part before the line turns out not to be plain:
        // the next row written in its place overwrites every value.
        if (pixelRun >= 0) {
          let q = p;
          if (pixelRun > 0) {
            q = this.others(buf, q, 0, pixelRun, row);
            if (q < 0 || buf[q] !== COMMA) return p;
            q++;
          }
          q = pixelsInOrder(buf, q, pixels, row * PIXELS);
          if (q >= 0 && pixelRun + PIXELS < fields) q = buf[q] === COMMA ? this.others(buf, q + 1, pixelRun + PIXELS, fields, row) : -1;
          if (q !== end) return p; // -1, or more fields, or something after the digits
        } else if (!this.anyOrder(buf, p, end, row)) {
          return p;
        }
        if (idLines) idLines[row] = this.line;
        sink.n = row + 1;
        room--;
      }
      this.line++;
      p = lf + 1;
    }
    return p;
  }

  /**
   * Fields [from, to) (labels and ids), comma-separated from p: each value written to
   * the row. Returns where the digits of the last end, or -1.
   */
  private others(buf: Buffer, p: number, from: number, to: number, row: number): number {
    for (let i = from; ; i++) {
      let d = buf[p] - ZERO;
      if (d < 0 || d > 9) return -1; // an empty field, or not a digit
      let v = d;
      for (d = buf[++p] - ZERO; d >= 0 && d <= 9; d = buf[++p] - ZERO) v = v * 10 + d;
      if (v > this.maxima[i]) return -1;
      if (this.roles[i] === LABEL) this.sink.labels![row] = v;
      else this.sink.ids![row] = v;
      if (i === to - 1) return p;
      if (buf[p] !== COMMA) return -1;
      p++;
    }
  }

  /** All fields, in any order, from p to `end`: each value goes where its role says. */
  private anyOrder(buf: Buffer, p: number, end: number, row: number): boolean {
    const { roles, maxima, sink } = this;
    const pixels = sink.pixels;
    const base = row * PIXELS;
    const last = roles.length - 1;
    for (let i = 0; ; i++) {
      let d = buf[p] - ZERO;
      if (d < 0 || d > 9) return false;
      let v = d;
      for (d = buf[++p] - ZERO; d >= 0 && d <= 9; d = buf[++p] - ZERO) v = v * 10 + d;
      if (v > maxima[i]) return false;
      const role = roles[i];
      if (role >= 0) pixels[base + role] = v;
      else if (role === LABEL) sink.labels![row] = v;
      else sink.ids![row] = v;
      if (i === last) return p === end; // else more fields, or something after the digits
      if (buf[p] !== COMMA) return false;
      p++;
    }
  }
}

/**
 * pixel0…pixel783, comma-separated from q, into pixels[base…]. Returns where the
 * digits of the last end, or -1. No loop reads past the line: the CR or LF that ends
 * it is neither a digit nor a comma.
 */
function pixelsInOrder(buf: Buffer, q: number, pixels: Uint8Array, base: number): number {
  for (let x = 0; x < PIXEL_COUNT; x++) {
    // Most pixels have one or two digits: those need no range check.
    let d = buf[q] - ZERO;
    if (d < 0 || d > 9) return -1; // an empty field, or not a digit
    let v = d;
    d = buf[++q] - ZERO;
    if (d >= 0 && d <= 9) {
      v = v * 10 + d;
      d = buf[++q] - ZERO;
      if (d >= 0 && d <= 9) {
        v = v * 10 + d;
        for (d = buf[++q] - ZERO; d >= 0 && d <= 9; d = buf[++q] - ZERO) v = v * 10 + d;
        if (v > PIXEL_MAX) return -1;
      }
    }
    pixels[base + x] = v;
    if (x === PIXEL_COUNT - 1) break; // the caller checks what follows
    if (d !== COMMA - ZERO) return -1;
    q++;
  }
  return q;
}
