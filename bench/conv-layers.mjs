/**
 * Forward and backward time of each conv layer of the `wide` net, per algorithm, with the
 * direct-convolution GFLOP/s equivalent (2·N·F·C·9·OH·OW FLOPs a pass, divided by its time;
 * backward does two such products, or one when the layer needs no input gradient).
 * Needs `npm run build` first (it imports dist/). Single thread, timed in CPU time
 * (process.cpuUsage), so being descheduled on a busy machine does not count.
 *
 *   node bench/conv-layers.mjs [--batch 32,64] [--algorithms im2col,winograd]
 *
 * Batch 32 is what each thread sees with 2 threads and batch 64; 64 is one thread.
 * Inputs and gradients live in the kernel arena, as they do in a net (plain arrays would
 * take the TypeScript kernels). `benchConvLayers()` returns the rows for the main benchmark.
 */
import { fileURLToPath } from 'node:url';
import { kernelInfo } from '../dist/kernels/gemm.js';
import { bestCpuMs } from './cpu-time.mjs';
import { allocF32 } from '../dist/kernels/memory.js';
import { Conv2d } from '../dist/layers/conv2d.js';
import { Random } from '../dist/random.js';

/** The wide net's conv layers: [C, H, W, F] (3×3, stride 1, padding 1). */
export const WIDE_CONV_LAYERS = [
  [1, 28, 28, 32, 'conv1  1→32, 28×28'],
  [32, 28, 28, 32, 'conv2 32→32, 28×28'],
  [32, 14, 14, 64, 'conv3 32→64, 14×14'],
  [64, 14, 14, 64, 'conv4 64→64, 14×14'],
];

export function benchConvLayers({ batches = [32, 64], algorithms = ['im2col', 'winograd'], minMs = 100, repeats = 5 } = {}) {
  const rows = [];
  const random = new Random(1);
  for (const [C, H, W, F, name] of WIDE_CONV_LAYERS) {
    for (const n of batches) {
      const x = { data: allocF32(n * C * H * W), shape: [n, C, H, W] };
      for (let i = 0; i < x.data.length; i++) x.data[i] = random.normal();
      for (const algorithm of algorithms) {
        const conv = new Conv2d([C, H, W], { inChannels: C, outChannels: F, kernel: 3, stride: 1, padding: 1 });
        if (conv.supports ? !conv.supports(algorithm) : algorithm !== 'im2col') continue;
        conv.algorithm = algorithm;
        conv.needsInputGrad = C > 1; // the first layer gets no input gradient in a net
        for (let i = 0; i < conv.weight.length; i++) conv.weight[i] = random.normal() * 0.1;
        const y = conv.forward(x, true);
        const dy = { data: allocF32(y.data.length), shape: y.shape };
        for (let i = 0; i < dy.data.length; i++) dy.data[i] = random.normal();
        const fwd = bestCpuMs(() => conv.forward(x, true), minMs, repeats);
        const bwd = bestCpuMs(() => conv.backward(dy), minMs, repeats);
        const flops = 2 * n * F * C * 9 * H * W;
        rows.push({
          layer: name, batch: n, algorithm, forward_ms: fwd, backward_ms: bwd,
          forward_gflops: flops / fwd / 1e6, backward_gflops: (conv.needsInputGrad ? 2 : 1) * flops / bwd / 1e6,
        });
      }
    }
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const value = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const batches = value('--batch', '32,64').split(',').map(Number);
  const algorithms = value('--algorithms', 'im2col,winograd').split(',');
  const rows = benchConvLayers({ batches, algorithms });
  console.log(`wide net conv layers, 1 thread, ${kernelInfo().backend} kernels, Node ${process.versions.node}`);
  console.log('layer                batch  algorithm   forward ms  GFLOP/s  backward ms  GFLOP/s');
  for (const r of rows) {
    console.log(`${r.layer.padEnd(20)} ${String(r.batch).padStart(5)}  ${r.algorithm.padEnd(10)} ${r.forward_ms.toFixed(2).padStart(10)} ${r.forward_gflops.toFixed(1).padStart(8)} ${r.backward_ms.toFixed(2).padStart(12)} ${r.backward_gflops.toFixed(1).padStart(8)}`);
  }
  console.log(JSON.stringify(rows));
}
