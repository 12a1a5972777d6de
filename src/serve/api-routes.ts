import type { FastifyInstance, FastifyRequest } from 'fastify';
import { explainPredictBody, explainPredictQuery, imagesFromBody, imagesFromJson, predictBody, predictResponse, PREDICT_QUERY } from './api.js';
import { HttpError } from './http-error.js';
import type { Models } from './served.js';
import { readsAnyBody, route } from './transport.js';

/**
 * The API plugin: GET /api/model (the summary the page draws), GET /api/model/curves.png,
 * and POST /api/predict, in a scope of its own that reads every body type (readsAnyBody).
 * PUT as well as POST: curl -T digit.png (TorchServe's idiom) sends a PUT.
 */
export async function apiRoutes(app: FastifyInstance, opts: { models: Models; maxImages: number }): Promise<void> {
  const { models, maxImages } = opts;

  route(app, '/api/model', ['GET'], async (_request, reply) => reply.type('application/json; charset=utf-8').send(models.current().modelJson));

  route(app, '/api/model/curves.png', ['GET'], async (_request, reply) => {
    const current = models.current();
    const png = current.curvesPng();
    if (!png) throw new HttpError(404, `${current.firstFile.split(/[\\/]/).pop()} has no training history to draw`);
    return reply.type('image/png').send(png);
  });

  readsAnyBody(app);
  const body = predictBody(maxImages);
  const explainBody = explainPredictBody(maxImages);
  const predict = async (request: FastifyRequest) => {
    const { maps } = request.query as { maps?: string };
    // JSON that came as bytes (a generic type, a form's file) meets the same schema.
    const json = (value: unknown) => {
      const check = request.compileValidationSchema(body);
      if (!check(value)) throw explainBody(check.errors![0], value);
      return imagesFromJson(value);
    };
    const images = await imagesFromBody(request.headers['content-type'] ?? '', request.body, json, maxImages);
    return predictResponse(models.current().predictor, images, maps === '1' || maps === 'true');
  };
  route(app, '/api/predict', ['POST', 'PUT'], predict, {
    schema: { querystring: PREDICT_QUERY, body: { content: { 'application/json': { schema: body } } } },
    explain: { querystring: explainPredictQuery, body: explainBody },
  });
}
