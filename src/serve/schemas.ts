import type { FastifySchemaValidationError } from 'fastify';
import { PIXELS } from '../data/index.js';
import { HttpError } from './http-error.js';

/**
 * What the routes' JSON schemas share: one image's 784 pixels, and turning the first fault
 * fastify's validator (ajv) finds into the API's own one-line message. A route gives its
 * messages as an Explain (route config `explain`, by part: body, querystring); transport.ts
 * calls it. Schemas are checked in the order their `allOf` lists, so that a body with two
 * faults is told of the same one as before schemas (unknown field, then count, then values).
 */

/** One image: 784 whole numbers 0 (background) … 255 (ink), row by row. */
export const IMAGE_SCHEMA = { type: 'array', minItems: PIXELS, maxItems: PIXELS, items: { type: 'integer', minimum: 0, maximum: 255 } } as const;

/** A route's messages for a fault of its schema: `data` is the body or the query string the fault is in. */
export type Explain = (fault: FastifySchemaValidationError, data: unknown) => HttpError;

/** Where a fault is: the JSON path's steps ("/images/3/17" → ["images", "3", "17"]). */
export const stepsOf = (fault: FastifySchemaValidationError) =>
  fault.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/** The value at a fault's path, and its name as a message says it ("images[3][17]"). */
export function at(fault: FastifySchemaValidationError, data: unknown): { where: string; value: unknown; steps: string[] } {
  const steps = stepsOf(fault);
  let value = data;
  for (const s of steps) value = (value as Record<string, unknown> | undefined)?.[s];
  return { where: steps.length ? steps[0] + steps.slice(1).map((s) => `[${s}]`).join('') : 'the JSON body', value, steps };
}

/** A fault a route has no words for (a bug, or a part it did not expect): named by part and path, in ajv's words. */
export function plainFault(fault: FastifySchemaValidationError, part: string): HttpError {
  const path = stepsOf(fault).join('.');
  return new HttpError(400, `the request's ${part}${path ? ` field ${path}` : ''} ${fault.message ?? 'is not valid'}: see the API's description in docs/serve-api.md`);
}
