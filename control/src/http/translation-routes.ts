import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../../../common/src/errors.js';
import type { Direction } from '../../../engine/src/index.js';
import type { PairTranslationInput } from '../../../engine/src/index.js';
import { EngineError } from '../../../engine/src/index.js';
import { ApiError } from './errors.js';

/** The part of the media engine these routes drive. */
export interface TranslationControl {
  setTranslation(pairId: string, translation: PairTranslationInput | null): Promise<void>;
  clearPlayback(pairId: string, direction?: Direction): Promise<number>;
}

const pairIdParams = {
  type: 'object',
  required: ['pairId'],
  properties: { pairId: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/** An engine or settings error as the API's status and code. */
function toRouteError(err: unknown): unknown {
  if (err instanceof ConfigError) return new ApiError(400, 'BAD_TRANSLATION', err.message);
  if (err instanceof EngineError && err.code === 'UNKNOWN_PAIR') return new ApiError(404, 'UNKNOWN_PAIR', err.message);
  return err;
}

/**
 * Per-pair translation while a call runs: new languages or provider
 * (`PUT /v1/pairs/:pairId/translation`, body = the pair's translation settings,
 * or null for a transparent duplex), and `clear` — drop the translated audio
 * queued for a listener (`POST /v1/pairs/:pairId/clear`, optional `direction`).
 */
export function registerTranslationRoutes(app: FastifyInstance, options: { engine: TranslationControl }): void {
  app.put<{ Params: { pairId: string }; Body: PairTranslationInput | null }>(
    '/v1/pairs/:pairId/translation',
    { schema: { params: pairIdParams, body: { type: ['object', 'null'] } } },
    async (request, reply) => {
      try {
        await options.engine.setTranslation(request.params.pairId, request.body ?? null);
      } catch (err) {
        throw toRouteError(err);
      }
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { pairId: string }; Body: { direction?: Direction } | null }>(
    '/v1/pairs/:pairId/clear',
    {
      schema: {
        params: pairIdParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { direction: { type: 'string', enum: ['A->B', 'B->A'] } } },
      },
    },
    async (request) => {
      const direction = request.body?.direction;
      try {
        const cleared = await options.engine.clearPlayback(request.params.pairId, direction);
        return { pairId: request.params.pairId, cleared };
      } catch (err) {
        throw toRouteError(err);
      }
    },
  );
}
