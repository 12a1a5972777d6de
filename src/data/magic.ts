/** What the first bytes of an input say it is: gzip (1f 8b) or idx (00 00, a data type, 1 to 4 dimensions). */
const IDX_TYPES = new Set([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e]);

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Whether 4 bytes are an idx magic number: two zero bytes, a known data type, 1 to 4 dimensions. */
export function isIdxMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && IDX_TYPES.has(b[2]) && b[3] >= 1 && b[3] <= 4;
}
