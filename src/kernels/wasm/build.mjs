/**
 * Build step (run by `npm run build`): WAT text from gen-kernels.mjs → .wasm with the
 * `wabt` package, written next to the compiled kernels (dist/kernels/), where
 * wasm.ts looks for them at run time.
 *
 *   node src/kernels/wasm/build.mjs [outDir]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { generateWat } from './gen-kernels.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(here, '../../../dist/kernels'));
const features = { simd: true, threads: true, bulk_memory: true, relaxed_simd: true };

export async function compileKernels(options) {
  const wabt = await wabtInit();
  const wat = generateWat(options);
  const mod = wabt.parseWat(`kernels-${options.relaxed ? 'relaxed' : 'simd'}.wat`, wat, features);
  try {
    mod.validate(features);
    // Function names kept in the binary, so CPU profiles name the kernels.
    return { wat, wasm: mod.toBinary({ write_debug_names: true }).buffer };
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(outDir, { recursive: true });
  for (const relaxed of [false, true]) {
    const name = relaxed ? 'kernels-relaxed' : 'kernels-simd';
    const { wat, wasm } = await compileKernels({ relaxed });
    writeFileSync(join(outDir, `${name}.wasm`), wasm);
    writeFileSync(join(outDir, `${name}.wat`), wat); // for reading and debugging only
    console.log(`${name}.wasm: ${wasm.length} bytes → ${outDir}`);
  }
}
