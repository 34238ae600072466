import type { FastifyInstance } from 'fastify';
import type { PairStore } from '../alloc/index.js';
import { PUBLIC_ROUTE } from './auth.js';
import { toApiError } from './errors.js';

/**
 * `GET /healthz`: 200 `{status:'ok'}` when the pair store answers, 503 otherwise.
 * Public (no token) so a supervisor can probe it; it reveals nothing about calls.
 */
export function registerHealthRoutes(app: FastifyInstance, { store }: { store: PairStore }): void {
  app.get(
    '/healthz',
    {
      config: PUBLIC_ROUTE,
      schema: {
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
          503: { $ref: 'ApiError#' },
        },
      },
    },
    async (_request, reply) => {
      try {
        // One cheap store round trip (one key in Redis) proves the store answers.
        await store.get(store.pool.pairIdAt(0));
        return { status: 'ok' };
      } catch (err) {
        const apiError = toApiError(err);
        return reply.code(503).send({ code: apiError.code, message: apiError.message });
      }
    },
  );
}
