import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Git's blob id of some bytes: SHA-1 over `blob <size>\0` followed by the bytes (as `git hash-object`). */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The same for a file, streamed. */
export async function gitBlobIdOfFile(file: string): Promise<string> {
  const { size } = await stat(file);
  const hash = createHash('sha1').update(`blob ${size}\0`);
  let read = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  // A file that changed while it was read would hash as something git would never list.
  if (read !== size) return `changed-while-reading-${size}-${read}`;
  return hash.digest('hex');
}
