import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, CsvError, type Options as CsvOptions } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { DataError } from '../errors.js';
import { dataError, SKIP_HINT } from './data-error.js';
import { describeBadValue, MAX_ID, MAX_LABEL, MAX_PIXEL, parseUint } from './fields.js';
import { columnName, ID, LABEL } from './header.js';
import { RowSink } from './rows.js';
import { MAX_IMAGES, MAX_LINE_BYTES, PIXELS } from './types.js';

/** What parseRows needs to know about the file and its columns. */
export interface RowJob {
  /** The path as given, for messages. */
  file: string;
  /** Role of each field, from the header. */
  roles: number[];
  hasLabels: boolean;
  hasIds: boolean;
  /** 1-based line number of the first row line in the stream. */
  firstLine: number;
  /** The stream starts at the top of the file, header included (gzip), rather than at a row. */
  includesHeader: boolean;
  /** Expected number of rows (lines), to size the arrays once. */
  capacity: number;
  skipBadRows: boolean;
  /**
   * Plain lines (digits and commas) are parsed by the fast path (fast-rows.ts), the
   * rest by csv-parse; false: csv-parse reads every line (KCONV_CSV=general).
   */
  fast: boolean;
}

/**
 * Parses CSV rows from a byte stream with csv-parse into typed arrays.
 * Each record is consumed in on_record and dropped (returning null), so no row is
 * kept as a JS array. Line numbers are exact: csv-parse counts lines within the
 * stream and job.firstLine places the stream in the file. Rows go to `sink`
 * (by default one sized for job.capacity rows, which grows when full).
 */
export async function parseRows(input: Readable, job: RowJob, sink: RowSink = sinkFor(job)): Promise<RowSink> {
  const record = recordWriter(job, sink);
  // The stream read starts with a lead line (the header, or a stand-in for it) on
  // line firstLine - 1. Last line of the previous record: a record starts on the
  // line after it (blank lines are records too, so this holds even with quoted
  // line breaks).
  const lineOffset = job.firstLine - 2;
  let previousEnd = lineOffset;
  let lead = true;

  const onRecord = (fields: string[], context: { lines: number }): null => {
    const end = lineOffset + context.lines;
    const line = previousEnd + 1;
    previousEnd = end;
    if (lead) lead = false;
    else record(fields, line);
    return null;
  };

  const parser = parse({ ...CSV_OPTIONS, on_record: onRecord });
  parser.resume(); // nothing is pushed, but the readable side must flow to end
  if (!job.includesHeader) parser.write(leadLine(job.roles.length));
  try {
    await pipeline(input, parser);
  } catch (err) {
    throw asDataError(err, job.file, previousEnd + 1);
  }
  return sink;
}

/** A sink for a job's rows, sized for job.capacity (and growing past it). */
export function sinkFor(job: RowJob): RowSink {
  return new RowSink(job.capacity, job.hasLabels, job.hasIds);
}

/** How csv-parse reads kconv's CSV: the same for whole streams and for single lines. */
const CSV_OPTIONS: CsvOptions = {
  cast: false,
  bom: true,
  // Both line endings, in any mix (a LF header over CRLF rows, or the reverse).
  record_delimiter: ['\r\n', '\n'],
  // A line far longer than a row is refused as it grows, not after it is whole.
  max_record_size: MAX_LINE_BYTES,
  relax_column_count: true, // field counts are checked by the record writer, with a better message
};

/**
 * One line of a file, without its line break, through csv-parse on its own: the fast
 * path (fast-rows.ts) hands over each line it does not accept, so that the row, the
 * error or the skip is exactly what a whole-stream parse gives. Only for a line with
 * no quote and no CR: then csv-parse's state at its start is that of any record start
 * (not in a quoted field, nothing pending) and it is one record. No BOM is stripped:
 * mid-stream, a whole-stream parse strips none either.
 */
export function parseLine(bytes: Uint8Array, line: number, job: RowJob, sink: RowSink): void {
  let records: string[][];
  try {
    records = parseSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { ...CSV_OPTIONS, bom: false });
  } catch (err) {
    throw asDataError(err, job.file, line);
  }
  const write = recordWriter(job, sink);
  for (const fields of records) write(fields, line);
}

/**
 * What happens to one record (a line's fields as csv-parse gives them): a row
 * written to the sink, a blank line passed over, or a bad row, which fails with
 * its line or, with skipBadRows, is counted as skipped.
 */
function recordWriter(job: RowJob, sink: RowSink): (record: string[], line: number) => void {
  const { file, roles, skipBadRows } = job;
  const fieldCount = roles.length;

  const badRow = (line: number, what: string, column?: string): void => {
    if (!skipBadRows) throw dataError(file, `${what} ${SKIP_HINT}`, line, column);
    sink.skip(line);
  };
  const badValue = (line: number, role: number, value: string, max: number): void =>
    badRow(line, describeBadValue(value, max), columnName(role));

  return (record, line) => {
    if (record.length !== fieldCount) {
      if (record.length === 1 && record[0] === '') return; // a blank line
      const fields = record.length === 1 ? '1 field' : `${record.length} fields`;
      return badRow(line, `row has ${fields} but the header has ${fieldCount}`);
    }
    if (sink.n >= MAX_IMAGES) {
      throw dataError(file, `has more than ${MAX_IMAGES.toLocaleString('en-US')} rows; kconv reads at most ${MAX_IMAGES.toLocaleString('en-US')} images from one file: split it`, line);
    }
    sink.reserve();
    const row = sink.n;
    const pixels = sink.pixels;
    const base = row * PIXELS;
    for (let i = 0; i < fieldCount; i++) {
      const role = roles[i];
      const s = record[i];
      if (role >= 0) {
        const v = parseUint(s, MAX_PIXEL);
        if (v < 0) return badValue(line, role, s, MAX_PIXEL);
        pixels[base + role] = v;
      } else if (role === LABEL) {
        const v = parseUint(s, MAX_LABEL);
        if (v < 0) return badValue(line, role, s, MAX_LABEL);
        sink.labels![row] = v;
      } else {
        const v = parseUint(s, MAX_ID);
        if (v < 0) return badValue(line, ID, s, MAX_ID);
        sink.ids![row] = v;
      }
    }
    if (sink.idLines) sink.idLines[row] = line;
    sink.n = row + 1;
  };
}

/**
 * A line of as many empty fields as the header has, parsed before a range's rows.
 * csv-parse takes the record length from the first record and, with
 * relax_column_count, builds a costly CsvError (the record copied through JSON)
 * for every record of another length: if the first row of a range were bad or
 * blank, every good row after it would pay that. The header plays this part when
 * the stream has it.
 */
function leadLine(fieldCount: number): Buffer {
  return Buffer.from(','.repeat(fieldCount - 1) + '\n');
}

/** Turns a csv-parse, zlib or fs error into a DataError at the record being parsed. */
function asDataError(err: unknown, file: string, line: number): Error {
  if (err instanceof DataError) return err;
  if (err instanceof CsvError) return dataError(file, csvProblem(err.code), line);
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) {
    return dataError(file, `gzip data is corrupt or truncated (${e.message}); check the download`);
  }
  return dataError(file, `cannot read: ${e?.message ?? String(err)}`);
}

function csvProblem(code: string): string {
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed (a " without its closing ")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a closing quote is followed by something other than a comma or the end of the line';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field; quote the whole field or remove the quote';
    case 'CSV_MAX_RECORD_SIZE':
      return `the line is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB (a row of 785 numbers takes at most about 3 KB): is this a CSV file of 28×28 images?`;
    default:
      return `not valid CSV (${code})`;
  }
}
