import type { Conv2d } from '../layers/conv2d.js';
import type { Sequential } from '../net/sequential.js';
import { convLayers } from './activations.js';
import { capHeight, type Canvas } from './canvas.js';
import { MUTED, TEXT, TILE_FRAME } from './colors.js';
import { absMax, baseName, divergingKey, MARGIN, short, Sketch, type Box } from './layout.js';

export interface FiltersLayout {
  /** Per conv layer: its tiles, tiles[f][c] = filter f's weights on input channel c, and their enlargement. */
  layers: { conv: Conv2d; scaleMax: number; scale: number; tiles: Box[][] }[];
}

const GAP = 6;
/** Filters per line; more wrap onto further lines. */
const PER_LINE = 16;
/** The widest a line of filters should get. */
const LINE_WIDTH = 900;
/** The tallest one layer's tiles should get: a layer of many filters over many channels gets smaller tiles. */
const LAYER_HEIGHT = 3000;

/**
 * Every conv layer's filters on the blue–white–red scale (each layer symmetric around 0
 * at its own largest |weight|): one column per filter, one row per input channel, so a
 * filter over C channels is a column of C small tiles. More than 16 filters wrap.
 */
export function renderFilters(net: Sequential, weightsFile: string, arch: string, opts: { layers?: number[] } = {}): { canvas: Canvas; layout: FiltersLayout } {
  const all = convLayers(net);
  if (all.length === 0) throw new RangeError('renderFilters: the network has no conv layers');
  // Which conv layers (0-based among the conv layers) to draw; each keeps its number.
  const chosen = opts.layers ?? all.map((_, i) => i);
  const convs = chosen.map((i) => ({ ...all[i], number: i + 1 }));
  const s = new Sketch();
  let y = MARGIN;
  s.text('filters', MARGIN, y, { color: TEXT, scale: 3 });
  y += capHeight(3) + 14;
  s.text(`model ${baseName(weightsFile)}: ${arch}`, MARGIN, y, { color: MUTED });
  y += capHeight(2) + 8;
  s.text('blue negative, white 0, red positive; each layer on its own scale', MARGIN, y, { color: MUTED });
  y += capHeight(2) + 16;
  y = divergingKey(s, MARGIN, y, 240) + 30;

  const layers: FiltersLayout['layers'] = [];
  // A left column for the row labels ("in 3"), the same for every layer so the tiles line up.
  const labelWidth = 80;
  convs.forEach(({ conv, number }) => {
    const k = conv.kernel;
    const F = conv.outChannels;
    const C = conv.inChannels;
    const perLine = Math.min(F, PER_LINE);
    const cell = Math.max(24, Math.min(96, Math.floor((LINE_WIDTH - labelWidth - (perLine - 1) * GAP) / perLine)));
    const tileRows = C * Math.ceil(F / perLine);
    const scale = Math.max(2, Math.min(Math.floor(cell / k), Math.floor((LAYER_HEIGHT / tileRows - GAP) / k)));
    const tile = k * scale;
    const scaleMax = absMax(conv.weight);
    const tw = s.text(`conv${number}`, MARGIN, y, { color: TEXT });
    s.text(`${F} filters of ${C}×${k}×${k}, stride ${conv.stride}${conv.padding ? `, padding ${conv.padding}` : ''}, ±${short(scaleMax)}`, MARGIN + tw + 14, y, { color: MUTED });
    y += capHeight(2) + 14;
    const tiles: Box[][] = Array.from({ length: F }, () => []);
    for (let start = 0; start < F; start += perLine) {
      // Filter numbers above the columns.
      s.text('filter', MARGIN, y, { color: MUTED });
      for (let f = start; f < Math.min(F, start + perLine); f++) {
        s.text(String(f + 1), MARGIN + labelWidth + (f - start) * (tile + GAP) + tile / 2 + 1, y, { color: MUTED, align: 'center' });
      }
      y += capHeight(2) + 8;
      for (let ch = 0; ch < C; ch++) {
        if (C > 1) s.text(`in ${ch + 1}`, MARGIN + labelWidth - 12, y + tile / 2 - 7, { color: MUTED, align: 'right' });
        for (let f = start; f < Math.min(F, start + perLine); f++) {
          const x = MARGIN + labelWidth + (f - start) * (tile + GAP);
          const box = { x, y, w: tile, h: tile };
          tiles[f][ch] = box;
          const image = { width: k, height: k, data: conv.weight, offset: (f * C + ch) * k * k };
          s.add({ x: x - 1, y: y - 1, w: tile + 2, h: tile + 2 }, (c) => {
            c.drawHeatmap(image, x, box.y, scale, scaleMax);
            c.frame(x, box.y, tile, tile, TILE_FRAME);
          });
        }
        y += tile + GAP;
      }
      y += 16;
    }
    layers.push({ conv, scaleMax, scale, tiles });
    y += 20;
  });
  return { canvas: s.render(), layout: { layers } };
}
