import type { Dataset } from '../data/index.js';
import type { Io } from './output.js';

/** With --skip-bad-rows: say how many rows were skipped and where the first ones are. */
export function reportSkipped(data: Dataset, io: Io): void {
  const { count, lines } = data.skipped;
  if (count === 0) return;
  const more = count > lines.length ? ', …' : '';
  io.err(`kconv: ${data.file}: skipped ${count} bad row${count === 1 ? '' : 's'} (line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}${more})\n`);
}
