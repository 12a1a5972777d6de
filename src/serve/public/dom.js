// @ts-check
// What every module of the page shares: its elements by id, the Kannada numerals, and the
// page's state for tests and the curious (window.kconv).

export const KANNADA = '೦೧೨೩೪೫೬೭೮೯';

/**
 * The element with this id; the page's HTML has every id the modules ask for.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export const $ = (id) => /** @type {T} */ (document.getElementById(id));

/** A map row as GET /api/model and POST /api/predict?maps=1 send it (src/serve/api.ts mapRowJson). */
/** @typedef {{ title: string, detail: string, kind: string, stage: number, channels: number, height: number, width: number, scaleMax: number, data: number[] }} MapRow */
/** One image's answer from POST /api/predict (with ?maps=1: its input and maps too). */
/** @typedef {{ label: number, probs: number[], warning?: string, input?: number[], maps?: MapRow[] }} Prediction */

/**
 * For tests and the curious: stroke-to-bars latencies (ms), updates shown, the last result.
 * `idle` is set by predict.js, `teach` by teach.js.
 * @type {{ latencies: number[], updates: number, label: number | null, input: ArrayLike<number> | null, maps: MapRow[] | null, source: string | null, uploadError: string | null, idle: () => boolean, teach?: unknown }}
 */
export const stats = { latencies: [], updates: 0, label: null, input: null, maps: null, source: null, uploadError: null, idle: () => true };
/** @type {any} */ (window).kconv = stats;
