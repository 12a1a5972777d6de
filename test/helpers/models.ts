import type { Dataset } from '../../src/data/index.js';
import { DEFAULT_INPUT, type InputSpec, type ModelFile } from '../../src/model/weights-file.js';
import { createNetwork, formatArch, parseArch } from '../../src/net/index.js';
import { Random } from '../../src/random.js';

/** A model with random weights; batch normalization as after training: γ, β and running statistics away from 1 and 0. */
export function modelOf(arch: string, seed = 1, input: InputSpec = DEFAULT_INPUT): ModelFile {
  const net = createNetwork(arch, seed);
  const random = new Random(seed + 50);
  for (const layer of net.layers) {
    if (layer.type !== 'batchnorm') continue;
    for (const p of layer.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = (p.name === 'weight' ? 1 : 0) + 0.5 * random.normal();
    for (const b of layer.buffers!()) for (let i = 0; i < b.value.length; i++) b.value[i] = b.min === 0 ? 0.2 + 2 * random.next() : 0.5 * random.normal();
  }
  return { input, arch: formatArch(parseArch(arch)), net };
}

/** n random images of raw 0..255 pixels, as a kconv dataset. */
export function randomImages(n: number, seed: number): Dataset {
  const random = new Random(seed);
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = random.int(256);
  return { n, pixels, labels: null, ids: null };
}
