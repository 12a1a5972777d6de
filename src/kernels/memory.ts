/**
 * Where layer buffers come from. Every activation, gradient and parameter array is
 * allocated here, once per batch shape, so the WebAssembly kernels can work on them in
 * place (no copies in or out of wasm memory).
 *
 * The arena is one WebAssembly.Memory per thread (shared memory, as the threads feature
 * of the kernels requires). Allocation is a bump pointer: buffers live for the whole
 * process, which suits layers that allocate once per batch shape. Fresh wasm memory is
 * zero-filled and never reused, so every array comes back zeroed, like
 * `new Float32Array(n)`.
 *
 * Growth: the memory grows (by at least a quarter of its size, at least 16 MiB) whenever
 * an allocation does not fit, up to MAX_PAGES (2 GiB). Growing a shared memory never
 * detaches or moves old views; `memory.buffer` just becomes a new SharedArrayBuffer
 * object, which is why membership is checked against every buffer object handed out.
 * Past the maximum, or with KCONV_KERNELS=js, allocF32 returns an ordinary
 * Float32Array (allocI32 an ordinary Int32Array), which every kernel still accepts (on
 * the TypeScript path).
 *
 * Worker threads (training and prediction pools) each build their own network, so each
 * has its own arena and wasm instance. (Sharing one arena between threads was tried and
 * dropped: the training pool's per-step copies of parameters and gradients through
 * SharedArrayBuffers cost about 0.25 ms a step on the wide net, under 0.5% of the step.)
 */

import { WebAssemblyApi, type WasmMemory } from './wasm-api.js';

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB: addresses stay positive int32s on both sides
const INITIAL_PAGES = 256; // 16 MiB
const MIN_GROW_PAGES = 256;
const ALIGN = 64; // cache line: keeps SIMD loads of a buffer's start aligned
const FIRST_BYTE = ALIGN; // nothing lives at address 0

interface Arena {
  memory: WasmMemory;
  buffer: SharedArrayBuffer; // the newest memory.buffer
  top: number; // bytes handed out so far: the bump pointer
}

let arena: Arena | null | undefined; // undefined: not created yet; null: not available
const arenaBuffers = new WeakSet<ArrayBufferLike>();

/** True when KCONV_KERNELS=js asks for plain TypeScript kernels and plain arrays. */
export function jsKernelsForced(): boolean {
  return (process.env.KCONV_KERNELS ?? '').toLowerCase() === 'js';
}

function getArena(): Arena | null {
  if (arena !== undefined) return arena;
  arena = null;
  if (jsKernelsForced() || typeof SharedArrayBuffer === 'undefined') return arena;
  try {
    const memory = new WebAssemblyApi.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    arenaBuffers.add(buffer);
    arena = { memory, buffer, top: FIRST_BYTE };
  } catch {
    arena = null; // no shared wasm memory here: plain arrays and the TypeScript kernels
  }
  return arena;
}

/** The kernel arena's memory, or null when kernels run on plain arrays. */
export function arenaMemory(): WasmMemory | null {
  return getArena()?.memory ?? null;
}

/**
 * A zero-filled Float32Array of `length` floats. In the arena when there is one (so the
 * wasm kernels can use it), otherwise an ordinary array.
 */
export function allocF32(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocF32: bad length ${length}`);
  const at = claim(length * 4);
  return at === null ? new Float32Array(length) : new Float32Array(at.buffer, at.start, length);
}

/**
 * A zero-filled Int32Array of `length` integers, from the same arena as allocF32 (for
 * index arrays the kernels write, such as max-pooling's argmax).
 */
export function allocI32(length: number): Int32Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocI32: bad length ${length}`);
  const at = claim(length * 4);
  return at === null ? new Int32Array(length) : new Int32Array(at.buffer, at.start, length);
}

/** A zero-filled Float64Array, from the same arena (sums the kernels write in double precision). */
export function allocF64(length: number): Float64Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`allocF64: bad length ${length}`);
  const at = claim(length * 8);
  return at === null ? new Float64Array(length) : new Float64Array(at.buffer, at.start, length);
}

/** Claims `size` bytes of the arena (rounded up to ALIGN); null when there is no room or no arena. */
function claim(size: number): { buffer: SharedArrayBuffer; start: number } | null {
  const a = getArena();
  if (a === null) return null;
  const start = a.top;
  const end = start + Math.ceil(size / ALIGN) * ALIGN;
  if (end > MAX_PAGES * PAGE || !ensureCapacity(a, end)) return null; // claims nothing
  a.top = end;
  return { buffer: a.buffer, start };
}

/** Grows the memory to hold `end` bytes; false when it cannot. */
function ensureCapacity(a: Arena, end: number): boolean {
  let size = a.memory.buffer.byteLength;
  if (end > size) {
    const pages = a.memory.buffer.byteLength / PAGE;
    const want = Math.max(Math.ceil((end - size) / PAGE), MIN_GROW_PAGES, Math.ceil(pages / 4));
    try {
      a.memory.grow(Math.min(want, MAX_PAGES - pages));
    } catch {
      try {
        a.memory.grow(Math.ceil((end - a.memory.buffer.byteLength) / PAGE));
      } catch {
        return false;
      }
    }
    size = a.memory.buffer.byteLength;
    if (end > size) return false;
  }
  const buffer = a.memory.buffer as unknown as SharedArrayBuffer;
  if (buffer !== a.buffer) {
    a.buffer = buffer;
    arenaBuffers.add(buffer);
  }
  return true;
}

/**
 * Byte address of element 0 of `arr` in the arena's memory, or -1 when `arr` is not
 * an arena view (an ordinary array, or one past the arena's maximum).
 */
export function arenaAddress(arr: Float32Array | Int32Array | Float64Array): number {
  return arenaBuffers.has(arr.buffer) ? arr.byteOffset : -1;
}

/** Bytes handed out so far (including alignment), and the memory's current size. */
export function arenaStats(): { usedBytes: number; capacityBytes: number } {
  const a = getArena();
  if (a === null) return { usedBytes: 0, capacityBytes: 0 };
  return { usedBytes: a.top, capacityBytes: a.memory.buffer.byteLength };
}
