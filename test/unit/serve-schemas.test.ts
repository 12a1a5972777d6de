import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/serve/http-error.js';
import { createApp, route } from '../../src/serve/transport.js';

/**
 * The transport's schema checking (src/serve/transport.ts): fastify's validator checks what
 * was sent and never changes it, and a fault of a schema is one line of JSON {"error": …},
 * in a route's own words when it gives them, else naming the part and the field.
 */
const SCHEMA = { type: 'object', required: ['n'], properties: { n: { type: 'integer' }, list: { type: 'array', items: { type: 'integer' } } }, additionalProperties: false } as const;

async function post(body: unknown, explain = false) {
  const { app } = createApp({ maxBody: 1 << 20 });
  route(app, '/t', ['POST'], async (request) => ({ got: request.body }), {
    schema: { body: SCHEMA, querystring: { type: 'object', properties: { q: { enum: ['1'] } }, additionalProperties: false } },
    explain: explain ? { body: (fault) => new HttpError(400, `bad ${fault.instancePath}`) } : undefined,
  });
  const r = await app.inject({ method: 'POST', url: '/t', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  await app.close();
  return { status: r.statusCode, body: r.json() as { error?: string; got?: unknown } };
}

describe('kconv serve: JSON schemas check, never change, a body', () => {
  it('takes a valid body as sent', async () => {
    expect(await post({ n: 3, list: [1, 2] })).toEqual({ status: 200, body: { got: { n: 3, list: [1, 2] } } });
  });

  it('does not coerce a string to a number, nor a number to an array (fastify would by default)', async () => {
    const asString = await post({ n: '3' });
    expect(asString.status).toBe(400);
    expect(asString.body.error).toMatch(/field n must be integer/);
    expect((await post({ n: 3, list: 5 })).body.error).toMatch(/field list must be array/);
  });

  it('refuses an unknown field instead of dropping it (fastify would drop it by default)', async () => {
    const r = await post({ n: 3, extra: 1 });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/must NOT have additional properties/);
  });

  it('says a fault with no route words as one line naming the part and the field', async () => {
    const r = await post({ n: 3, list: [1, 'x'] });
    expect(r).toEqual({ status: 400, body: { error: "the request's body field list.1 must be integer: see the API's description in docs/serve-api.md" } });
    expect(Object.keys(r.body)).toEqual(['error']);
  });

  it("uses the route's own words when it gives them", async () => {
    expect(await post({ n: 3, list: [1, 'x'] }, true)).toEqual({ status: 400, body: { error: 'bad /list/1' } });
  });
});
