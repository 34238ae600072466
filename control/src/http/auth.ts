import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LogLimiter } from '../../../common/src/log-limiter.js';
import type { Logger } from '../../../common/src/logger.js';
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

export interface BearerAuth {
  /** Throws a 401 ApiError (and logs the refusal, rate-limited) unless the request carries the token. */
  check(request: FastifyRequest): void;
}

/**
 * `Authorization: Bearer <token>`. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths. A refusal is logged with
 * the remote address and what was wrong — never what was presented — at most
 * once a minute per address, with the count of refusals held back since.
 */
export function bearerAuth(token: string, log: Logger, logIntervalMs = 60_000): BearerAuth {
  const expected = digest(token);
  const limiter = new LogLimiter(logIntervalMs);
  const refuse = (request: FastifyRequest, reason: 'missing bearer token' | 'invalid bearer token'): never => {
    // A Unix socket has no peer address; its file mode says who may connect.
    const remote = request.socket.remoteAddress ?? 'unix socket';
    const suppressed = limiter.take(remote);
    if (suppressed !== null) {
      log.warn({ remote, method: request.method, path: request.url.split('?')[0]?.slice(0, 200), reason, suppressed }, `API request refused: ${reason}`);
    }
    throw new ApiError(401, 'UNAUTHORIZED', reason);
  };
  return {
    check(request) {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
      const presented = match?.[1];
      if (presented === undefined) refuse(request, 'missing bearer token');
      else if (!timingSafeEqual(digest(presented), expected)) refuse(request, 'invalid bearer token');
    },
  };
}

/** Another credential an area of the app accepts in place of the bearer token (the console's session cookie). */
export type AlternativeCredential = (request: FastifyRequest) => boolean;

const alternatives = new WeakMap<FastifyInstance, AlternativeCredential[]>();

/**
 * Lets requests that pass `check` through without the bearer token (registered on
 * the same app instance as registerBearerAuth). The check must be as strong as the
 * token: the console's is a session its login proved the token for.
 */
export function acceptAlternativeCredential(app: FastifyInstance, check: AlternativeCredential): void {
  const list = alternatives.get(app) ?? [];
  list.push(check);
  alternatives.set(app, list);
}

/** Requires the bearer token on every route whose config is not PUBLIC_ROUTE (unknown routes included). */
export function registerBearerAuth(app: FastifyInstance, auth: BearerAuth): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config.tandemPublic === true) return;
    // Only a request without an Authorization header may use another credential: a wrong token is always refused.
    if (request.headers.authorization === undefined && alternatives.get(app)?.some((check) => check(request)) === true) return;
    auth.check(request);
  });
}
