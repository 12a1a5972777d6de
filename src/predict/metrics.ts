/** How well predictions match true labels: the numbers `kconv evaluate` reports. */
export interface Metrics {
  n: number;
  accuracy: number;
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  /** Per digit: precision = TP / predicted as it, recall = TP / truly it (null when undefined). */
  perClass: Array<{ digit: number; precision: number | null; recall: number | null; support: number }>;
}

export function computeMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes = 10): Metrics {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]][predicted[i]]++;
    if (truth[i] === predicted[i]) correct++;
  }
  const perClass = confusion.map((row, d) => {
    const tp = row[d];
    const support = row.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, r) => a + r[d], 0);
    return { digit: d, precision: predictedAs ? tp / predictedAs : null, recall: support ? tp / support : null, support };
  });
  return { n: truth.length, accuracy: truth.length ? correct / truth.length : 0, confusion, perClass };
}

const pct = (x: number | null) => (x === null ? '     -' : `${(x * 100).toFixed(1).padStart(5)}%`);

/** The report as aligned text: accuracy, precision and recall per digit, confusion matrix. */
export function formatMetrics(m: Metrics, file: string): string {
  const lines: string[] = [];
  lines.push(`${file}: accuracy ${(m.accuracy * 100).toFixed(2)}% (${Math.round(m.accuracy * m.n)} of ${m.n})`);
  lines.push('');
  lines.push('digit  precision  recall  images');
  for (const c of m.perClass) lines.push(`${String(c.digit).padStart(5)}  ${pct(c.precision).padStart(9)}  ${pct(c.recall).padStart(6)}  ${String(c.support).padStart(6)}`);
  lines.push('');
  const width = Math.max(4, ...m.confusion.flat().map((v) => String(v).length + 1));
  lines.push('confusion matrix (rows: true digit, columns: predicted)');
  lines.push('     ' + m.confusion.map((_, d) => String(d).padStart(width)).join(''));
  m.confusion.forEach((row, d) => lines.push(`${String(d).padStart(4)} ` + row.map((v) => String(v).padStart(width)).join('')));
  return lines.join('\n') + '\n';
}
