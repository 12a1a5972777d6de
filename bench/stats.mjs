/**
 * The pure parts of bench/bench.js, apart so test/unit/bench-stats.test.ts can check them: the order
 * in which the two sides are measured, the median and range over rounds, and the tables.
 */

/** The median of a non-empty list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** { median, min, max, n } of a non-empty list: what the bench reports for every figure. */
export function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/**
 * The measurements of `rounds` rounds, in the order they run: net by net, one side then the
 * other (kconv seed, torch seed, kconv default, torch default, …), the side that goes first
 * swapping every round, so neither is always measured just after the other or always first
 * into a burst of load from elsewhere. With one side it is simply net by net, round by round.
 */
export function alternation(nets, sides, rounds) {
  const order = [];
  for (let round = 0; round < rounds; round++) {
    const turn = round % 2 === 0 ? sides : [...sides].reverse();
    for (const net of nets) for (const side of turn) order.push({ round, net, side });
  }
  return order;
}

/**
 * Per-round ratios a/b for one net: the rounds where both sides have a figure, paired by
 * round (a ratio of medians would pair kconv's quiet round with PyTorch's noisy one).
 */
export function roundRatios(a, b) {
  const ratios = [];
  for (const [round, x] of a) if (b.has(round)) ratios.push(x / b.get(round));
  return ratios;
}

/** A number as the tables show it: thousands separated from 100 up, two decimals below. */
export function formatNumber(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return x === undefined || x === null ? '' : String(x);
  return x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(2);
}

/** A figure's median with its range over rounds: `22,088 (21,500–22,400)`; one round shows just the value. */
export function formatRange(s, format = formatNumber) {
  if (!s) return '';
  return s.n > 1 ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

/** A ratio: `1.33×`, with its range over rounds: `1.33× (1.20–1.41)`. */
export function formatRatio(s) {
  if (!s) return '';
  return s.n > 1 ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : `${s.median.toFixed(2)}×`;
}

/** A markdown table (header row, separator, rows); `|` inside a cell is escaped. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c ?? '').replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A plain text table: first column left-aligned, the others right-aligned, two spaces apart. */
export function textTable(header, rows) {
  const table = [header, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}
