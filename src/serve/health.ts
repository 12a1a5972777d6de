import type { FastifyInstance } from 'fastify';
import type { Models } from './served.js';
import { route } from './transport.js';

/** The health plugin: GET /healthz, for a supervisor or a load balancer. */
export async function healthRoutes(app: FastifyInstance, opts: { models: Models; collect: boolean; requests: () => number }): Promise<void> {
  route(app, '/healthz', ['GET'], async () => {
    const m = process.memoryUsage();
    return { status: 'ok', model: opts.models.current().modelName, collect: opts.collect, uptimeSeconds: Math.round(process.uptime()), requests: opts.requests(), memory: { rss: m.rss, heapUsed: m.heapUsed } };
  });
}
