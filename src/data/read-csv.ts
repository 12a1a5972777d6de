import { dataError } from './data-error.js';
import { ID, LABEL, layoutFromHeader, type ColumnLayout } from './header.js';
import { parseRange } from './parse-range.js';
import { parseRows, sinkFor, type RowJob } from './row-parser.js';
import { trimmed, type ParsedRows } from './rows.js';
import { scanFile } from './scan.js';
import { readHeaderLine } from './sniff.js';
import { byteStream, type Source } from './source.js';
import type { DataFile, HeaderKind, ReadOptions } from './types.js';
import { checkUniqueIds } from './unique-ids.js';

/**
 * Reads a Kaggle-format CSV (header line, then one image per line; gzip'd too) from
 * an opened source: header → scan (line count, too-long lines) → parse, on this
 * thread. Throws DataError with a one-line message for anything that is not a valid file.
 */
export async function readCsv(source: Source, opts: ReadOptions = {}): Promise<DataFile> {
  const file = source.name;
  const skipBadRows = opts.skipBadRows ?? false;
  const headerLine = await readHeaderLine(source);
  const layout = layoutFromHeader(headerLine.fields, file);
  if (opts.requireLabels && !layout.roles.includes(LABEL)) {
    throw dataError(
      file,
      `has no label column (its header is ${describeHeader(layout.kind)}); ${opts.labelsNeededBy ?? 'training'} needs labelled images with a header such as label,pixel0,…,pixel783${opts.labelsHint ? `; ${opts.labelsHint}` : ''}`,
      1,
    );
  }
  const job = rowJob(file, layout, skipBadRows, csvParser());
  const rows = trimmed(checkUniqueIds(await parseFile(source, headerLine.bytes, job), file, skipBadRows));
  // What was scanned and what was parsed are the same bytes only if nothing wrote to the file meanwhile.
  await source.checkUnchanged();

  if (opts.requireRows && rows.n === 0) {
    const why = rows.skipped.count > 0 ? ` (all ${rows.skipped.count} rows were skipped as bad)` : ' (only a header line)';
    throw dataError(file, `has no data rows${why}; expected one row per image after the header`);
  }
  const { n, pixels, labels, ids, skipped } = rows;
  return { images: { n, pixels, labels, ids }, file, format: 'csv', header: layout.kind, skipped };
}

/**
 * Which parser reads the rows: 'fast' (the default) parses plain lines itself and hands
 * every other line to csv-parse; 'general' gives every line to csv-parse. The result is
 * the same either way (tested); KCONV_CSV=general is there to compare the two.
 */
function csvParser(): 'fast' | 'general' {
  return (process.env.KCONV_CSV ?? '').toLowerCase() === 'general' ? 'general' : 'fast';
}

function rowJob(file: string, layout: ColumnLayout, skipBadRows: boolean, parser: 'fast' | 'general'): RowJob {
  return {
    file,
    roles: layout.roles,
    hasLabels: layout.roles.includes(LABEL),
    hasIds: layout.roles.includes(ID),
    firstLine: 2,
    includesHeader: false,
    capacity: 0,
    skipBadRows,
    fast: parser === 'fast',
  };
}

/** Rows of the whole file, on this thread. */
async function parseFile(source: Source, dataStart: number, job: RowJob): Promise<ParsedRows> {
  if (source.gzip) {
    // One decompressed stream from the top; the row count is not known ahead
    // (digit CSV compresses about 8:1, and a row is about 1.8 KB).
    const capacity = Math.min(Math.ceil((source.size * 8) / 1800), 100_000);
    return parseRows(byteStream(source.bytes), { ...job, firstLine: 2, includesHeader: true, capacity });
  }
  const range = await scanFile(source.bytes, job.file, dataStart);
  const rangeJob = { ...job, firstLine: range.firstLine, capacity: range.rows };
  return parseRange(source.bytes, range, rangeJob, sinkFor(rangeJob));
}

function describeHeader(kind: HeaderKind): string {
  return kind === 'id' ? 'id,pixel0,…: a test file?' : 'pixel0,…,pixel783 only';
}
