/**
 * Writing a dataset as a Kaggle-format Kannada-MNIST CSV: a header `label,pixel0,…,pixel783`
 * (or `pixel0,…` without labels), then one image per line, LF endings, integers 0–255,
 * byte for byte the layout of Kaggle's files. Streamed to a temporary name, then renamed.
 */
import { PIXELS, type Images } from '../data/types.js';
import { writeAtomic, type OutputSink } from '../io/atomic-write.js';

const DIGITS: Buffer[] = Array.from({ length: 256 }, (_, v) => Buffer.from(String(v), 'latin1'));
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CHUNK_BYTES = 4 << 20;
/** The longest row: a one-digit label, 784 × ",255", a newline. */
const ROW_MAX = 1 + PIXELS * 4 + 1;

export function csvHeader(withLabels: boolean): string {
  const pixels = Array.from({ length: PIXELS }, (_, x) => `pixel${x}`).join(',');
  return `${withLabels ? 'label,' : ''}${pixels}\n`;
}

/**
 * Writes the dataset to `file` atomically (streamed to a temporary file, then renamed);
 * readers see the old file or the new one, never half. Returns the number of bytes written.
 */
export async function writeKaggleCsv(file: string, data: Pick<Images, 'n' | 'pixels' | 'labels'>, signal?: AbortSignal): Promise<number> {
  return writeAtomic(file, (sink) => writeRows(sink, data, signal), { regularOnly: true });
}

async function writeRows(sink: OutputSink, data: Pick<Images, 'n' | 'pixels' | 'labels'>, signal?: AbortSignal): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let bytes = 0;
  let pos = buf.write(csvHeader(data.labels !== null), 0, 'latin1');
  const { pixels, labels } = data;
  for (let i = 0; i < data.n; i++) {
    if (pos + ROW_MAX > CHUNK_BYTES) {
      if (signal?.aborted) throw signal.reason;
      await sink.write(buf.subarray(0, pos));
      bytes += pos;
      pos = 0;
    }
    let first = true;
    if (labels) {
      for (const d of DIGITS[labels[i]]) buf[pos++] = d;
      first = false;
    }
    const start = i * PIXELS;
    for (let x = start; x < start + PIXELS; x++) {
      if (!first) buf[pos++] = COMMA;
      first = false;
      const digits = DIGITS[pixels[x]];
      for (let k = 0; k < digits.length; k++) buf[pos++] = digits[k];
    }
    buf[pos++] = NEWLINE;
  }
  await sink.write(buf.subarray(0, pos));
  return bytes + pos;
}
