import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ConfigError, InvalidStateError } from '../../../common/src/errors.js';
import { logger, type Logger } from '../../../common/src/logger.js';
import type { PairStore } from '../alloc/index.js';
import { bearerAuth, registerBearerAuth, type BearerAuth } from './auth.js';
import { ApiError, errorBodySchema, errorHandler } from './errors.js';
import { registerHealthRoutes } from './health-routes.js';
import { grantedLeaseSchema, publicLeaseSchema, registerPairRoutes } from './pairs-routes.js';

export interface ControlApiOptions {
  store: PairStore;
  /** Bearer token; required on TCP, optional on a Unix socket (its file mode protects it). */
  token?: string;
  /** TCP host, default 127.0.0.1. */
  host?: string;
  /** TCP port, default 0 (any free port; `listen()` says which). */
  port?: number;
  /** Listen on this Unix socket instead of TCP; created with mode 0600. */
  socketPath?: string;
  /** Per-request timeout in ms (default 10000): a slow store never pins a connection. */
  requestTimeoutMs?: number;
  /** Where the API logs (default: the `control.http` logger). */
  log?: Logger;
}

export type ListenAddress = { url: string } | { socketPath: string };

export interface ControlApi {
  /**
   * The Fastify instance: other areas add their routes here (`app.register(plugin)`)
   * before `listen()`. Every route gets bearer auth unless its config says
   * `PUBLIC_ROUTE`, and errors thrown as ApiError become `{ code, message }`.
   */
  readonly app: FastifyInstance;
  /** Every route served (method and path pattern, HEAD left out), in the order registered: docs/http-api.md lists each. */
  readonly routes: ReadonlyArray<{ method: string; url: string }>;
  listen(): Promise<ListenAddress>;
  readonly closed: boolean;
  close(): Promise<void>;
}

const MIN_TOKEN_LENGTH = 16;

/** The internal HTTP API of the control plane (see docs/http-api.md). */
export function createControlApi(options: ControlApiOptions): ControlApi {
  const { store, token, socketPath } = options;
  const log = options.log ?? logger('control.http');
  const host = options.host ?? '127.0.0.1';
  if (socketPath === undefined && token === undefined) {
    throw new ConfigError('token', 'the HTTP API on TCP needs a bearer token (or use a Unix socket)');
  }
  if (token !== undefined && (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))) {
    throw new ConfigError('token', `must be at least ${MIN_TOKEN_LENGTH} characters without whitespace`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)) {
    throw new ConfigError('port', `must be an integer in 0..65535, got ${options.port}`);
  }

  const auth: BearerAuth | null = token === undefined ? null : bearerAuth(token, log);
  const handleError = errorHandler(log);
  const app = Fastify({
    // The cast types the app with FastifyBaseLogger, which route plugins expect.
    loggerInstance: log as FastifyBaseLogger,
    // A malformed or over-long path fails in the router, before any hook: answered here in
    // the API's own shape, and only to a caller with the token (like an unknown route).
    frameworkErrors: (error, request, reply) => {
      try {
        auth?.check(request);
      } catch (refused) {
        handleError(refused, request, reply);
        return;
      }
      handleError(error, request, reply);
    },
    // Per-request logs would be noise at call rates; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    bodyLimit: 16 * 1024,
    // Strict validation: a wrongly typed or unknown field is a 400, not silently coerced or dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  app.addSchema(errorBodySchema);
  app.addSchema(publicLeaseSchema);
  app.addSchema(grantedLeaseSchema);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}` });
  });
  if (auth !== null) registerBearerAuth(app, auth);
  registerHealthRoutes(app, { store });
  registerPairRoutes(app, { store });

  let listening = false;
  let closed = false;
  let closing: Promise<void> | null = null;

  return {
    app,
    routes,
    get closed() {
      return closed;
    },
    async listen(): Promise<ListenAddress> {
      if (closed) throw new InvalidStateError('control API is closed');
      if (listening) throw new InvalidStateError('control API is already listening');
      listening = true;
      if (socketPath !== undefined) {
        await removeStaleSocket(socketPath);
        await app.listen({ path: socketPath });
        await chmod(socketPath, 0o600);
        log.info({ socketPath, auth: token !== undefined }, 'control API listening');
        return { socketPath };
      }
      await app.listen({ host, port: options.port ?? 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new InvalidStateError('control API has no TCP address');
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      log.info({ url }, 'control API listening');
      return { url };
    },
    close(): Promise<void> {
      closed = true;
      closing ??= app.close().then(() => log.debug('control API closed'));
      return closing;
    },
  };
}

/**
 * A socket file left by a crashed process would make listen fail with EADDRINUSE;
 * remove it, but only when nothing answers on it (never steal a live server's socket).
 */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => null);
  if (stat === null) return;
  if (!stat.isSocket()) throw new ConfigError('socketPath', `${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new ApiError(500, 'SOCKET_IN_USE', `${path} is in use by a running server`);
  await unlink(path);
}
