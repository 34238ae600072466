import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '../../common/src/errors.js';
import { latencyHistogram } from '../media-load/index.js';

/** What the ARI server saw: the numbers Asterisk's http.conf `sessionlimit` is about. */
export interface AriLoadSnapshot {
  /** HTTP requests received in total (the event WebSocket upgrade is not one). */
  requests: number;
  /**
   * Most requests outstanding at once as the clients see them (request sent →
   * response headers back). This is the concurrency Tandem's ARI bound limits.
   */
  maxInflightRequests: number;
  /**
   * Most requests open at once inside the server (parsed → response finished,
   * held ones included). The simulator answers synchronously, so this stays
   * near 1 unless requests are held by the session limit.
   */
  maxInflightServer: number;
  /** Most TCP connections open at once: Asterisk counts sessions, idle keep-alive ones too. */
  maxConnections: number;
  inflightRequests: number;
  connections: number;
  /** Request sent → response headers back, as the clients saw it (ms). */
  requestP50Ms: number | null;
  requestP99Ms: number | null;
}

/** One request the ARI server answered, timed inside the server (parsed → response finished). */
export interface ServedRequest {
  method: string;
  /** Path and query as sent (`/ari/bridges/brg_x_A/addChannel?channel=…`). */
  url: string;
  status: number;
  /** performance.now() when the request's headers were parsed. */
  startedAt: number;
  /** performance.now() when its response was handed to the socket. */
  finishedAt: number;
}

export interface AriServerMeterOptions {
  /** Told of every request the server answered, as it finishes. */
  onServed?: (request: ServedRequest) => void;
}

interface ClientRequestMessage {
  request: ClientRequest;
}

interface ServerRequestMessage {
  request: IncomingMessage;
  response?: { statusCode: number };
  socket: Socket;
}

interface ServerSocketMessage {
  socket: Socket;
}

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';
const SERVER_SOCKET = 'net.server.socket';
const CLIENT_START = 'http.client.request.start';
const CLIENT_RESPONSE = 'http.client.response.finish';
const CLIENT_ERROR = 'http.client.request.error';

/**
 * Counts ARI load on one local port, exactly (every start and end is an
 * event, nothing is sampled): TCP connections at the server (Asterisk's
 * `sessionlimit` counts these), requests outstanding at the clients, and
 * requests open inside the server. It listens on Node's built-in diagnostics
 * channels, so neither the server nor the client under test is wrapped or
 * changed; only traffic to `port` counts. Clients that do not use node:http
 * (fetch) are seen as connections only.
 */
export class AriServerMeter {
  readonly #port: number;
  readonly #host: string;
  readonly #openPerSocket = new WeakMap<Socket, number>();
  readonly #outstanding = new WeakMap<ClientRequest, number>();
  readonly #durations = latencyHistogram();
  readonly #startedAt = new WeakMap<IncomingMessage, number>();
  readonly #onServed: ((request: ServedRequest) => void) | undefined;
  #requests = 0;
  #inflight = 0;
  #maxInflight = 0;
  #clientInflight = 0;
  #maxClientInflight = 0;
  #connections = 0;
  #maxConnections = 0;
  #closed = false;

  constructor(port: number, options: AriServerMeterOptions = {}) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1..65535, got ${port}`);
    this.#port = port;
    this.#onServed = options.onServed;
    this.#host = `:${port}`;
    diagnostics.subscribe(SERVER_SOCKET, this.#onSocket);
    diagnostics.subscribe(REQUEST_START, this.#onRequestStart);
    diagnostics.subscribe(RESPONSE_FINISH, this.#onResponseFinish);
    diagnostics.subscribe(CLIENT_START, this.#onClientStart);
    diagnostics.subscribe(CLIENT_RESPONSE, this.#onClientEnd);
    diagnostics.subscribe(CLIENT_ERROR, this.#onClientEnd);
  }

  get closed(): boolean {
    return this.#closed;
  }

  snapshot(): AriLoadSnapshot {
    if (this.#closed) throw new InvalidStateError('meter is closed');
    return {
      requests: this.#requests,
      maxInflightRequests: this.#maxClientInflight,
      maxInflightServer: this.#maxInflight,
      maxConnections: this.#maxConnections,
      inflightRequests: this.#clientInflight,
      connections: this.#connections,
      requestP50Ms: this.#durations.count === 0 ? null : this.#durations.percentile(50),
      requestP99Ms: this.#durations.count === 0 ? null : this.#durations.percentile(99),
    };
  }

  /** Starts the high-water marks again from the current levels (e.g. after connecting). */
  resetPeaks(): void {
    if (this.#closed) throw new InvalidStateError('meter is closed');
    this.#maxInflight = this.#inflight;
    this.#maxClientInflight = this.#clientInflight;
    this.#maxConnections = this.#connections;
    this.#durations.reset();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    diagnostics.unsubscribe(SERVER_SOCKET, this.#onSocket);
    diagnostics.unsubscribe(REQUEST_START, this.#onRequestStart);
    diagnostics.unsubscribe(RESPONSE_FINISH, this.#onResponseFinish);
    diagnostics.unsubscribe(CLIENT_START, this.#onClientStart);
    diagnostics.unsubscribe(CLIENT_RESPONSE, this.#onClientEnd);
    diagnostics.unsubscribe(CLIENT_ERROR, this.#onClientEnd);
  }

  #ours(socket: Socket | undefined): socket is Socket {
    return socket !== undefined && socket.localPort === this.#port;
  }

  readonly #onSocket = (message: unknown): void => {
    const { socket } = message as ServerSocketMessage;
    if (!this.#ours(socket)) return;
    this.#connections++;
    if (this.#connections > this.#maxConnections) this.#maxConnections = this.#connections;
    socket.once('close', () => {
      this.#connections--;
      // A request whose socket died before its response finished ends here.
      const open = this.#openPerSocket.get(socket) ?? 0;
      this.#inflight -= open;
      this.#openPerSocket.delete(socket);
    });
  };

  readonly #onRequestStart = (message: unknown): void => {
    const { socket, request } = message as ServerRequestMessage;
    if (!this.#ours(socket)) return;
    if (this.#onServed) this.#startedAt.set(request, performance.now());
    this.#requests++;
    this.#inflight++;
    if (this.#inflight > this.#maxInflight) this.#maxInflight = this.#inflight;
    this.#openPerSocket.set(socket, (this.#openPerSocket.get(socket) ?? 0) + 1);
  };

  readonly #onResponseFinish = (message: unknown): void => {
    const { socket, request, response } = message as ServerRequestMessage;
    if (!this.#ours(socket)) return;
    const open = this.#openPerSocket.get(socket) ?? 0;
    if (open === 0) return;
    this.#openPerSocket.set(socket, open - 1);
    this.#inflight--;
    const startedAt = this.#startedAt.get(request);
    if (this.#onServed && startedAt !== undefined) {
      this.#onServed({ method: request.method ?? 'GET', url: request.url ?? '/', status: response?.statusCode ?? 0, startedAt, finishedAt: performance.now() });
    }
  };

  readonly #onClientStart = (message: unknown): void => {
    const { request } = message as ClientRequestMessage;
    // Node's http client always sends Host as host:port for a non-default port.
    const host = request.getHeader('host');
    if (typeof host !== 'string' || !host.endsWith(this.#host)) return;
    // The event WebSocket's upgrade never gets an HTTP response: a session, not a request.
    if (request.getHeader('upgrade') !== undefined) return;
    this.#outstanding.set(request, performance.now());
    this.#clientInflight++;
    if (this.#clientInflight > this.#maxClientInflight) this.#maxClientInflight = this.#clientInflight;
  };

  readonly #onClientEnd = (message: unknown): void => {
    const { request } = message as ClientRequestMessage;
    const sentAt = this.#outstanding.get(request);
    if (sentAt === undefined) return;
    this.#outstanding.delete(request);
    this.#clientInflight--;
    this.#durations.record(performance.now() - sentAt);
  };
}
