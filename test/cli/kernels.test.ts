/**
 * KCONV_KERNELS, read once when the kernels load: each setting checked in a Node process
 * of its own on the built modules. The kernels themselves are in test/unit/kernels.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadWasmKernels } from '../../src/kernels/wasm.js';

const wasmAvailable = loadWasmKernels('simd') !== null;

describe('KCONV_KERNELS', () => {
  const dist = fileURLToPath(new URL('../../dist/kernels/gemm.js', import.meta.url));
  const run = (env: string) => spawnSync(process.execPath, ['--input-type=module', '-e',
    `const m = await import(${JSON.stringify(dist)}); const mem = await import(${JSON.stringify(dist.replace('gemm.js', 'memory.js'))});
     console.log(m.kernelInfo().backend, mem.allocF32(4).buffer instanceof SharedArrayBuffer);`],
  { env: { ...process.env, KCONV_KERNELS: env }, encoding: 'utf8' });

  it.skipIf(!wasmAvailable)('=js forces the TypeScript kernels and ordinary arrays; =simd pins plain SIMD', () => {
    expect(run('js').stdout.trim()).toBe('js false');
    expect(run('simd').stdout.trim()).toBe('wasm-simd true');
    expect(run('').stdout.trim()).toMatch(/^wasm-(relaxed-)?simd true$/);
  });
});
