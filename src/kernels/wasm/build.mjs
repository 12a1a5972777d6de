// @ts-check
/**
 * Build step (run by `npm run build`): assembles the WebAssembly text of the kernels and
 * turns it into .wasm with the `wabt` package, written next to the compiled kernels
 * (dist/kernels/), where wasm.ts looks for them at run time.
 *
 *   node src/kernels/wasm/build.mjs [outDir]
 *
 * The module is one memory import, then module fields: the fixed kernels as written in
 * the .wat files here (common, im2col, layers, winograd, batchnorm, dropout), and what varies, generated:
 * the unrolled GEMM tiles (gen-gemm.mjs), the unrolled im2col runs (gen-patch-runs.mjs)
 * and the Winograd transforms (gen-winograd.mjs). Two variants: `relaxed` multiplies and
 * adds with f32x4.relaxed_madd (a fused multiply-add where the CPU has one), the other
 * with f32x4.mul + f32x4.add (plain SIMD). The generators are type-checked
 * (`// @ts-check`, tsconfig.json here) as part of the build.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { DEFAULT_TILES, gemmKernels, scratchBytes } from './gen-gemm.mjs';
import { patchRuns } from './gen-patch-runs.mjs';
import { winogradKernels } from './gen-winograd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const features = { simd: true, threads: true, bulk_memory: true, relaxed_simd: true };
const FIXED = ['common.wat', 'im2col.wat', 'layers.wat', 'winograd.wat', 'batchnorm.wat', 'dropout.wat'];

/**
 * The whole module's text for one variant.
 * @param {{ relaxed: boolean }} options
 */
export function assembleWat({ relaxed }) {
  /** @type {(a: string, b: string, c: string) => string} */
  const madd = (a, b, c) => (relaxed ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`);
  return [
    '(module',
    '  (import "env" "memory" (memory 1 65536 shared))',
    `  (global (export "scratchBytes") i32 (i32.const ${scratchBytes()}))`,
    `  (global (export "panelRows") i32 (i32.const ${DEFAULT_TILES.MR}))`,
    ...FIXED.map((name) => readFileSync(join(here, name), 'utf8')),
    gemmKernels({ madd }),
    patchRuns(),
    winogradKernels({ madd }),
    ')',
  ].join('\n');
}

/** @param {{ relaxed: boolean }} options */
export async function compileKernels(options) {
  const wabt = await wabtInit();
  const wat = assembleWat(options);
  const mod = wabt.parseWat(`kernels-${options.relaxed ? 'relaxed' : 'simd'}.wat`, wat, features);
  try {
    // (wabt's typings omit validate's features argument; without it SIMD does not validate)
    /** @type {(features: object) => void} */ (mod.validate).call(mod, features);
    // Function names kept in the binary, so CPU profiles name the kernels.
    return { wat, wasm: mod.toBinary({ write_debug_names: true }).buffer };
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(here, '../../../dist/kernels'));
  mkdirSync(outDir, { recursive: true });
  for (const relaxed of [false, true]) {
    const name = relaxed ? 'kernels-relaxed' : 'kernels-simd';
    const { wat, wasm } = await compileKernels({ relaxed });
    writeFileSync(join(outDir, `${name}.wasm`), wasm);
    writeFileSync(join(outDir, `${name}.wat`), wat); // for reading and debugging only
    console.log(`${name}.wasm: ${wasm.length} bytes → ${outDir}`);
  }
}
