import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PIXELS } from '../data/index.js';
import { HttpError, imagesFromPicture } from './api.js';
import type { FineTuneJob } from './finetune-job.js';
import { SampleError, type SampleStore } from './samples.js';
import type { Models, Route } from './server.js';

/**
 * The teach endpoints of `kconv serve --collect DIR`: samples in (POST /api/samples),
 * their counts, undo and download; the fine-tune, its progress, and switching the served
 * model. No name or path comes from a request: every write goes to DIR/samples.csv or
 * DIR/model.finetuned.json. Without --collect these endpoints answer 404 and write nothing.
 */
export interface TeachOptions {
  store: SampleStore;
  job: FineTuneJob;
}

const SAMPLE_HINT = 'send {"pixels": [784 whole numbers 0–255], "label": 0–9} as JSON, or a PNG or JPEG image with ?label=0…9';
const NO_COLLECT = 'kconv serve was started without --collect DIR: nothing is collected here (start it with --collect DIR to teach it)';

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v.slice(0, 20)}" (a string)` : typeof v === 'object' ? 'an object' : String(v));

/** A digit 0–9, as a JSON number or a query string. */
function labelOf(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 9) return value;
  if (typeof value === 'string' && /^[0-9]$/.test(value)) return Number(value);
  throw new HttpError(400, `${where} is ${value === undefined ? 'missing' : kind(value)}: a label is a digit 0–9 (${SAMPLE_HINT})`);
}

/** The 784 pixels and label of a POST /api/samples body. */
export function sampleFromRequest(request: FastifyRequest): { pixels: Uint8Array; label: number } {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const q = request.query as Record<string, unknown>;
  const body = request.body;
  if (body === undefined || (Buffer.isBuffer(body) && body.length === 0)) throw new HttpError(400, `the request has no body: ${SAMPLE_HINT}`);
  if (type === 'image/png' || type === 'image/jpeg') {
    const extra = Object.keys(q).find((k) => k !== 'label');
    if (extra !== undefined) throw new HttpError(400, `unknown query parameter "${extra.slice(0, 40)}": the only one is label=0…9`);
    const label = labelOf(q.label, '?label');
    // The same decoding and preprocessing as POST /api/predict and kconv predict.
    return { pixels: imagesFromPicture(body as Buffer).pixels, label };
  }
  if (type !== 'application/json') throw new HttpError(415, `unsupported content type "${type.slice(0, 60)}": ${SAMPLE_HINT}`);
  if (Object.keys(q).length) throw new HttpError(400, `a JSON sample takes no query parameters: its label goes in the body (${SAMPLE_HINT})`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `the JSON body is ${kind(body)}: ${SAMPLE_HINT}`);
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => k !== 'pixels' && k !== 'label');
  if (unknown !== undefined) throw new HttpError(400, `the JSON body has an unknown field "${unknown.slice(0, 40)}": ${SAMPLE_HINT}`);
  const label = labelOf(o.label, 'label');
  const raw = o.pixels;
  if (!Array.isArray(raw)) throw new HttpError(400, `pixels is ${raw === undefined ? 'missing' : kind(raw)}: ${SAMPLE_HINT}`);
  if (raw.length !== PIXELS) throw new HttpError(400, `pixels has ${raw.length} numbers, not 784 (28×28): ${SAMPLE_HINT}`);
  const pixels = new Uint8Array(PIXELS);
  for (let j = 0; j < PIXELS; j++) {
    const v = raw[j];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw new HttpError(400, `pixels[${j}] is ${kind(v)}: pixels are whole numbers 0 (background) … 255 (ink)`);
    pixels[j] = v;
  }
  return { pixels, label };
}

/** A store refusal as an HttpError (the status it chose: 409 full or off, 507 disk full, 500). */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SampleError) throw new HttpError(error.status, error.message, error.logged);
    throw error;
  }
}

export function teachRoutes(app: FastifyInstance, route: Route, models: Models, teach: TeachOptions | null, log: (line: string) => void): void {
  const off = async () => {
    throw new HttpError(404, NO_COLLECT);
  };
  if (!teach) {
    route('/api/samples', ['GET', 'POST'], off);
    route('/api/samples/last', ['DELETE'], off);
    route('/api/samples.csv', ['GET'], off);
    route('/api/finetune', ['GET', 'POST'], off);
    route('/api/finetune/events', ['GET'], off);
    route('/api/model/use', ['POST'], off);
    return;
  }
  const { store, job } = teach;

  route('/api/samples', ['GET', 'POST'], async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'GET') return store.summary();
    const { pixels, label } = sampleFromRequest(request);
    const counts = await guarded(() => store.add(pixels, label));
    return reply.code(201).send({ added: label, ...counts });
  });

  route('/api/samples/last', ['DELETE'], async () => guarded(() => store.undo()));

  route('/api/samples.csv', ['GET'], async (_request, reply) => {
    const body = await guarded(() => store.content());
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="samples.csv"').send(body);
  });

  route('/api/finetune', ['GET', 'POST'], async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'GET') {
      if (/text\/event-stream/.test(request.headers.accept ?? '')) return job.stream(reply);
      return job.status();
    }
    const started = job.start(models.current());
    return reply.code(202).send(started);
  });

  route('/api/finetune/events', ['GET'], async (_request, reply) => job.stream(reply));

  route('/api/model/use', ['POST'], async (request: FastifyRequest) => {
    const body = request.body as Record<string, unknown> | undefined;
    const which = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 ? body.model : undefined;
    if (which !== 'finetuned' && which !== 'original') throw new HttpError(400, 'send {"model": "finetuned"} to serve the fine-tuned model, or {"model": "original"} to go back to the weights file\'s');
    if (which === 'original') {
      models.use(models.original());
      log(`kconv serve: now serving the original model ${models.original().file}\n`);
    } else {
      const tuned = job.result();
      if (!tuned) throw new HttpError(409, 'there is no fine-tuned model to use yet: POST /api/finetune first, and wait for it to finish');
      models.use(tuned);
      log(`kconv serve: now serving the fine-tuned model ${tuned.file}\n`);
    }
    return { serving: which };
  });
}
