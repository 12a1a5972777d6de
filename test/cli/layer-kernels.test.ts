/**
 * The layer kernels with KCONV_KERNELS=js in a process of their own: plain arrays
 * everywhere and the TypeScript kernels only, giving what the TypeScript path gives in
 * this process. The kernels themselves, on every backend, are in
 * test/unit/layer-kernels.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelInfo, setKernelBackend } from '../../src/kernels/gemm.js';
import { allocF32 } from '../../src/kernels/memory.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { MaxPool2d } from '../../src/layers/maxpool2d.js';
import { Relu } from '../../src/layers/relu.js';
import { expectLikeReference, runStack, STACK_SRC } from '../helpers/layer-stack.js';

const startBackend = kernelInfo().backend;
afterAll(() => {
  setKernelBackend(startBackend);
});

describe('conv2d → relu → maxpool2d on every path', () => {
  it('KCONV_KERNELS=js in a process of its own agrees with the TypeScript path', () => {
    setKernelBackend('js');
    const reference = runStack({ Conv2d, Relu, MaxPool2d, allocF32 });
    const dist = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../dist/${path}`, import.meta.url)));
    const proc = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { Conv2d } = await import(${dist('layers/conv2d.js')});
      const { MaxPool2d } = await import(${dist('layers/maxpool2d.js')});
      const { Relu } = await import(${dist('layers/relu.js')});
      const { kernelInfo } = await import(${dist('kernels/gemm.js')});
      const { allocF32 } = await import(${dist('kernels/memory.js')});
      const out = new Function('lib', ${JSON.stringify(STACK_SRC)})({ Conv2d, Relu, MaxPool2d, allocF32 });
      console.log(JSON.stringify({ backend: kernelInfo().backend, plain: !(allocF32(1).buffer instanceof SharedArrayBuffer),
        out: out.map((a) => Array.from(a)) }));`],
    { env: { ...process.env, KCONV_KERNELS: 'js' }, encoding: 'utf8' });
    expect(proc.stderr).toBe('');
    const js = JSON.parse(proc.stdout) as { backend: string; plain: boolean; out: number[][] };
    expect(js.backend).toBe('js');
    expect(js.plain).toBe(true);
    expectLikeReference(new Map([['KCONV_KERNELS=js', js.out.map((a) => Float32Array.from(a))]]), reference);
  });
});
