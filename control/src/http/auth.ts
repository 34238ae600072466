import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route anyone who can reach the socket may call (health checks). */
    tandemPublic?: boolean;
  }
}

/** Route config for a route that needs no token. */
export const PUBLIC_ROUTE = { tandemPublic: true } as const;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Requires `Authorization: Bearer <token>` on every non-public route. Both sides are
 * hashed first so the comparison is constant-time whatever the lengths.
 */
export function registerBearerAuth(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config.tandemPublic === true) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const presented = match?.[1];
    if (presented === undefined) throw new ApiError(401, 'UNAUTHORIZED', 'missing bearer token');
    if (!timingSafeEqual(digest(presented), expected)) throw new ApiError(401, 'UNAUTHORIZED', 'invalid bearer token');
  });
}
