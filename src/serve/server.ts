import type { FastifyInstance } from 'fastify';
import { single, type Ensemble } from '../model/ensemble.js';
import type { ModelFile } from '../model/weights-file.js';
import { MAX_IMAGES } from './api.js';
import { apiRoutes } from './api-routes.js';
import { loadAssets } from './assets.js';
import { healthRoutes } from './health.js';
import { pageRoutes } from './page.js';
import { servedModels } from './served.js';
import { teachRoutes, type TeachOptions } from './teach.js';
import { createApp, DEFAULT_MAX_BODY } from './transport.js';

/**
 * `kconv serve`: the page and the HTTP API, on fastify, as plugins: the page (page.ts),
 * GET /healthz (health.ts), the API (api-routes.ts) and the teach endpoints (teach.ts), on
 * one transport (transport.ts: body limit, content types, errors as one line of JSON).
 * Nothing here writes a file: only the teach endpoints, with --collect DIR, write, inside DIR.
 */

export { DEFAULT_MAX_BODY };

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

/** Builds the server (not yet listening). */
export function buildServer(opts: ServeOptions): FastifyInstance {
  const log = opts.log ?? (() => undefined);
  const assets = loadAssets();
  const { app, requests } = createApp({ maxBody: opts.maxBody ?? DEFAULT_MAX_BODY, log: opts.log });
  const ensemble = 'members' in opts.model ? opts.model : single(opts.model, opts.weightsFile);
  const models = servedModels(ensemble, opts.weightsFile, opts.watch ?? false, log);
  const teach = opts.teach ?? null;
  app.register(pageRoutes, { assets });
  app.register(healthRoutes, { models, collect: teach !== null, requests });
  app.register(apiRoutes, { models, maxImages: opts.maxImages ?? MAX_IMAGES });
  app.register(teachRoutes, { models, teach, log });
  // A fine-tune in flight stops (writing nothing) and its event streams end, so that closing
  // does not wait on them; then the samples file is closed and its lock released.
  app.addHook('preClose', async () => {
    await teach?.job.stop();
  });
  app.addHook('onClose', async () => {
    models.close();
    await teach?.store.close();
  });
  return app;
}
