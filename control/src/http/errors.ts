import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidStateError } from '../../../engine/src/common/errors.js';
import type { Logger } from '../../../engine/src/common/logger.js';
import { PoolExhaustedError, StoreUnavailableError } from '../alloc/index.js';

/** The one error body of the API: a stable `code` to branch on and a human message. */
export interface ApiErrorBody {
  code: string;
  message: string;
}

export const errorBodySchema = {
  $id: 'ApiError',
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/** An error a route throws on purpose; the error handler turns it into its status and body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Maps anything a route threw to a status and `{ code, message }`; never leaks internals on a 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PoolExhaustedError) return new ApiError(503, err.code, err.message);
  if (err instanceof StoreUnavailableError) return new ApiError(503, err.code, err.message);
  if (err instanceof InvalidStateError) return new ApiError(503, 'SHUTTING_DOWN', 'the control plane is shutting down');
  const fastifyError = err as Partial<FastifyError> | null;
  if (fastifyError?.validation !== undefined) {
    return new ApiError(400, 'BAD_REQUEST', fastifyError.message ?? 'invalid request');
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, 'BAD_REQUEST', fastifyError?.message ?? 'invalid request');
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

export function errorHandler(log: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const apiError = toApiError(err);
    if (apiError.statusCode >= 500) {
      log.warn({ method: request.method, route: request.routeOptions.url, code: apiError.code, err: err instanceof Error ? err.message : String(err) }, 'request failed');
    }
    void reply.code(apiError.statusCode).send({ code: apiError.code, message: apiError.message } satisfies ApiErrorBody);
  };
}
