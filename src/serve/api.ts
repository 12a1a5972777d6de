import { PIXELS } from '../data/index.js';
import { DataError } from '../errors.js';
import { decodeImage, ImageTooLarge, sniffImage } from '../image/decode.js';
import { preprocessImage } from '../image/preprocess.js';
import { float32ToString } from '../model/float-json.js';
import type { MapRow } from '../show/digit-view.js';
import { parseCsvBody, TooManyImages } from './csv-body.js';
import { boundaryOf, filePart, MultipartError } from './multipart.js';
import { CLASSES } from '../net/input.js';
import type { Predictor } from './predictor.js';
import { HttpError } from './http-error.js';
import { at, IMAGE_SCHEMA, type Explain } from './schemas.js';

/**
 * POST /api/predict: request bodies → images → predictions, with every check a body from
 * anywhere needs: JSON by its schema (predictBody, also for JSON found by sniffing bytes),
 * pictures, CSV, a form's one file. Errors are HttpErrors: the status and a message for {"error": …}.
 */

/** Most images in one request (JSON or CSV). */
export const MAX_IMAGES = 10_000;
/** Most images whose feature maps one request may ask for (maps are large). */
export const MAX_MAPS = 16;

export const BODY_TYPES = ['application/json', 'image/png', 'image/jpeg', 'text/csv', 'multipart/form-data'] as const;
/**
 * Types that say nothing of the body (none, curl --data-binary's default, …): the bytes
 * say what it is (PNG or JPEG by their magic numbers, else JSON or CSV text).
 */
export const GENERIC_TYPES = ['', 'application/octet-stream', 'application/x-www-form-urlencoded', 'text/plain'] as const;
export const TYPES_HINT = `${BODY_TYPES.join(', ')} (one file), or no type or a generic one (${GENERIC_TYPES.slice(1).join(', ')}) and the bytes say what it is`;
export const SHAPE_HINT = 'send {"pixels": [784 numbers]} or {"images": [[784 numbers], …]}, each a whole number 0 (background) … 255 (ink), row by row';

/** Images ready for the network, and the ids a CSV gave them. */
export interface Images {
  n: number;
  pixels: Uint8Array;
  ids: number[] | null;
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.length > 20 ? v.slice(0, 20) + '…' : v}" (a string)` : typeof v === 'object' ? 'an object' : String(v));

/** ?maps=1 (or true) adds each image's feature maps; 0 or false, or leaving it out, does not. */
export const PREDICT_QUERY = { type: 'object', properties: { maps: { enum: ['1', '0', 'true', 'false'] } }, additionalProperties: false } as const;
export const explainPredictQuery: Explain = (fault) =>
  fault.keyword === 'additionalProperties'
    ? new HttpError(400, `unknown query parameter "${String(fault.params.additionalProperty).slice(0, 40)}": the only one is maps=1`)
    : new HttpError(400, 'maps must be 1 or 0');

/** {"pixels": [784]} or {"images": [[784], …]}; nothing else. Checked in the order of allOf: fields, their count, their values. */
export function predictBody(maxImages = MAX_IMAGES) {
  return {
    type: 'object',
    allOf: [
      { type: 'object', properties: { pixels: true, images: true }, additionalProperties: false },
      { type: 'object', minProperties: 1, maxProperties: 1 },
      { type: 'object', properties: { pixels: IMAGE_SCHEMA, images: { type: 'array', minItems: 1, maxItems: maxImages, items: IMAGE_SCHEMA } } },
    ],
  } as const;
}

/** The messages for a fault of predictBody(maxImages). */
export function explainPredictBody(maxImages = MAX_IMAGES): Explain {
  return (fault, body) => {
    const { where, value, steps } = at(fault, body);
    const { keyword } = fault;
    if (steps.length === 0) {
      if (keyword === 'additionalProperties') return new HttpError(400, `the JSON body has an unknown field "${String(fault.params.additionalProperty).slice(0, 40)}": ${SHAPE_HINT}`);
      if (keyword === 'type') return new HttpError(400, `the JSON body is ${kind(body)}: ${SHAPE_HINT}`);
      return new HttpError(400, `the JSON body needs exactly one of "pixels" and "images": ${SHAPE_HINT}`);
    }
    // Steps: ["images"] the list, ["pixels"] or ["images", i] an image, one more a pixel.
    const depth = steps[0] === 'images' ? steps.length - 1 : steps.length;
    if (depth === 0) {
      const images = value as unknown[];
      if (keyword === 'type') return new HttpError(400, `images is ${kind(value)}, not an array of images: ${SHAPE_HINT}`);
      if (keyword === 'maxItems') return new HttpError(413, `images holds ${images.length} images, more than ${maxImages} in one request: split it`);
      return new HttpError(400, `images is empty: ${SHAPE_HINT}`);
    }
    if (depth === 1) {
      if (keyword === 'type') return new HttpError(400, `${where} is ${kind(value)}, not an array of 784 numbers: ${SHAPE_HINT}`);
      return new HttpError(400, `${where} has ${(value as unknown[]).length} numbers, not 784 (28×28): ${SHAPE_HINT}`);
    }
    return new HttpError(400, `${where} is ${kind(value)}: pixels are whole numbers 0 (background) … 255 (ink), as in the CSV files`);
  };
}

/** A JSON body that predictBody passed, as images. */
export function imagesFromJson(body: unknown): Images {
  const o = body as { pixels?: number[]; images?: number[][] };
  const images = o.pixels ? [o.pixels] : o.images!;
  const pixels = new Uint8Array(images.length * PIXELS);
  images.forEach((image, i) => pixels.set(image, i * PIXELS));
  return { n: images.length, pixels, ids: null };
}

/** JSON found in bytes (a generic type, a form's file): checked by the same schema, then read. */
export type JsonImages = (json: unknown) => Images;

/** A JSON body's text, parsed with JSON.parse's own message on a fault. */
export function jsonFromText(text: string): unknown {
  if (text.trim() === '') throw new HttpError(400, `the JSON body is empty: ${SHAPE_HINT}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON (${(error as Error).message.slice(0, 200)}): ${SHAPE_HINT}`);
  }
}

/**
 * A PNG or JPEG body: decoded (bounded), preprocessed as the CLI does. A picture with no
 * ink (one flat colour) is refused: any label for it would mean nothing.
 */
export function imagesFromPicture(body: Buffer, name = 'the image'): Images {
  try {
    const pre = preprocessImage(decodeImage(body, name));
    if (!pre.ink) throw new HttpError(400, `${name}: the picture is blank (no ink: one flat colour): send a picture of one digit, dark on light or light on dark`);
    return { n: 1, pixels: pre.pixels, ids: null };
  } catch (error) {
    if (error instanceof ImageTooLarge) throw new HttpError(413, error.message);
    if (error instanceof DataError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** A Kaggle-layout CSV body. */
export async function imagesFromCsv(body: Buffer, maxImages = MAX_IMAGES, name = 'the CSV body'): Promise<Images> {
  try {
    const csv = await parseCsvBody(body, maxImages, name);
    if (csv.n === 0) throw new HttpError(400, 'the CSV body has a header but no rows: send one row per image');
    return csv;
  } catch (error) {
    if (error instanceof TooManyImages) throw new HttpError(413, error.message);
    if (error instanceof DataError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** Text has no NUL and few other control bytes: PNG, JPEG and the other image formats all do. */
function looksLikeText(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 4096);
  let control = 0;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) control++;
  }
  return control <= head.length / 100;
}

/**
 * A body whose type says nothing (or a form's one file): PNG or JPEG by their magic
 * numbers; text is JSON when it starts with { or [, else CSV; other bytes go to the image
 * decoder, whose message names formats it knows of (GIF, WebP, …: convert them).
 */
export async function imagesFromBytes(bytes: Buffer, json: JsonImages, maxImages = MAX_IMAGES, name?: string): Promise<Images> {
  if (sniffImage(bytes) !== null || !looksLikeText(bytes)) return imagesFromPicture(bytes, name ?? 'the body');
  const text = bytes.toString('utf8').replace(/^\ufeff/, '');
  const first = /\S/.exec(text)?.[0];
  if (first === '{' || first === '[') return json(jsonFromText(text));
  return imagesFromCsv(bytes, maxImages, name ?? 'the CSV body');
}

/** The one file of a multipart/form-data body (curl -F file=@digit.png, a browser's FormData), by its bytes. */
export async function imagesFromMultipart(body: Buffer, contentType: string, json: JsonImages, maxImages = MAX_IMAGES): Promise<Images> {
  const boundary = boundaryOf(contentType);
  if (boundary === null) throw new HttpError(400, 'the multipart/form-data body has no boundary in its Content-Type: let the client set the header (curl -F file=@digit.png)');
  let part;
  try {
    part = filePart(body, boundary);
  } catch (error) {
    if (error instanceof MultipartError) throw new HttpError(400, `the multipart body ${error.message}`);
    throw error;
  }
  const name = part.filename || 'the uploaded file';
  if (part.bytes.length === 0) throw new HttpError(400, `${name} is empty: send a PNG or JPEG picture, JSON or a CSV`);
  // A file the client calls a picture is decoded as one, so that a wrong one is told so.
  const picture = part.type.startsWith('image/') || /\.(png|jpe?g|gif|webp|bmp|tiff?|heic|avif)$/i.test(part.filename ?? '');
  return picture ? imagesFromPicture(part.bytes, name) : imagesFromBytes(part.bytes, json, maxImages, name);
}

/**
 * A POST /api/predict body of any type, as images: by its type, or by its bytes when the
 * type says nothing. JSON sent as application/json was checked by the route's schema.
 */
export async function imagesFromBody(contentType: string, body: unknown, json: JsonImages, maxImages = MAX_IMAGES): Promise<Images> {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (body === undefined || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new HttpError(400, `the request has no body: POST JSON (${SHAPE_HINT}), a PNG or JPEG image, or a Kaggle-layout CSV`);
  }
  if (type === 'application/json') return imagesFromJson(body);
  const bytes = body as Buffer;
  if (type === 'image/png' || type === 'image/jpeg') return imagesFromPicture(bytes);
  if (type === 'text/csv') return imagesFromCsv(bytes, maxImages);
  if (type === 'multipart/form-data') return imagesFromMultipart(bytes, contentType, json, maxImages);
  if ((GENERIC_TYPES as readonly string[]).includes(type)) return imagesFromBytes(bytes, json, maxImages);
  if (type.startsWith('image/')) throw new HttpError(415, `unsupported picture type "${type.slice(0, 60)}": kconv reads PNG and JPEG; convert it to PNG or JPEG`);
  throw new HttpError(415, `unsupported content type "${type.slice(0, 60)}": POST /api/predict takes ${TYPES_HINT}`);
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

export const BLANK_WARNING = 'the image is blank (every pixel 0, no ink): its label means nothing';

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
      // An image of zeros has a label as any input has one, but it means nothing.
      ...(pixels.every((v) => v === 0) ? { warning: BLANK_WARNING } : {}),
    };
    predictions.push(withMaps ? { ...p, input: Array.from(pixels), maps: predictor.explain(pixels).maps.map(mapRowJson) } : p);
  }
  return { predictions };
}
