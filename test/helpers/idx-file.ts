/** An idx file: magic 00 00 <type> <ndims>, the dims as big-endian uint32, then the data. */
export function idx(dims: number[], data: Uint8Array, type = 0x08): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, k) => head.writeUInt32BE(d >>> 0, 4 + 4 * k));
  return Buffer.concat([head, data]);
}
