import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { imagesFromPicture } from './api.js';
import type { FineTuneJob } from './finetune-job.js';
import { HttpError } from './http-error.js';
import { SampleError, type SampleStore } from './samples.js';
import { at, IMAGE_SCHEMA, type Explain } from './schemas.js';
import type { Models } from './served.js';
import { route } from './transport.js';

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

/** A JSON sample, {"pixels": [784], "label": 0–9 (or "0"–"9")}: checked in the order of allOf: fields, label, pixels. */
const SAMPLE_BODY = {
  type: 'object',
  allOf: [
    { type: 'object', properties: { pixels: true, label: true }, additionalProperties: false },
    { type: 'object', required: ['label'], properties: { label: { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'string', pattern: '^[0-9]$' }] } } },
    { type: 'object', required: ['pixels'], properties: { pixels: IMAGE_SCHEMA } },
  ],
} as const;

const explainSample: Explain = (fault, body) => {
  const { where, value, steps } = at(fault, body);
  const missing = fault.keyword === 'required' ? String(fault.params.missingProperty) : null;
  const field = missing ?? steps[0];
  if (field === undefined) {
    if (fault.keyword === 'type') return new HttpError(400, `the JSON body is ${kind(body)}: ${SAMPLE_HINT}`);
    return new HttpError(400, `the JSON body has an unknown field "${String(fault.params.additionalProperty).slice(0, 40)}": ${SAMPLE_HINT}`);
  }
  if (field === 'label') return labelFault('label', missing ? undefined : value);
  if (missing || fault.keyword === 'type' && steps.length === 1) return new HttpError(400, `pixels is ${missing ? 'missing' : kind(value)}: ${SAMPLE_HINT}`);
  if (steps.length === 1) return new HttpError(400, `pixels has ${(value as unknown[]).length} numbers, not 784 (28×28): ${SAMPLE_HINT}`);
  return new HttpError(400, `${where} is ${kind(value)}: pixels are whole numbers 0 (background) … 255 (ink)`);
};

const labelFault = (where: string, value: unknown) =>
  new HttpError(400, `${where} is ${value === undefined ? 'missing' : kind(value)}: a label is a digit 0–9 (${SAMPLE_HINT})`);

/** The 784 pixels and label of a POST /api/samples body (JSON checked by SAMPLE_BODY already). */
function sampleFromRequest(request: FastifyRequest): { pixels: Uint8Array; label: number } {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const q = request.query as Record<string, unknown>;
  const body = request.body;
  if (body === undefined || (Buffer.isBuffer(body) && body.length === 0)) throw new HttpError(400, `the request has no body: ${SAMPLE_HINT}`);
  if (type === 'image/png' || type === 'image/jpeg') {
    const extra = Object.keys(q).find((k) => k !== 'label');
    if (extra !== undefined) throw new HttpError(400, `unknown query parameter "${extra.slice(0, 40)}": the only one is label=0…9`);
    if (typeof q.label !== 'string' || !/^[0-9]$/.test(q.label)) throw labelFault('?label', q.label);
    // The same decoding and preprocessing as POST /api/predict and kconv predict.
    return { pixels: imagesFromPicture(body as Buffer).pixels, label: Number(q.label) };
  }
  if (type !== 'application/json') throw new HttpError(415, `unsupported content type "${type.slice(0, 60)}": ${SAMPLE_HINT}`);
  if (Object.keys(q).length) throw new HttpError(400, `a JSON sample takes no query parameters: its label goes in the body (${SAMPLE_HINT})`);
  const o = body as { pixels: number[]; label: number | string };
  return { pixels: Uint8Array.from(o.pixels), label: Number(o.label) };
}

/** {"model": "finetuned"} or {"model": "original"}, from any body (none, or not JSON, fails it too). */
const USE_BODY = { type: 'object', required: ['model'], properties: { model: { enum: ['finetuned', 'original'] } }, additionalProperties: false } as const;
const explainUse: Explain = () => new HttpError(400, 'send {"model": "finetuned"} to serve the fine-tuned model, or {"model": "original"} to go back to the weights file\'s');

/** A store refusal as an HttpError (the status it chose: 409 full or off, 507 disk full, 500). */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SampleError) throw new HttpError(error.status, error.message, error.logged);
    throw error;
  }
}

/** The teach plugin: its endpoints, answering 404 when kconv serve was started without --collect. */
export async function teachRoutes(app: FastifyInstance, opts: { models: Models; teach: TeachOptions | null; log: (line: string) => void }): Promise<void> {
  const { models, teach, log } = opts;
  const off = async () => {
    throw new HttpError(404, NO_COLLECT);
  };
  if (!teach) {
    route(app, '/api/samples', ['GET', 'POST'], off);
    route(app, '/api/samples/last', ['DELETE'], off);
    route(app, '/api/samples.csv', ['GET'], off);
    route(app, '/api/finetune', ['GET', 'POST'], off);
    route(app, '/api/finetune/events', ['GET'], off);
    route(app, '/api/model/use', ['POST'], off);
    return;
  }
  const { store, job } = teach;

  route(app, '/api/samples', ['GET', 'POST'], async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'GET') return store.summary();
    const { pixels, label } = sampleFromRequest(request);
    const counts = await guarded(() => store.add(pixels, label));
    return reply.code(201).send({ added: label, ...counts });
  }, { schema: { body: { content: { 'application/json': { schema: SAMPLE_BODY } } } }, explain: { body: explainSample } });

  route(app, '/api/samples/last', ['DELETE'], async () => guarded(() => store.undo()));

  route(app, '/api/samples.csv', ['GET'], async (_request, reply) => {
    const body = await guarded(() => store.content());
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="samples.csv"').send(body);
  });

  route(app, '/api/finetune', ['GET', 'POST'], async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'GET') {
      if (/text\/event-stream/.test(request.headers.accept ?? '')) return job.stream(reply);
      return job.status();
    }
    const started = job.start(models.current());
    return reply.code(202).send(started);
  });

  route(app, '/api/finetune/events', ['GET'], async (_request, reply) => job.stream(reply));

  route(app, '/api/model/use', ['POST'], async (request: FastifyRequest) => {
    const which = (request.body as { model: 'finetuned' | 'original' }).model;
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
  }, { schema: { body: USE_BODY }, explain: { body: explainUse } });
}
