/**
 * The training progress line, fitted to the terminal: the numbers (batches, loss,
 * accuracy, images/s, the epoch's and the whole run's time left) are kept, and the
 * bar takes what room is left (none on a narrow terminal).
 */
export interface ProgressState {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number | null;
  acc: number | null;
  imagesPerSecond: number | null;
  batchSize: number;
}

const BAR_MAX = 30;
const BAR_MIN = 5;

/** m:ss, or h:mm:ss past an hour. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds left in this epoch and in the whole run, at the current speed. */
export function timeLeft(p: ProgressState): { epoch: number; run: number } | null {
  if (!p.imagesPerSecond || p.imagesPerSecond <= 0) return null;
  const perBatch = p.batchSize / p.imagesPerSecond;
  const epoch = (p.batches - p.batch) * perBatch;
  return { epoch, run: epoch + (p.epochs - p.epoch) * p.batches * perBatch };
}

/** The progress line in at most `width − 1` columns (the last column is left free, so a terminal never wraps it). */
export function progressLine(p: ProgressState, width: number): string {
  const room = Math.max(20, width) - 1;
  const left = timeLeft(p);
  // Padded, so that the line keeps its length (and the bar its size) as the numbers change.
  const fields = [
    `${String(p.batch).padStart(String(p.batches).length)}/${p.batches}`,
    `loss ${(p.loss === null ? '-' : p.loss.toFixed(4)).padStart(6)}`,
    `acc ${(p.acc === null ? '-' : `${(p.acc * 100).toFixed(2)}%`).padStart(6)}`,
    `${(p.imagesPerSecond === null ? '-' : String(Math.round(p.imagesPerSecond))).padStart(5)} img/s`,
    `ETA ${(left ? clock(left.epoch) : '-').padStart(4)}`,
    `run ${(left ? clock(left.run) : '-').padStart(4)}`,
  ];
  const head = `epoch ${p.epoch}/${p.epochs}`;
  // Fields drop, the least needed first, only when even a line without a bar is too wide.
  const dropOrder = [3, 5, 2, 1];
  const kept = fields.map(() => true);
  const text = () => fields.filter((_, i) => kept[i]).join('  ');
  for (const i of dropOrder) {
    if (head.length + 1 + text().length <= room) break;
    kept[i] = false;
  }
  const numbers = text();
  const barRoom = room - head.length - numbers.length - 4; // ' |', '| '
  if (barRoom < BAR_MIN || kept.includes(false)) return `${head} ${numbers}`.slice(0, room);
  const size = Math.min(BAR_MAX, barRoom);
  const filled = p.batches > 0 ? Math.round((size * p.batch) / p.batches) : 0;
  return `${head} |${'█'.repeat(filled)}${'░'.repeat(size - filled)}| ${numbers}`;
}
