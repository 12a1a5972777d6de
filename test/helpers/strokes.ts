/** The strokes that draw a 28×28 digit on the serve page's pad: one per run of ink (≥ 128) along each pixel row. */
export function strokes(pixels: ArrayLike<number>): { y: number; x0: number; x1: number }[] {
  const out = [];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (pixels[y * 28 + x] < 128) continue;
      let e = x;
      while (e + 1 < 28 && pixels[y * 28 + e + 1] >= 128) e++;
      out.push({ y, x0: x, x1: e });
      x = e;
    }
  }
  return out;
}
