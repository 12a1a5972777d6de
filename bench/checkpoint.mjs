/**
 * Checkpoint cost: the time to turn the `wide` net with its Adam state (three float32
 * values per parameter, 1.4 million numbers) into the weights file's text, with the
 * formatter kconv uses and with the reference rule it must match byte for byte.
 * Needs `npm run build` first (it imports dist/).
 *
 *   node bench/checkpoint.mjs
 *
 * `benchCheckpoint()` returns the figures for the main benchmark.
 */
import { fileURLToPath } from 'node:url';
import { float32ArrayToJson, float32ToStringReference } from '../dist/model/float-json.js';
import { DEFAULT_INPUT, modelBytes } from '../dist/model/weights-file.js';
import { createNetwork } from '../dist/net/index.js';
import { Random } from '../dist/random.js';

/** The reference formatter over a whole array, as the weights file used to write it. */
function referenceArrayToJson(a) {
  let out = '[';
  for (let i = 0; i < a.length; i++) out += (i ? ',' : '') + float32ToStringReference(a[i]);
  return out + ']';
}

function best(fn, repeats) {
  let t = Infinity;
  let result;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    result = fn();
    t = Math.min(t, performance.now() - t0);
  }
  return { ms: t, result };
}

export function benchCheckpoint({ repeats = 3 } = {}) {
  const net = createNetwork('wide', 1);
  const params = net.params();
  // Adam's moments at typical sizes: m ~ gradients (10⁻³), v ~ their squares.
  const random = new Random(7);
  const m = params.map((p) => Float32Array.from(p.value, () => random.normal() * 1e-3));
  const v = params.map((p) => Float32Array.from(p.value, () => (random.normal() * 1e-3) ** 2));
  const model = { input: DEFAULT_INPUT, arch: 'wide', net, optimizerState: { step: 100, m, v } };
  const numbers = 3 * params.reduce((s, p) => s + p.value.length, 0);
  const fast = best(() => modelBytes(model), repeats);
  const arrays = [...params.map((p) => p.value), ...m, ...v];
  const fastArrays = best(() => arrays.map(float32ArrayToJson).join(','), repeats);
  const slowArrays = best(() => arrays.map(referenceArrayToJson).join(','), 1);
  if (fastArrays.result !== slowArrays.result) throw new Error('checkpoint bench: the fast formatter differs from the reference');
  return {
    numbers,
    bytes: fast.result.length,
    checkpoint_text_ms: fast.ms,
    arrays_ms: fastArrays.ms,
    arrays_reference_ms: slowArrays.ms,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = benchCheckpoint();
  console.log(`wide net + Adam state: ${r.numbers.toLocaleString('en')} float32 values, ${(r.bytes / 1e6).toFixed(1)} MB of text`);
  console.log(`  whole checkpoint bytes (modelBytes):      ${r.checkpoint_text_ms.toFixed(0)} ms`);
  console.log(`  the arrays alone, fast formatter:         ${r.arrays_ms.toFixed(0)} ms`);
  console.log(`  the arrays alone, reference formatter:    ${r.arrays_reference_ms.toFixed(0)} ms (byte-identical output)`);
  console.log(JSON.stringify(r));
}
