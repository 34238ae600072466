/**
 * The WebSocket server under the protocol doubles (the reference service and
 * the OpenAI-Realtime local server): an HTTP server on 127.0.0.1 that answers
 * plain requests with 426, refuses upgrades without the right bearer secret
 * with 401 (compared in constant time, never logged), hands every accepted
 * socket to the double as a session, and on close() ends every session and
 * socket so no test leaks a handle.
 *
 * What a session says is the double's business; this base class owns the
 * listening, the door and the bookkeeping.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { InvalidStateError, errorMessage } from '../../common/src/errors.js';
import type { Logger } from '../../common/src/logger.js';
import { TypedEmitter, type EventMap } from '../../common/src/typed-emitter.js';

/** One accepted connection, as the double sees it. */
export interface DoubleSession {
  /** Ends the connection without a close handshake. */
  terminate(): void;
  /** The socket closed: stop timers, mark the record closed. */
  dispose(): void;
}

export interface WsDoubleServerOptions {
  /** When set, the upgrade needs `Authorization: Bearer <bearer>` (else HTTP 401). */
  bearer?: string | undefined;
  /** The Authorization scheme the secret travels under (Deepgram: `Token`); default `Bearer`. */
  authScheme?: string | undefined;
  /** When set, the secret travels bare in this header instead of Authorization (Azure: `Ocp-Apim-Subscription-Key`). */
  authHeader?: string | undefined;
  /** Largest message a client may send. */
  maxPayload: number;
  /** Path of the URL the double is reached at. */
  path: string;
  /** What the double is, in errors: `<name> is not listening`. */
  name: string;
  log: Logger;
}

/**
 * The base of a protocol double: a subclass builds a session for each
 * accepted socket (accept) and hears of refused upgrades (rejected).
 */
export abstract class WsDoubleServer<S extends DoubleSession, E extends EventMap = Record<never, never>> extends TypedEmitter<E> {
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #options: WsDoubleServerOptions;
  readonly #sockets = new Set<Socket>();
  readonly #live = new Set<S>();
  #rejected = 0;
  #closed = false;

  protected constructor(options: WsDoubleServerOptions) {
    super();
    this.#options = options;
    this.#http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
    });
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxPayload });
    this.#http.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  get url(): string {
    const address = this.#http.address() as AddressInfo | null;
    if (address === null) throw new InvalidStateError(`${this.#options.name} is not listening`);
    return `ws://${address.address}:${address.port}${this.#options.path}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Upgrades refused for a missing or wrong bearer secret. */
  get rejectedCount(): number {
    return this.#rejected;
  }

  /** Sessions still connected. */
  get liveSessions(): number {
    return this.#live.size;
  }

  /** Ends every session, the server and every socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#live]) session.terminate();
    this.#wss.close();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  /** Sessions still connected, for the double's fault switches. */
  protected get live(): ReadonlySet<S> {
    return this.#live;
  }

  /** Listens on host:port (default 127.0.0.1, an ephemeral port). */
  protected async listen(host: string | undefined, port: number | undefined): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port ?? 0, host ?? '127.0.0.1', () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
  }

  /** A new accepted socket (the request carries the URL's query). */
  protected abstract accept(ws: WebSocket, req: IncomingMessage): S;

  /** An upgrade was refused for a missing or wrong bearer secret. */
  protected rejected(): void {}

  /** An HTTP status to refuse an authorized upgrade with (e.g. 429 for a rate-limit double), or null to accept. */
  protected refusal(_req: IncomingMessage): number | null {
    return null;
  }

  #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const authHeader = this.#options.authHeader?.toLowerCase();
    const given = authHeader === undefined ? req.headers.authorization : req.headers[authHeader];
    if (!this.#authorized(typeof given === 'string' ? given : undefined)) {
      this.#rejected++;
      // No secret material in the log, only that it failed.
      this.#options.log.warn({ remote: socket.remoteAddress }, 'upgrade refused: bad or missing bearer secret');
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.rejected();
      return;
    }
    const status = this.refusal(req);
    if (status !== null) {
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = this.accept(ws, req);
      this.#live.add(session);
      ws.once('close', () => {
        this.#live.delete(session);
        session.dispose();
      });
    });
  }

  #authorized(header: string | undefined): boolean {
    const secret = this.#options.bearer;
    if (secret === undefined) return true;
    if (header === undefined) return false;
    const expected = Buffer.from(this.#options.authHeader === undefined ? `${this.#options.authScheme ?? 'Bearer'} ${secret}` : secret);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * Routes a session's messages to `handle`; a bug in it ends that session only
 * (`failed`), never the server. Socket errors are logged with the session id.
 */
export function guardSessionMessages(
  ws: WebSocket,
  session: { id: string; log: Logger; label: string },
  handle: (data: RawData, isBinary: boolean) => void,
  failed: () => void,
): void {
  ws.on('message', (data: RawData, isBinary: boolean) => {
    try {
      handle(data, isBinary);
    } catch (err) {
      session.log.error({ err: errorMessage(err), session: session.id }, `${session.label} failed`);
      failed();
    }
  });
  ws.on('error', (err) => session.log.warn({ err: err.message, session: session.id }, `${session.label} socket error`));
}

/** Sends on the socket while it is open; a closing or closed socket takes nothing. */
export function sendIfOpen(ws: WebSocket, data: string | Buffer, binary = false): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(data, { binary });
}
