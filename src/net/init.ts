import { Random } from '../random.js';
import type { Sequential } from './sequential.js';

/**
 * He (Kaiming) normal initialisation: weights ~ N(0, 2 / fan_in), which keeps the
 * variance of activations steady through ReLU layers; biases start at zero, and batch
 * normalization's scale γ at one (as PyTorch). fan_in is in·k·k for a conv filter and
 * `in` for a dense row. Same seed, same bits.
 */
export function initHe(net: Sequential, seed: number): void {
  const random = new Random(seed);
  for (const layer of net.layers) {
    for (const p of layer.params()) {
      if (p.init !== 'he') {
        p.value.fill(p.init === 'ones' ? 1 : 0);
        continue;
      }
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < p.value.length; i++) p.value[i] = random.normal() * std;
    }
  }
}
