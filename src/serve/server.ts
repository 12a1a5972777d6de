import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { single, type Ensemble } from '../model/ensemble.js';
import type { ModelFile } from '../model/weights-file.js';
import { historyOf, renderCurves } from '../show/curves.js';
import { encodePng } from '../show/png.js';
import { GENERIC_TYPES, HttpError, imagesFromBytes, imagesFromCsv, imagesFromJson, imagesFromMultipart, imagesFromPicture, jsonFromText, MAX_IMAGES, mapRowJson, predictResponse, SHAPE_HINT, TYPES_HINT, type Images } from './api.js';
import { loadAssets } from './assets.js';
import { Predictor } from './predictor.js';
import { modelSummary } from './summary.js';
import { watchModel } from './reload.js';
import { teachRoutes, type TeachOptions } from './teach.js';

/**
 * `kconv serve`: the page and the HTTP API, on fastify. Fastify does the routing, the body
 * limit (checked on Content-Length before reading, and while reading a chunked body), the
 * parsing by content type (and 415 for the rest), and closing gracefully; kconv checks
 * what is inside a body (api.ts). Nothing here writes a file: only the teach endpoints
 * (teach.ts), with --collect DIR, write, inside DIR.
 */

export const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

export interface ServeOptions {
  /** One model, or an ensemble (its probabilities the mean of its models', its maps the first model's). */
  model: ModelFile | Ensemble;
  /** The weights file's path (or what --weights named): its name is shown, never its folder. */
  weightsFile: string;
  /** Largest request body in bytes (default 10 MB); larger ones get 413. */
  maxBody?: number;
  /** Most images in one request (default MAX_IMAGES, 10,000); more get 413. */
  maxImages?: number;
  /** Where a line goes when a request meets a bug in kconv (a 500); the CLI passes stderr. */
  log?: (line: string) => void;
  /** Reload the model when its weights file changes (one model only, not an ensemble). */
  watch?: boolean;
  /** --collect DIR: the teach panel and its endpoints (teach.ts); without it nothing is written. */
  teach?: TeachOptions;
}

/** A model as served: its predictor, its summary for the page, its curves (drawn when first asked for). */
export interface Served {
  ensemble: Ensemble;
  /** The weights file (or what --weights named). */
  file: string;
  predictor: Predictor;
  modelJson: string;
  modelName: string;
  firstFile: string;
  curvesPng(): Buffer | null;
}

export function serving(ensemble: Ensemble, weightsFile: string): Served {
  // Filters, maps and curves are the first model's (an ensemble's probabilities are the mean of all).
  const first = ensemble.members[0];
  const firstFile = ensemble.members.length === 1 ? weightsFile : ensemble.files[0];
  const info = modelSummary(ensemble.members.length === 1 ? first : ensemble, weightsFile);
  let curves: Buffer | null | undefined;
  return {
    ensemble,
    file: weightsFile,
    predictor: new Predictor(ensemble.members),
    modelJson: JSON.stringify({ ...info, filters: info.filters ? mapRowJson(info.filters) : null }),
    modelName: ensemble.members.length === 1 ? first.arch : `${ensemble.members.length} models: ${ensemble.members.map((m) => m.arch).join(' | ')}`,
    firstFile,
    curvesPng() {
      if (curves === undefined) {
        try {
          const history = historyOf(first.training, firstFile);
          curves = encodePng(renderCurves({ history, weightsFile: firstFile, arch: first.arch, bestEpoch: first.training?.bestEpoch }).canvas);
        } catch {
          curves = null;
        }
      }
      return curves;
    },
  };
}

const MB = (n: number) => (n >= 1048576 ? `${+(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} kB` : `${n} bytes`);

/** The status and message of any error a request can meet: 4xx for the client's, 500 (said plainly) for kconv's. */
function describe(error: FastifyError | HttpError | Error, maxBody: number): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  const e = error as FastifyError;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `the request body is larger than the limit of ${MB(maxBody)} (kconv serve --max-body)` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: `unsupported content type: POST /api/predict takes ${TYPES_HINT}` };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, message: e.message };
  return { status: 500, message: `internal error in kconv (a bug: please report it): ${e.message}` };
}

/** How much of a refused body is read and dropped, and for how long, before answering. */
const LINGER_BYTES = 64 * 1024 * 1024;
const LINGER_MS = 10_000;
const LINGER_IDLE_MS = 1_000;

/**
 * A lingering close: reads and drops the rest of a body refused as too large, so that a
 * client still sending it then reads the 413. Closing with its data unread would make
 * the kernel reset the connection, and the client would see a reset, not the answer.
 * It stops waiting at the body's end, after LINGER_IDLE_MS without data (a client that
 * waits for the answer), past LINGER_BYTES, or after LINGER_MS.
 */
function linger(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let bytes = 0;
    let idle = setTimeout(() => done(), LINGER_IDLE_MS);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      clearTimeout(idle);
      idle = setTimeout(done, LINGER_IDLE_MS);
      if (bytes > LINGER_BYTES) done();
    };
    const timer = setTimeout(done, LINGER_MS);
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    req.resume();
  });
}

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // The page loads only its own files; drawings and uploads stay in the page (blob:, data:).
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
};

/** Builds the server (not yet listening). */
export function buildServer(opts: ServeOptions): FastifyInstance {
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
  const maxImages = opts.maxImages ?? MAX_IMAGES;
  // What is served: replaced whole (never changed in place) when the weights file changes
  // or the user switches to a fine-tuned model, so a request sees one model from start to end.
  let current = serving('members' in opts.model ? opts.model : single(opts.model, opts.weightsFile), opts.weightsFile);
  const assets = loadAssets();
  let served = 0;

  const app = Fastify({
    bodyLimit: maxBody,
    logger: false,
    // Slow clients cannot hold a connection for ever; ends in-flight work on close.
    requestTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // A client that asks before sending (Expect: 100-continue, as curl does for large bodies)
  // hears at once that a body over the limit will not be taken, and need not send it.
  app.server.on('checkContinue', (req, res) => {
    const length = Number(req.headers['content-length']);
    if (length > maxBody) {
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close', ...SECURITY_HEADERS });
      res.end(JSON.stringify({ error: describe({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' } as FastifyError, maxBody).message }));
      return;
    }
    res.writeContinue();
    app.server.emit('request', req, res);
  });

  app.removeContentTypeParser('text/plain');
  // JSON.parse itself, for its messages (fastify's parser drops them). A "__proto__" key
  // becomes an own property, which api.ts refuses as an unknown field like any other.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, jsonFromText(body as string));
    } catch (error) {
      done(error as HttpError, undefined);
    }
  });

  // Pictures as bytes everywhere (POST /api/samples?label=N takes one too); the predict
  // route's own scope below reads every other type as bytes as well.
  app.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async () => {
    served++;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith('/api/') || request.url === '/healthz') reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { status, message } = describe(error, maxBody);
    if (status >= 500 && !(error instanceof HttpError && error.logged)) opts.log?.(`kconv serve: ${request.method} ${request.url.slice(0, 200)}: ${message}\n`);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && !request.raw.readableEnded) {
      await linger(request.raw);
      void reply.header('connection', 'close');
    }
    return reply.code(status).type('application/json; charset=utf-8').send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('application/json; charset=utf-8').send({ error: `no such page or endpoint: ${request.method} ${request.url.slice(0, 200)}` });
  });

  /** Routes `url` for `methods` (on `on`, a scope, when given), and answers 405 (with Allow) for the others. */
  const route: Route = (url, methods, handler, on = app) => {
    for (const method of methods) on.route({ method, url, handler: handler as never });
    const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
    const others = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !allow.includes(m));
    app.route({
      method: others as never,
      url,
      handler: async (request, reply) => {
        void reply.code(405).header('allow', allow.join(', ')).type('application/json; charset=utf-8');
        return { error: `${request.method} is not allowed on ${url}: use ${allow.filter((m) => m !== 'HEAD').join(' or ')}` };
      },
    });
  };

  for (const [path, asset] of assets) {
    route(path, ['GET'], async (_request, reply) => reply.type(asset.type).send(asset.body));
  }

  route('/healthz', ['GET'], async () => {
    const m = process.memoryUsage();
    return { status: 'ok', model: current.modelName, collect: opts.teach != null, uptimeSeconds: Math.round(process.uptime()), requests: served, memory: { rss: m.rss, heapUsed: m.heapUsed } };
  });

  route('/api/model', ['GET'], async (_request, reply) => reply.type('application/json; charset=utf-8').send(current.modelJson));

  route('/api/model/curves.png', ['GET'], async (_request, reply) => {
    const png = current.curvesPng();
    if (!png) throw new HttpError(404, `${current.firstFile.split(/[\\/]/).pop()} has no training history to draw`);
    return reply.type('image/png').send(png);
  });

  // POST /api/predict in a scope of its own, where every body but JSON (and one with no
  // Content-Type) is read whole, within the body limit: the route looks at its type, and at
  // its bytes when the type says nothing. Other routes keep fastify's 415 for unknown types.
  // PUT as well as POST: curl -T digit.png (TorchServe's idiom) sends a PUT.
  app.register(async (scope) => {
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    route('/api/predict', ['POST', 'PUT'], predictRoute, scope);
  });
  async function predictRoute(request: FastifyRequest) {
    const q = request.query as Record<string, unknown>;
    const unknownParam = Object.keys(q).find((k) => k !== 'maps');
    if (unknownParam !== undefined) throw new HttpError(400, `unknown query parameter "${unknownParam.slice(0, 40)}": the only one is maps=1`);
    const maps = q.maps === undefined ? false : q.maps === '1' || q.maps === 'true' ? true : q.maps === '0' || q.maps === 'false' ? false : null;
    if (maps === null) throw new HttpError(400, 'maps must be 1 or 0');
    const contentType = request.headers['content-type'] ?? '';
    const type = contentType.split(';')[0].trim().toLowerCase();
    const body = request.body;
    if (body === undefined || (Buffer.isBuffer(body) && body.length === 0)) {
      throw new HttpError(400, `the request has no body: POST JSON (${SHAPE_HINT}), a PNG or JPEG image, or a Kaggle-layout CSV`);
    }
    let images: Images;
    if (type === 'application/json') images = imagesFromJson(body, maxImages);
    else if (type === 'image/png' || type === 'image/jpeg') images = imagesFromPicture(body as Buffer);
    else if (type === 'text/csv') images = await imagesFromCsv(body as Buffer, maxImages);
    else if (type === 'multipart/form-data') images = await imagesFromMultipart(body as Buffer, contentType, maxImages);
    else if ((GENERIC_TYPES as readonly string[]).includes(type)) images = await imagesFromBytes(body as Buffer, maxImages);
    else if (type.startsWith('image/')) throw new HttpError(415, `unsupported picture type "${type.slice(0, 60)}": kconv reads PNG and JPEG; convert it to PNG or JPEG`);
    else throw new HttpError(415, `unsupported content type "${type.slice(0, 60)}": POST /api/predict takes ${TYPES_HINT}`);
    return predictResponse(current.predictor, images, maps);
  }

  // The weights file's model, and what is served: the same, or a fine-tuned one the user accepted.
  let original = current;
  const models: Models = {
    current: () => current,
    original: () => original,
    use(s) {
      current = s;
    },
  };
  if (opts.watch && current.ensemble.members.length === 1) {
    const watcher = watchModel(opts.weightsFile, {
      log: opts.log ?? (() => undefined),
      onModel(model) {
        const next = serving(single(model, opts.weightsFile), opts.weightsFile);
        if (current === original) current = next;
        original = next;
      },
    });
    app.addHook('onClose', async () => watcher.close());
  }
  teachRoutes(app, route, models, opts.teach ?? null, opts.log ?? (() => undefined));
  // A fine-tune in flight stops (writing nothing) and its event streams end, so that closing
  // does not wait on them; then the samples file is closed and its lock released.
  app.addHook('preClose', async () => {
    await opts.teach?.job.stop();
  });
  app.addHook('onClose', async () => {
    await opts.teach?.store.close();
  });

  return app;
}

/** Routes `url` for `methods`, and answers 405 (with Allow) for the others. */
export type Route = (url: string, methods: ('GET' | 'POST' | 'PUT' | 'DELETE')[], handler: (request: FastifyRequest, reply: FastifyReply) => unknown, on?: FastifyInstance) => void;

/** The model served now, and the weights file's (they differ once a fine-tuned model is accepted). */
export interface Models {
  current(): Served;
  original(): Served;
  use(served: Served): void;
}
