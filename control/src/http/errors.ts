import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidStateError } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
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
    const message = (fastifyError?.code !== undefined ? FRAMEWORK_MESSAGES[fastifyError.code] : undefined) ?? fastifyError?.message ?? 'invalid request';
    return new ApiError(status, CODE_OF_STATUS[status] ?? 'BAD_REQUEST', message);
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

/** The code of a 4xx that Fastify or Node raised (body too large, bad content type, …): named after its status. */
const CODE_OF_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE',
};

/** Fastify's own messages that echo the whole request path back: said without it. */
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than 100 characters',
  FST_ERR_BAD_URL: 'the path is not a valid URL (bad percent-encoding)',
};

export function errorHandler(log: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const apiError = toApiError(err);
    if (apiError.statusCode >= 500) {
      log.warn({ method: request.method, route: routeOf(request), code: apiError.code, err: err instanceof Error ? err.message : String(err) }, 'request failed');
    }
    void reply.code(apiError.statusCode).send({ code: apiError.code, message: apiError.message } satisfies ApiErrorBody);
  };
}

/** The matched route, or null for a request that failed in the router (it has no route context to ask). */
function routeOf(request: FastifyRequest): string | null {
  try {
    return request.routeOptions.url ?? null;
  } catch {
    return null;
  }
}
