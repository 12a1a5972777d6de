import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { jsonFromText, TYPES_HINT } from './api.js';
import { HttpError } from './http-error.js';
import { plainFault, type Explain } from './schemas.js';

/**
 * HTTP as kconv serve speaks it, in one place: the body limit (checked on Content-Length
 * before reading, on Expect: 100-continue before the client sends, and while reading a
 * chunked body), which content types are read and how, the security headers, 405 with
 * Allow, and every error (kconv's, fastify's, a JSON schema's) as one line of JSON
 * {"error": …} with its status. The routes (page.ts, health.ts, api-routes.ts, teach.ts)
 * say only what they answer.
 */

export const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // The page loads only its own files; drawings and uploads stay in the page (blob:, data:).
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
};

const JSON_TYPE = 'application/json; charset=utf-8';

const MB = (n: number) => (n >= 1048576 ? `${+(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} kB` : `${n} bytes`);

/** A route's messages for its schemas' faults, by the part of the request they check. */
export interface RouteConfig {
  explain?: Partial<Record<'body' | 'querystring', Explain>>;
}

/** The status and message of any error a request can meet: 4xx for the client's, 500 (said plainly) for kconv's. */
function describe(error: FastifyError | HttpError, request: FastifyRequest | null, maxBody: number): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  if (error.validation && request) {
    const part = error.validationContext === 'body' ? 'body' : 'querystring';
    const explain = (request.routeOptions.config as RouteConfig).explain?.[part];
    const fault = error.validation[0];
    const refusal = explain ? explain(fault, part === 'body' ? request.body : request.query) : plainFault(fault, part);
    return { status: refusal.status, message: refusal.message };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `the request body is larger than the limit of ${MB(maxBody)} (kconv serve --max-body)` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: `unsupported content type: POST /api/predict takes ${TYPES_HINT}` };
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) return { status: error.statusCode, message: error.message };
  return { status: 500, message: `internal error in kconv (a bug: please report it): ${error.message}` };
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

/**
 * The fastify instance with kconv's transport: the routes are added by plugins.
 * `requests()` counts every request answered so far (GET /healthz says it).
 */
export function createApp(opts: { maxBody: number; log?: (line: string) => void }): { app: FastifyInstance; requests: () => number } {
  const { maxBody } = opts;
  let requests = 0;
  const app = Fastify({
    bodyLimit: maxBody,
    logger: false,
    // Slow clients cannot hold a connection for ever; ends in-flight work on close.
    requestTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Schemas check, never change, what was sent: no type coercion ("5" stays a string),
    // no defaults filled in, and an unknown field is refused rather than dropped.
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false } },
  });

  // A client that asks before sending (Expect: 100-continue, as curl does for large bodies)
  // hears at once that a body over the limit will not be taken, and need not send it.
  app.server.on('checkContinue', (req, res) => {
    const length = Number(req.headers['content-length']);
    if (length > maxBody) {
      res.writeHead(413, { 'content-type': JSON_TYPE, connection: 'close', ...SECURITY_HEADERS });
      res.end(JSON.stringify({ error: describe({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' } as FastifyError, null, maxBody).message }));
      return;
    }
    res.writeContinue();
    app.server.emit('request', req, res);
  });

  app.removeContentTypeParser('text/plain');
  // JSON.parse itself, for its messages (fastify's parser drops them). A "__proto__" key
  // becomes an own property, which the schemas refuse as an unknown field like any other.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, jsonFromText(body as string));
    } catch (error) {
      done(error as HttpError, undefined);
    }
  });
  // Pictures as bytes everywhere (POST /api/samples?label=N takes one too); POST /api/predict
  // reads every other type as bytes as well (readsAnyBody).
  app.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async () => {
    requests++;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith('/api/') || request.url === '/healthz') reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { status, message } = describe(error, request, maxBody);
    if (status >= 500 && !(error instanceof HttpError && error.logged)) opts.log?.(`kconv serve: ${request.method} ${request.url.slice(0, 200)}: ${message}\n`);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && !request.raw.readableEnded) {
      await linger(request.raw);
      void reply.header('connection', 'close');
    }
    return reply.code(status).type(JSON_TYPE).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type(JSON_TYPE).send({ error: `no such page or endpoint: ${request.method} ${request.url.slice(0, 200)}` });
  });
  return { app, requests: () => requests };
}

/**
 * In `scope` (a plugin's own), every body but JSON and pictures, and one with no
 * Content-Type, is read whole as bytes, within the body limit, for the route to look at
 * its type, or at its bytes when the type says nothing. Other scopes keep 415 for them.
 */
export function readsAnyBody(scope: FastifyInstance): void {
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Routes `url` for `methods` on `on`, with its schema and the messages for its faults, and
 * answers 405 (with Allow) for the other methods.
 */
export function route(on: FastifyInstance, url: string, methods: Method[], handler: Handler, checks: { schema?: FastifySchema } & RouteConfig = {}): void {
  // A GET has no body to check (fastify refuses a body schema on it).
  const { body: _body, ...noBody } = checks.schema ?? {};
  for (const method of methods) on.route({ method, url, handler: handler as never, schema: method === 'GET' ? noBody : checks.schema, config: { explain: checks.explain } });
  const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
  const others = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !allow.includes(m));
  on.route({
    method: others as never,
    url,
    handler: async (request, reply) => {
      void reply.code(405).header('allow', allow.join(', ')).type(JSON_TYPE);
      return { error: `${request.method} is not allowed on ${url}: use ${allow.filter((m) => m !== 'HEAD').join(' or ')}` };
    },
  });
}
