import { DataError } from '../errors.js';

/** Hint appended to row-level faults, which --skip-bad-rows can skip. */
export const SKIP_HINT = '(use --skip-bad-rows to skip bad rows)';

/**
 * A DataError whose message starts with where the fault is, as an editor shows it:
 * `file:line: column name: what`. `what` says what is wrong and what was expected.
 */
export function dataError(file: string, what: string, line?: number, column?: string): DataError {
  const where = line === undefined ? file : `${file}:${line}`;
  const inColumn = column === undefined ? '' : `column ${column}: `;
  return new DataError(`${where}: ${inColumn}${what}`, file, line, column);
}

/** A value quoted for a message, cut short so that one bad field cannot flood the line. */
export function quoted(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
