import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { endianness, homedir } from 'node:os';
import path from 'node:path';
import { writeAtomic } from '../io/atomic-write.js';
import { PIXELS, type HeaderKind } from './types.js';
import type { ParsedRows } from './rows.js';
import { MAX_SKIPPED_LINES } from './rows.js';

/**
 * Binary copies of parsed files, so that a second run skips CSV parsing.
 * An entry is named by the sha256 of the CSV's bytes (and the skip-bad-rows mode,
 * whose result differs), and is only trusted when its magic, format version, key,
 * length and payload checksum all match; anything else is a miss and is rebuilt.
 * Every failure here is silent: the cache is an optimisation.
 *
 * Layout, little-endian: 8 magic | u32 version | u32 header kind | u32 n |
 * u32 skipped count | u32 skipped lines kept | u32×10 skipped lines | u32 0 |
 * 32 key | 32 sha256 of payload | payload = ids (n×i32, if any), labels (n, if any), pixels (n×784).
 */
const MAGIC = Buffer.from('KCONVDS\0', 'latin1');
/** Bump when the parse result for the same bytes can change. */
const FORMAT_VERSION = 1;
const HEADER_BYTES = 136;
const KINDS: HeaderKind[] = ['label', 'id', 'id+label', 'pixels'];

export interface CachedRows extends ParsedRows {
  kind: HeaderKind;
}

export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'kconv');
}

export interface CacheSlot {
  file: string;
  key: Buffer;
}

export function cacheSlot(dir: string, contentHash: string, skipBadRows: boolean): CacheSlot {
  const variant = skipBadRows ? 'skip-bad-rows' : 'strict';
  return {
    file: path.join(dir, `${contentHash}${skipBadRows ? '.skip' : ''}.kcds`),
    key: createHash('sha256').update(`${contentHash}:${variant}`).digest(),
  };
}

const hasLabels = (kind: HeaderKind) => kind === 'label' || kind === 'id+label';
const hasIds = (kind: HeaderKind) => kind === 'id' || kind === 'id+label';

function payloadBytes(n: number, kind: HeaderKind): number {
  return (hasIds(kind) ? 4 * n : 0) + (hasLabels(kind) ? n : 0) + PIXELS * n;
}

function checksum(parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function bytesOf(a: Uint8Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The cached rows, or null when there is no valid entry. */
export async function readCache(slot: CacheSlot): Promise<CachedRows | null> {
  if (endianness() !== 'LE') return null;
  let fh;
  try {
    fh = await open(slot.file, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await fh.stat();
    if (size < HEADER_BYTES) return null;
    const head = Buffer.alloc(HEADER_BYTES);
    await readFully(fh, head, 0);
    const v = new DataView(head.buffer, head.byteOffset, HEADER_BYTES);
    if (!head.subarray(0, 8).equals(MAGIC) || v.getUint32(8, true) !== FORMAT_VERSION) return null;
    const kind = KINDS[v.getUint32(12, true)];
    const n = v.getUint32(16, true);
    const skippedKept = v.getUint32(24, true);
    if (kind === undefined || skippedKept > MAX_SKIPPED_LINES) return null;
    if (!head.subarray(72, 104).equals(slot.key)) return null;
    if (size !== HEADER_BYTES + payloadBytes(n, kind)) return null;
    const ids = hasIds(kind) ? new Int32Array(n) : null;
    const labels = hasLabels(kind) ? new Uint8Array(n) : null;
    const pixels = new Uint8Array(n * PIXELS);
    const parts = [ids, labels, pixels].filter((a) => a !== null).map((a) => bytesOf(a!));
    let at = HEADER_BYTES;
    for (const p of parts) at += await readFully(fh, p, at);
    if (!checksum(parts).equals(head.subarray(104, 136))) return null;
    const lines: number[] = [];
    for (let i = 0; i < skippedKept; i++) lines.push(v.getUint32(28 + 4 * i, true));
    return { n, pixels, labels, ids, idLines: null, skipped: { count: v.getUint32(20, true), lines }, kind };
  } catch {
    return null;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Stores rows (arrays of exactly n rows), atomically: readers never see half an entry. */
export async function writeCache(slot: CacheSlot, rows: ParsedRows, kind: HeaderKind): Promise<boolean> {
  if (endianness() !== 'LE') return false;
  try {
    await mkdir(path.dirname(slot.file), { recursive: true });
    const parts = [rows.ids, rows.labels, rows.pixels].filter((a) => a !== null).map((a) => bytesOf(a!));
    const head = Buffer.alloc(HEADER_BYTES);
    const v = new DataView(head.buffer, head.byteOffset, HEADER_BYTES);
    MAGIC.copy(head, 0);
    v.setUint32(8, FORMAT_VERSION, true);
    v.setUint32(12, KINDS.indexOf(kind), true);
    v.setUint32(16, rows.n, true);
    v.setUint32(20, rows.skipped.count, true);
    const kept = rows.skipped.lines.slice(0, MAX_SKIPPED_LINES);
    v.setUint32(24, kept.length, true);
    kept.forEach((line, i) => v.setUint32(28 + 4 * i, line, true));
    slot.key.copy(head, 72);
    checksum(parts).copy(head, 104);
    // Not flushed to the disk: an entry lost to a crash is checked, found wrong and rebuilt.
    await writeAtomic(slot.file, async (sink) => {
      for (const p of [head, ...parts]) await sink.write(p);
    }, { durable: false, regularOnly: true });
    return true;
  } catch {
    return false; // the cache is an optimisation: a full disk or a read-only folder only means no entry
  }
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error('short read');
    done += bytesRead;
  }
  return done;
}
