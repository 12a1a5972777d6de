import { PIXELS } from '../data/index.js';
import { DataError } from '../errors.js';
import { decodeImage, ImageTooLarge } from '../image/decode.js';
import { preprocess } from '../image/preprocess.js';
import { float32ToString } from '../model/float-json.js';
import type { MapRow } from '../show/digit-view.js';
import { parseCsvBody, TooManyImages } from './csv-body.js';
import { CLASSES } from '../net/input.js';
import type { Predictor } from './predictor.js';

/**
 * POST /api/predict: request bodies → images → predictions, with every check a body from
 * anywhere needs. Errors are HttpErrors: the status and a message for {"error": …}.
 */

export class HttpError extends Error {
  /** `logged`: the line for the log was written already (a 5xx is logged once). */
  constructor(readonly status: number, message: string, readonly logged = false) {
    super(message);
  }
}

/** Most images in one request (JSON or CSV). */
export const MAX_IMAGES = 10_000;
/** Most images whose feature maps one request may ask for (maps are large). */
export const MAX_MAPS = 16;

export const BODY_TYPES = ['application/json', 'image/png', 'image/jpeg', 'text/csv'] as const;
export const SHAPE_HINT = 'send {"pixels": [784 numbers]} or {"images": [[784 numbers], …]}, each a whole number 0 (background) … 255 (ink), row by row';

/** Images ready for the network, and the ids a CSV gave them. */
export interface Images {
  n: number;
  pixels: Uint8Array;
  ids: number[] | null;
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.length > 20 ? v.slice(0, 20) + '…' : v}" (a string)` : typeof v === 'object' ? 'an object' : String(v));

/** Copies one image's 784 numbers into `out` at image `index`, checking each. */
function readPixels(value: unknown, where: string, out: Uint8Array, index: number): void {
  if (!Array.isArray(value)) throw new HttpError(400, `${where} is ${kind(value)}, not an array of 784 numbers: ${SHAPE_HINT}`);
  if (value.length !== PIXELS) throw new HttpError(400, `${where} has ${value.length} numbers, not 784 (28×28): ${SHAPE_HINT}`);
  const base = index * PIXELS;
  for (let j = 0; j < PIXELS; j++) {
    const v = value[j];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new HttpError(400, `${where}[${j}] is ${kind(v)}: pixels are whole numbers 0 (background) … 255 (ink), as in the CSV files`);
    }
    out[base + j] = v;
  }
}

/** {"pixels": [784]} or {"images": [[784], …]}; nothing else. */
export function imagesFromJson(body: unknown, maxImages = MAX_IMAGES): Images {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `the JSON body is ${kind(body)}: ${SHAPE_HINT}`);
  const keys = Object.keys(body);
  const unknown = keys.find((k) => k !== 'pixels' && k !== 'images');
  if (unknown !== undefined) throw new HttpError(400, `the JSON body has an unknown field "${unknown.slice(0, 40)}": ${SHAPE_HINT}`);
  if (keys.length !== 1) throw new HttpError(400, `the JSON body needs exactly one of "pixels" and "images": ${SHAPE_HINT}`);
  const o = body as { pixels?: unknown; images?: unknown };
  if (keys[0] === 'pixels') {
    const pixels = new Uint8Array(PIXELS);
    readPixels(o.pixels, 'pixels', pixels, 0);
    return { n: 1, pixels, ids: null };
  }
  const images = o.images;
  if (!Array.isArray(images)) throw new HttpError(400, `images is ${kind(images)}, not an array of images: ${SHAPE_HINT}`);
  if (images.length === 0) throw new HttpError(400, `images is empty: ${SHAPE_HINT}`);
  if (images.length > maxImages) throw new HttpError(413, `images holds ${images.length} images, more than ${maxImages} in one request: split it`);
  const pixels = new Uint8Array(images.length * PIXELS);
  images.forEach((image, i) => readPixels(image, `images[${i}]`, pixels, i));
  return { n: images.length, pixels, ids: null };
}

/** A PNG or JPEG body: decoded (bounded), preprocessed as the CLI does. */
export function imagesFromPicture(body: Buffer): Images {
  try {
    return { n: 1, pixels: preprocess(decodeImage(body, 'the image')), ids: null };
  } catch (error) {
    if (error instanceof ImageTooLarge) throw new HttpError(413, error.message);
    if (error instanceof DataError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** A Kaggle-layout CSV body. */
export function imagesFromCsv(body: Buffer, maxImages = MAX_IMAGES): Images {
  try {
    const csv = parseCsvBody(body, maxImages);
    if (csv.n === 0) throw new HttpError(400, 'the CSV body has a header but no rows: send one row per image');
    return csv;
  } catch (error) {
    if (error instanceof TooManyImages) throw new HttpError(413, error.message);
    if (error instanceof DataError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** Float32 numbers as the shortest decimals that read back to the same value. */
const exact = (values: ArrayLike<number>) => Array.from(values, (v) => Number(float32ToString(v)));
/**
 * Map values rounded to 4 significant digits of the row's largest value (±2.7 → 0.001
 * steps): plenty for a picture, a quarter of the bytes, and fast (no string per number).
 */
function brief(values: ArrayLike<number>, scaleMax: number): number[] {
  const decimals = scaleMax > 0 ? Math.min(12, Math.max(0, 4 - Math.ceil(Math.log10(scaleMax)))) : 0;
  const f = 10 ** decimals;
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] * f) / f;
  return out;
}

/** A map row as JSON: its numbers and how to draw them (see the page and `kconv show`). */
export function mapRowJson(row: MapRow) {
  return {
    title: row.title, detail: row.detail, kind: row.kind, stage: row.stage, channels: row.channels, height: row.height, width: row.width,
    scaleMax: Number(float32ToString(row.scaleMax)), data: brief(row.data, row.scaleMax),
  };
}

/** The response of POST /api/predict. */
export function predictResponse(predictor: Predictor, images: Images, withMaps: boolean) {
  if (withMaps && images.n > MAX_MAPS) throw new HttpError(400, `maps=1 gives feature maps for at most ${MAX_MAPS} images at a time, and the request has ${images.n}: leave maps out, or send fewer`);
  const out = predictor.predict(images.pixels, images.n);
  const predictions = [];
  for (let i = 0; i < images.n; i++) {
    const pixels = images.pixels.subarray(i * PIXELS, (i + 1) * PIXELS);
    const p = {
      ...(images.ids ? { id: images.ids[i] } : {}),
      label: out.labels[i],
      probs: exact(out.probs.subarray(i * CLASSES, (i + 1) * CLASSES)),
    };
    predictions.push(withMaps ? { ...p, input: Array.from(pixels), maps: predictor.explain(pixels).maps.map(mapRowJson) } : p);
  }
  return { predictions };
}
