/**
 * ARI over HTTP: authentication on every request, the generated Swagger
 * description under /ari/api-docs/, routing by the operation table, and the
 * event WebSocket upgrade at /ari/events. Error shapes are Asterisk's (s6):
 * unknown path → 404 "Resource not found", wrong method → 405 "Invalid method"
 * with Allow, bad credentials → 401 + WWW-Authenticate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { logger } from '../../../common/src/logger.js';
import { errorMessage } from '../../../common/src/errors.js';
import { AUTH_REALM_HEADER, isAuthorized, type AriCredentials } from './auth.js';
import type { AsteriskCore } from './core.js';
import {
  apiDeclaration,
  compilePath,
  isResourceName,
  matchPath,
  operations,
  resourceListing,
  type CompiledPath,
  type OperationSpec,
} from './description.js';
import type { DeleteFaultPlan, DeleteTarget } from './delete-faults.js';
import { BodyError, parseParams } from './params.js';
import { ASTERISK_SERVER, fail, ok, writeReply, type Reply } from './reply.js';
import type { AppRegistry } from './websocket.js';

const log = logger('simulator.ari.http');

const MAX_BODY_BYTES = 64 * 1024;
/** With events-first order, how long the response waits after the events were sent. */
const EVENTS_FIRST_RESPONSE_DELAY_MS = 3;

interface Route {
  readonly compiled: CompiledPath;
  readonly literalCount: number;
  readonly ops: OperationSpec[];
}

function buildRoutes(): Route[] {
  const byPath = new Map<string, Route>();
  for (const op of operations) {
    let route = byPath.get(op.path);
    if (!route) {
      const compiled = compilePath(op.path);
      route = { compiled, literalCount: compiled.segments.filter((s) => 'literal' in s).length, ops: [] };
      byPath.set(op.path, route);
    }
    route.ops.push(op);
  }
  // A literal segment wins over a {param} (`/channels/externalMedia` before `/channels/{channelId}`).
  return [...byPath.values()].sort((a, b) => b.literalCount - a.literalCount);
}

export interface RouterDeps {
  readonly core: AsteriskCore;
  readonly apps: AppRegistry;
  readonly credentials: AriCredentials;
  /** Pending timers (delayed responses), cleared on close. */
  readonly timers: Set<NodeJS.Timeout>;
  /**
   * A media WebSocket was handed to its channel: Asterisk's HTTP server ends that session
   * (res_http_websocket drops the stream from it), so it no longer counts against sessionlimit.
   */
  readonly releaseSession: (socket: Duplex) => void;
  /** Slow and unanswered DELETEs (a test's knob). */
  readonly deleteFaults: DeleteFaultPlan;
}

export class AriRouter {
  readonly #routes = buildRoutes();
  readonly #deps: RouterDeps;

  constructor(deps: RouterDeps) {
    this.#deps = deps;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) {
        writeReply(res, fail(400, 'Request body too large'));
        return;
      }
      this.#dispatch(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, 'request handler failed');
        if (!res.headersSent) writeReply(res, fail(500, 'An internal error prevented this request from being handled'));
      });
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string, body: object, extra = ''): void => {
      const payload = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nServer: ${ASTERISK_SERVER}\r\n${extra}Content-type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    };
    if (url.pathname.startsWith('/media/')) {
      // chan_websocket's URI asks no credentials: the unguessable connection id is the key.
      const refusal = this.#deps.core.acceptMedia(req, socket, head, url.pathname.slice('/media/'.length));
      if (refusal) socket.end(httpError(refusal.status, refusal.reason, refusal.text));
      else this.#deps.releaseSession(socket);
      return;
    }
    if (url.pathname !== '/ari/events') {
      refuse(404, 'Not Found', { message: 'Resource not found' });
      return;
    }
    if (!isAuthorized(req.headers, url.searchParams, this.#deps.credentials)) {
      refuse(401, 'Unauthorized', { message: 'Authentication required' }, `WWW-Authenticate: ${AUTH_REALM_HEADER}\r\n`);
      return;
    }
    const apps = url.searchParams
      .getAll('app')
      .flatMap((a) => a.split(','))
      .filter((a) => a.length > 0);
    if (apps.length === 0) {
      refuse(400, 'Bad Request', { message: 'Missing parameter app' });
      return;
    }
    this.#deps.apps.accept(req, socket, head, apps);
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, rawBody: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/media/')) {
      // A plain request to chan_websocket's URI: "426 Upgrade Required" from the websocket layer.
      res.socket?.end(httpError(426, 'Upgrade Required', ''));
      return;
    }
    if (!url.pathname.startsWith('/ari/') && url.pathname !== '/ari') {
      writeReply(res, fail(404, 'Resource not found'));
      return;
    }
    if (!isAuthorized(req.headers, url.searchParams, this.#deps.credentials)) {
      writeReply(res, {
        ...fail(401, 'Authentication required'),
        headers: { 'WWW-Authenticate': AUTH_REALM_HEADER },
      });
      return;
    }
    const segments = url.pathname
      .slice('/ari'.length)
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => decodeURIComponent(s));
    const method = (req.method ?? 'GET').toUpperCase();

    if (segments[0] === 'api-docs') {
      writeReply(res, this.#docs(segments, method, req));
      return;
    }

    let route: Route | undefined;
    let pathParams: Record<string, string> | null = null;
    for (const r of this.#routes) {
      pathParams = matchPath(r.compiled, segments);
      if (pathParams) {
        route = r;
        break;
      }
    }
    if (!route || !pathParams) {
      writeReply(res, fail(404, 'Resource not found'));
      return;
    }
    const op = route.ops.find((o) => o.httpMethod === method);
    if (!op) {
      writeReply(res, {
        ...fail(405, 'Invalid method'),
        headers: { Allow: ['OPTIONS', ...route.ops.map((o) => o.httpMethod)].join(',') },
      });
      return;
    }
    if (op.id === 'events.eventWebsocket') {
      writeReply(res, fail(400, 'WebSocket upgrade required'));
      return;
    }
    let params;
    try {
      params = parseParams(pathParams, url.searchParams, rawBody);
    } catch (err) {
      if (err instanceof BodyError) {
        writeReply(res, fail(400, err.message));
        return;
      }
      throw err;
    }
    const target = deleteTarget(op.id, pathParams);
    const fate = target ? this.#deps.deleteFaults.fate(target) : null;
    if (fate) {
      if (fate.outcome === 'drop-kept') return; // never acted on, never answered: the client times out
      if (fate.delayMs > 0) await this.#sleep(fate.delayMs);
      if (this.#deps.core.closed) return;
    }
    const handler = this.#deps.core.handlers[op.id];
    // Events a handler sends synchronously are held until its response is decided.
    const { result, flush } = this.#deps.apps.capture(() => handler(params));
    const reply = await result;
    if (fate?.outcome === 'drop-deleted' || res.destroyed) {
      // Done, and its events sent, but the answer is lost (or the client gave up waiting
      // for a delayed one): what was done stays done, and the client cannot tell.
      flush();
      reply.afterResponse?.();
      return;
    }
    if (reply.eventsFirst) {
      flush();
      const t = setTimeout(() => {
        this.#deps.timers.delete(t);
        writeReply(res, reply);
        reply.afterResponse?.();
      }, EVENTS_FIRST_RESPONSE_DELAY_MS);
      this.#deps.timers.add(t);
      return;
    }
    writeReply(res, reply);
    // Recorded: the events follow the response (by about 1 ms). They go out right
    // after it, synchronously, so events of consecutive requests never overtake
    // each other (Asterisk keeps a channel's events in the order of its actions).
    flush();
    reply.afterResponse?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#deps.timers.delete(t);
        resolve();
      }, ms);
      this.#deps.timers.add(t);
    });
  }

  #docs(segments: readonly string[], method: string, req: IncomingMessage): Reply {
    if (method !== 'GET') return fail(405, 'Invalid method');
    // Asterisk rewrites basePath from the request's Host header.
    const basePath = `http://${req.headers.host ?? 'localhost'}/ari`;
    const file = segments[1];
    if (segments.length !== 2 || file === undefined || !file.endsWith('.json')) return fail(404, 'Resource not found');
    const name = file.slice(0, -'.json'.length);
    if (name === 'resources') return ok(resourceListing(basePath));
    if (isResourceName(name)) return ok(apiDeclaration(name, basePath));
    return fail(404, 'Resource not found');
  }
}

function deleteTarget(operation: string, path: Readonly<Record<string, string>>): DeleteTarget | null {
  if (operation === 'channels.hangup' && path['channelId'] !== undefined) return { kind: 'channel', id: path['channelId'] };
  if (operation === 'bridges.destroy' && path['bridgeId'] !== undefined) return { kind: 'bridge', id: path['bridgeId'] };
  return null;
}

/** An error as Asterisk's ast_http_error renders it (an HTML page), as a raw HTTP/1.1 response that closes the connection. */
function httpError(status: number, reason: string, text: string): string {
  const body =
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n' +
    `<html><head>\r\n<title>${status} ${reason}</title>\r\n</head><body>\r\n<h1>${reason}</h1>\r\n<p>${text}</p>\r\n` +
    '<hr />\r\n<address>Asterisk Server</address>\r\n</body></html>\r\n';
  return (
    `HTTP/1.1 ${status} ${reason}\r\nServer: ${ASTERISK_SERVER}\r\nContent-type: text/html\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
