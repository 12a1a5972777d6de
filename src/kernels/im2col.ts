/**
 * im2col and its adjoint col2im: the data movement that turns convolution into one GEMM.
 *
 * For one image x[C, H, W], im2col writes the matrix cols[C·k·k, OH·OW]: row
 * (c·k + ki)·k + kj holds, for every output position (oy, ox), the input pixel
 * x[c, oy·s + ki − p, ox·s + kj − p] (0 outside the image, which is the zero padding).
 * The row order matches PyTorch's weight layout [out, in, k, k] flattened, so
 * W[F, C·k·k] · cols is the convolution.
 *
 * The sizes travel as one PatchGeometry (as pooling.ts's PoolShape and winograd.ts's
 * TileGeometry): a layer builds it once, and no call can swap two of eight numbers.
 * `ldCols` is the length of a row of cols and `colOff` the first column to write, so
 * a whole batch can share one matrix [C·k·k, N·OH·OW] with image n at column n·OH·OW.
 *
 * Dispatch as in gemm.ts: arrays in the kernel arena go to the wasm version (f32x4 runs
 * for stride 1, 6–7× faster), others to the plain loops below. (A TypeScript
 * version with the padding tests hoisted out of the pixel loop was measured and was
 * no faster than these loops under V8, so the fallback is the reference itself.)
 */
import { arenaAddress } from './memory.js';
import { activeWasmKernels } from './wasm.js';

/**
 * One image's patches: the input C×H×W (`channels`, `height`, `width`), the k×k window
 * (`kernel`) at `stride` over it with zero padding `pad`, and the OH×OW output positions
 * (`outHeight`, `outWidth`: floor((H + 2·pad − k) / stride) + 1 for a whole convolution,
 * see patchGeometry; the kernels take them as given).
 */
export interface PatchGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** The geometry of a k×k convolution at `stride`, padding `pad`, over a C×H×W image: the output size follows. */
export function patchGeometry(channels: number, height: number, width: number, kernel: number, stride: number, pad: number): PatchGeometry {
  const out = (n: number) => Math.floor((n + 2 * pad - kernel) / stride) + 1;
  return { channels, height, width, kernel, stride, pad, outHeight: out(height), outWidth: out(width) };
}

export function im2col(g: PatchGeometry, x: Float32Array, xOff: number, cols: Float32Array, colOff: number, ldCols: number): void {
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const xa = arenaAddress(x), ca = arenaAddress(cols);
    if (xa >= 0 && ca >= 0) {
      checkPatchArgs('im2col', g, x, xOff, cols, colOff, ldCols);
      wasm.im2col(xa + 4 * xOff, g.channels, g.height, g.width, g.kernel, g.stride, g.pad, g.outHeight, g.outWidth, ca + 4 * colOff, ldCols);
      return;
    }
  }
  im2colReference(g, x, xOff, cols, colOff, ldCols);
}

/** The plain-loop im2col, kept as the yardstick for the fast versions. */
export function im2colReference(g: PatchGeometry, x: Float32Array, xOff: number, cols: Float32Array, colOff: number, ldCols: number): void {
  const { channels: C, height: H, width: W, kernel: k, stride, pad, outHeight: OH, outWidth: OW } = g;
  for (let c = 0; c < C; c++) {
    const plane = xOff + c * H * W;
    for (let ki = 0; ki < k; ki++) {
      for (let kj = 0; kj < k; kj++) {
        let dst = ((c * k + ki) * k + kj) * ldCols + colOff;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride + ki - pad;
          if (iy < 0 || iy >= H) {
            cols.fill(0, dst, dst + OW);
            dst += OW;
            continue;
          }
          const row = plane + iy * W;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * stride + kj - pad;
            cols[dst++] = ix >= 0 && ix < W ? x[row + ix] : 0;
          }
        }
      }
    }
  }
}

/**
 * col2im: the adjoint of im2col. Adds every entry of cols back onto the input pixel it
 * was copied from, so overlapping patches sum their gradients. dx must be zeroed
 * by the caller (it accumulates).
 */
export function col2im(g: PatchGeometry, cols: Float32Array, colOff: number, ldCols: number, dx: Float32Array, dxOff: number): void {
  const wasm = activeWasmKernels();
  if (wasm !== null) {
    const ca = arenaAddress(cols), xa = arenaAddress(dx);
    if (xa >= 0 && ca >= 0) {
      checkPatchArgs('col2im', g, dx, dxOff, cols, colOff, ldCols);
      wasm.col2im(ca + 4 * colOff, ldCols, g.channels, g.height, g.width, g.kernel, g.stride, g.pad, g.outHeight, g.outWidth, xa + 4 * dxOff);
      return;
    }
  }
  col2imReference(g, cols, colOff, ldCols, dx, dxOff);
}

/** The plain-loop col2im, kept as the yardstick for the fast versions. */
export function col2imReference(g: PatchGeometry, cols: Float32Array, colOff: number, ldCols: number, dx: Float32Array, dxOff: number): void {
  const { channels: C, height: H, width: W, kernel: k, stride, pad, outHeight: OH, outWidth: OW } = g;
  for (let c = 0; c < C; c++) {
    const plane = dxOff + c * H * W;
    for (let ki = 0; ki < k; ki++) {
      for (let kj = 0; kj < k; kj++) {
        let src = ((c * k + ki) * k + kj) * ldCols + colOff;
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride + ki - pad;
          if (iy < 0 || iy >= H) {
            src += OW;
            continue;
          }
          const row = plane + iy * W;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * stride + kj - pad;
            if (ix >= 0 && ix < W) dx[row + ix] += cols[src];
            src++;
          }
        }
      }
    }
  }
}

/** In wasm an out-of-range index would hit a neighbouring buffer, so check the extents. */
function checkPatchArgs(name: string, g: PatchGeometry, x: Float32Array, xOff: number, cols: Float32Array, colOff: number, ldCols: number): void {
  const { channels: C, height: H, width: W, kernel: k, stride, pad, outHeight: OH, outWidth: OW } = g;
  const xEnd = xOff + C * H * W;
  const colsEnd = colOff + (C * k * k - 1) * ldCols + OH * OW;
  const ints = Number.isInteger(xOff) && Number.isInteger(C) && Number.isInteger(H) && Number.isInteger(W) &&
    Number.isInteger(k) && Number.isInteger(stride) && Number.isInteger(pad) && Number.isInteger(OH) &&
    Number.isInteger(OW) && Number.isInteger(colOff) && Number.isInteger(ldCols);
  const ok = ints && stride >= 1 && pad >= 0 && xOff >= 0 && colOff >= 0 && H >= 0 && W >= 0;
  if (!ok) throw new RangeError(`${name}: bad sizes (stride ${stride}, pad ${pad}, offsets ${xOff}, ${colOff})`);
  if (C <= 0 || k <= 0 || OH <= 0 || OW <= 0) return;
  if (xEnd > x.length || colsEnd > cols.length) {
    throw new RangeError(`${name}: image or cols does not fit its array (${xEnd} > ${x.length} or ${colsEnd} > ${cols.length})`);
  }
}
