import { dataError, SKIP_HINT } from './data-error.js';
import { MAX_SKIPPED_LINES, mergeSkipped, type ParsedRows } from './rows.js';
import { PIXELS } from './types.js';

/**
 * Ids must be unique (they name predictions in a submission). Checked once on all
 * rows, after parsing, whichever parser wrote them. The later of two rows with the
 * same id is the bad one: it fails, or with skipBadRows it is dropped (rows are
 * compacted in place).
 */
export function checkUniqueIds(rows: ParsedRows, file: string, skipBadRows: boolean): ParsedRows {
  const { ids, idLines } = rows;
  if (!ids || !idLines) return rows;
  const lineOfId = new Map<number, number>();
  const dropped: number[] = [];
  for (let r = 0; r < rows.n; r++) {
    const earlier = lineOfId.get(ids[r]);
    if (earlier === undefined) {
      lineOfId.set(ids[r], idLines[r]);
      continue;
    }
    if (!skipBadRows) {
      throw dataError(file, `id ${ids[r]} is already used on line ${earlier}; ids must be unique ${SKIP_HINT}`, idLines[r], 'id');
    }
    dropped.push(idLines[r]);
    idLines[r] = -1; // marks the row for removal
  }
  if (dropped.length === 0) return rows;

  let kept = 0;
  for (let r = 0; r < rows.n; r++) {
    if (idLines[r] < 0) continue;
    if (kept !== r) {
      rows.pixels.copyWithin(kept * PIXELS, r * PIXELS, (r + 1) * PIXELS);
      if (rows.labels) rows.labels[kept] = rows.labels[r];
      ids[kept] = ids[r];
      idLines[kept] = idLines[r];
    }
    kept++;
  }
  const skipped = mergeSkipped([rows.skipped, { count: dropped.length, lines: dropped.slice(0, MAX_SKIPPED_LINES) }]);
  return { ...rows, n: kept, skipped };
}
