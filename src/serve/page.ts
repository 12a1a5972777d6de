import type { FastifyInstance } from 'fastify';
import type { Asset } from './assets.js';
import { route } from './transport.js';

/** The page plugin: its files (assets.ts: read once at start), each at its exact path. */
export async function pageRoutes(app: FastifyInstance, opts: { assets: Map<string, Asset> }): Promise<void> {
  for (const [path, asset] of opts.assets) {
    route(app, path, ['GET'], async (_request, reply) => reply.type(asset.type).send(asset.body));
  }
}
