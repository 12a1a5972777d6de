/**
 * Writing a dataset as a Kaggle-format Kannada-MNIST CSV: a header `label,pixel0,…,pixel783`
 * (or `pixel0,…` without labels), then one image per line, LF endings, integers 0–255,
 * byte for byte the layout of Kaggle's files. Streamed to a temporary name, then renamed.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { PIXELS, type Dataset } from '../data/types.js';

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

/** Temporary name beside `file`, unique to this process and call. */
export function tempNameFor(file: string, suffix: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`;
}

/**
 * Writes the dataset to `file` atomically (temporary file, then rename); readers see the
 * old file or the new one, never half. Returns the number of bytes written.
 */
export async function writeKaggleCsv(file: string, data: Pick<Dataset, 'n' | 'pixels' | 'labels'>, signal?: AbortSignal): Promise<number> {
  const tmp = tempNameFor(file, 'tmp');
  const fh = await open(tmp, 'wx');
  let bytes = 0;
  try {
    try {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      let pos = buf.write(csvHeader(data.labels !== null), 0, 'latin1');
      const { pixels, labels } = data;
      for (let i = 0; i < data.n; i++) {
        if (pos + ROW_MAX > CHUNK_BYTES) {
          if (signal?.aborted) throw signal.reason;
          await fh.write(buf, 0, pos);
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
      await fh.write(buf, 0, pos);
      bytes += pos;
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    return bytes;
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}
