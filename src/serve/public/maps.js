// @ts-check
// What each layer sees: the rows kconv show draws (the first layer's filters, then the maps
// of the image shown), with its layout and colours.
import { diverging, sequential, TILE_FRAME } from './colors.js';
import { $ } from './dom.js';

/** @typedef {import('./dom.js').MapRow} MapRow */
/** @typedef {{ ctx: CanvasRenderingContext2D, image: ImageData }} Tile */

const PER_LINE = 16;
const GAP = 8;
/** The width the rows may take: the panel's, as wide as kconv show's (888) at most. */
const rowWidth = () => Math.min(888, $('maps').clientWidth || 840);

/** @param {string} text */
function placeholder(text) {
  const p = document.createElement('p');
  p.className = 'placeholder';
  p.textContent = text;
  return p;
}

/** The smallest tile the page draws while it can: smaller ones are hard to read on a phone. */
const MIN_CELL = 40;

/**
 * kconv show's tile size for a row of `channels`: as large as fits up to 16 a line (framed),
 * 24 to 96 pixels; on a narrow panel, the row takes more lines of equal length so that
 * tiles stay MIN_CELL wide.
 * @param {number} channels
 */
function cellSize(channels) {
  const fit = Math.max(1, Math.floor((rowWidth() + GAP) / (MIN_CELL + 2 + GAP)));
  const lines = Math.ceil(channels / Math.min(channels, PER_LINE, fit));
  const perLine = Math.ceil(channels / lines);
  return Math.max(24, Math.min(96, Math.floor((rowWidth() - (perLine - 1) * GAP) / perLine) - 2));
}
/** @param {MapRow} row */
const scaleOf = (row) => Math.max(2, Math.floor(cellSize(row.channels) / Math.max(row.height, row.width)));

/** kconv show's colour scales in 1024 steps, as RGBA words, so painting a map is a lookup a pixel. */
const STEPS = 1024;
/** @param {(t: number) => readonly number[]} colour */
function table(colour) {
  const t = new Uint32Array(STEPS);
  const bytes = new Uint8Array(t.buffer);
  for (let i = 0; i < STEPS; i++) bytes.set([...colour(i / (STEPS - 1)), 255], i * 4);
  return t;
}
const DIVERGING = table((t) => diverging(2 * t - 1, 1));
const SEQUENTIAL = table((t) => sequential(t, 1));

/**
 * Paints channel `ch` of a row into its tile's canvas.
 * @param {Tile} tile
 * @param {MapRow} row
 * @param {number} ch
 */
function paint(tile, row, ch) {
  const plane = row.height * row.width;
  const words = new Uint32Array(tile.image.data.buffer);
  const m = row.scaleMax > 0 ? row.scaleMax : 1;
  const activation = row.kind === 'activation';
  const lut = activation ? SEQUENTIAL : DIVERGING;
  for (let i = 0; i < plane; i++) {
    const v = row.data[ch * plane + i];
    const t = activation ? v / m : 0.5 + v / (2 * m);
    words[i] = lut[Math.round(Math.min(1, Math.max(0, t)) * (STEPS - 1))];
  }
  tile.ctx.putImageData(tile.image, 0, 0);
}

/**
 * The tiles of one row, built once for a row shape and painted on every update.
 * @param {MapRow} row
 * @param {number} cell
 * @param {boolean} firstOfStage
 */
function buildRow(row, cell, firstOfStage) {
  const box = document.createElement('div');
  box.className = `map-row${firstOfStage ? ' stage-start' : ''}`;
  const h = document.createElement('h3');
  h.textContent = row.title;
  const detail = document.createElement('span');
  detail.className = 'muted';
  h.append(detail);
  const tiles = document.createElement('div');
  tiles.className = 'tiles';
  const scale = scaleOf(row);
  /** @type {Tile[]} */
  const built = [];
  for (let ch = 0; ch < row.channels; ch++) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    tile.style.width = tile.style.height = `${cell + 2}px`;
    const canvas = document.createElement('canvas');
    canvas.width = row.width;
    canvas.height = row.height;
    canvas.style.width = `${row.width * scale}px`;
    canvas.style.height = `${row.height * scale}px`;
    const ctx2 = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    built.push({ ctx: ctx2, image: ctx2.createImageData(row.width, row.height) });
    tile.append(canvas);
    tiles.append(tile);
  }
  box.append(h, tiles);
  return { box, detail, tiles: built };
}

/**
 * Tile cells per stage: the widest row's, so a channel stays in one column down the stage.
 * @param {MapRow[]} rows
 */
function cellsOf(rows) {
  /** @type {Map<number, number>} */
  const cells = new Map();
  for (const r of rows) cells.set(r.stage, Math.max(cells.get(r.stage) ?? 0, scaleOf(r) * Math.max(r.height, r.width)));
  return cells;
}

/** @type {MapRow | null} */
let filtersRow = null;
/** @type {{ key: string, rows: ReturnType<typeof buildRow>[] }} */
let layout = { key: '', rows: [] };

/**
 * The first layer's filters (GET /api/model), shown above the maps from now on.
 * @param {MapRow} row
 */
export function setFilters(row) {
  filtersRow = row;
}

/**
 * The first layer's filters, then the maps of the image shown (null: none yet).
 * @param {MapRow[] | null} rows
 */
export function drawMaps(rows) {
  const all = [...(filtersRow ? [filtersRow] : []), ...(rows ?? [])];
  const key = `${rowWidth()}|` + all.map((r) => `${r.title}:${r.channels}×${r.height}×${r.width}`).join('|') + (rows === null ? '|none' : '');
  if (key !== layout.key) {
    const cells = cellsOf(all);
    const built = all.map((row, i) => buildRow(row, /** @type {number} */ (cells.get(row.stage)), i > 0 && row.stage !== all[i - 1].stage));
    const note = rows === null ? placeholder('Draw a digit, or upload an image, to see the feature maps.')
      : rows.length === 0 ? placeholder('This network has no conv layers: no feature maps to show.') : null;
    $('maps').replaceChildren(...built.map((b) => b.box), ...(note ? [note] : []));
    layout = { key, rows: built };
  }
  all.forEach((row, i) => {
    const b = layout.rows[i];
    b.detail.textContent = row.detail;
    for (let ch = 0; ch < row.channels; ch++) paint(b.tiles[ch], row, ch);
  });
}

/** The colour keys under the maps, and the tiles' frame colour. */
export function drawKeys() {
  /** @type {[string, (t: number) => readonly number[]][]} */
  const keys = [['key-diverging', (t) => diverging(2 * t - 1, 1)], ['key-sequential', (t) => sequential(t, 1)]];
  for (const [id, f] of keys) {
    const c = /** @type {CanvasRenderingContext2D} */ (/** @type {HTMLCanvasElement} */ ($(id)).getContext('2d'));
    const img = c.createImageData(200, 1);
    for (let x = 0; x < 200; x++) img.data.set([...f(x / 199), 255], x * 4);
    c.putImageData(img, 0, 0);
  }
  document.documentElement.style.setProperty('--frame', `rgb(${TILE_FRAME.join(', ')})`);
}
