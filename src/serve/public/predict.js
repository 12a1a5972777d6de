// @ts-check
// Predicting while drawing.
//
// Two lanes, each with at most one request in flight and always the newest drawing next
// (latest wins): the bars lane asks for labels and probabilities only (a small, fast
// answer); the maps lane asks for the feature maps (?maps=1, ~50 kB) whenever the bars
// lane is idle, so the maps never hold the bars up. The 28×28 input is the page's own
// preprocessing, drawn at once.
import { DRAW_HINT, drawInput, say, showBlank, showPrediction, status } from './results.js';
import { drawMaps } from './maps.js';
import { stats } from './dom.js';
import { padImage } from './pad.js';
import { preprocessImage } from './preprocess.js';

/** @typedef {import('./dom.js').Prediction} Prediction */

let version = 0; // the drawing changes: version counts them
/** The version of the last Clear or upload: answers for older drawings are dropped. */
let resetAt = 0;
const lane = { bars: { busy: false, shown: 0 }, maps: { busy: false, shown: 0 } };
/** When the oldest change not yet in the bars happened (its event's time). @type {number | null} */
let oldest = null;
/** The preprocessed pixels of the newest drawing sent, and its version. @type {{ version: number, pixels: number[] | null }} */
let sent = { version: 0, pixels: null };
/** An upload is being answered (upload.js). */
export const upload = { busy: false };

stats.idle = () => !upload.busy && !lane.bars.busy && !lane.maps.busy && lane.bars.shown === version && (lane.maps.shown === sent.version || sent.pixels === null);

/** A new start (Clear, an upload): nothing in flight may show any more. */
export function reset() {
  resetAt = ++version;
  lane.bars.shown = version;
  sent = { version, pixels: null };
  oldest = null;
}

/**
 * The drawing changed (at `time`, its event's): predict it when the bars lane is free.
 * @param {number} time
 */
export function changed(time) {
  version++;
  if (stats.uploadError) say(DRAW_HINT);
  if (oldest === null) oldest = Number.isFinite(time) && time > 0 ? time : performance.now();
  pumpBars();
}

async function pumpBars() {
  const l = lane.bars;
  if (l.busy || l.shown === version) return;
  l.busy = true;
  const v = version;
  const since = /** @type {number} */ (oldest);
  oldest = null;
  try {
    const pre = preprocessImage(padImage());
    if (!pre.ink) {
      showBlank();
      lane.maps.shown = v;
    } else {
      drawInput(pre.pixels);
      const pixels = Array.from(pre.pixels);
      sent = { version: v, pixels };
      const result = shown(await ask(JSON.stringify({ pixels }), false));
      if (result && v > resetAt) {
        stats.source = 'drawing';
        stats.input = pixels;
        showPrediction(result, since);
      }
    }
  } finally {
    l.shown = v;
    l.busy = false;
  }
  if (lane.bars.shown !== version) pumpBars();
  else pumpMaps();
}

async function pumpMaps() {
  const l = lane.maps;
  if (l.busy || lane.bars.busy || l.shown === sent.version || sent.pixels === null) return;
  l.busy = true;
  const v = sent.version;
  try {
    const result = shown(await ask(JSON.stringify({ pixels: sent.pixels }), true));
    if (result && v === sent.version && v > resetAt) {
      stats.maps = result.maps ?? null;
      drawMaps(result.maps ?? null);
    }
  } finally {
    l.shown = v;
    l.busy = false;
  }
  pumpMaps();
}

/**
 * POST /api/predict with JSON, or a form with the uploaded file (the server then names
 * the file in its error); { prediction } or { error }, the server's one line.
 * @param {string | FormData} body
 * @param {boolean} maps
 * @returns {Promise<{ prediction: Prediction, error?: undefined } | { error: string, prediction?: undefined }>}
 */
export async function ask(body, maps) {
  let response;
  try {
    /** @type {Record<string, string>} */
    const headers = body instanceof FormData ? {} : { 'content-type': 'application/json' };
    response = await fetch(maps ? '/api/predict?maps=1' : '/api/predict', { method: 'POST', headers, body });
  } catch (error) {
    return { error: `cannot reach kconv serve: ${/** @type {Error} */ (error).message}` };
  }
  const status = response.status;
  const json = await response.json().catch(() => ({ error: `HTTP ${status}` }));
  if (!response.ok) return { error: json.error ?? `HTTP ${status}` };
  return { prediction: json.predictions[0] };
}

/**
 * A drawing's answer: the prediction, or null after showing the error under the bars.
 * @param {Awaited<ReturnType<typeof ask>>} answer
 */
function shown(answer) {
  status(answer.error ?? '', answer.error !== undefined);
  return answer.prediction ?? null;
}
