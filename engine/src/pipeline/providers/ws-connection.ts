/**
 * The client WebSocket of a streaming stage (StreamingStage,
 * OpenAiRealtimeStage): connect with a deadline and an optional bearer token,
 * reconnect with jittered exponential backoff until too many consecutive
 * attempts failed, ping/pong keepalive, and a close that cannot hang on a
 * peer that never answers the close handshake.
 *
 * What goes over the socket is the stage's business: it hears `open` (and
 * sends its session start on the socket it is given), `message`, `failure`
 * and `down`, and sends on `socket` while the connection is open. Attempts
 * count as failed until the stage calls resetBackoff(): a stage whose session
 * is confirmed later than the upgrade keeps backing off from a service that
 * accepts and hangs up.
 *
 * Nothing is emitted after close(). Call start() once the listeners are on.
 */
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import { Backoff } from './backoff.js';

/** The connection settings of a stage's options, as a zod shape to spread into the stage's schema. */
export const WsConnectionSettingsShape = {
  /** Connect + WebSocket upgrade must finish within this. */
  connectTimeoutMs: z.number().int().positive().default(5000),
  reconnectInitialDelayMs: z.number().int().nonnegative().default(250),
  reconnectMaxDelayMs: z.number().int().positive().default(5000),
  /** Consecutive failed attempts before giving up (the stage then only plays what is queued). */
  reconnectMaxAttempts: z.number().int().nonnegative().default(20),
  /** WebSocket ping period; a missing pong by the next ping terminates the connection. 0 disables. */
  pingIntervalMs: z.number().int().nonnegative().default(15_000),
  /** Largest message accepted from the service. */
  maxMessageBytes: z.number().int().positive().default(4 * 1024 * 1024),
};

export type WsConnectionSettings = z.output<z.ZodObject<typeof WsConnectionSettingsShape>>;

/** Just the connection settings of a stage's settings. */
export function pickWsConnectionSettings(s: WsConnectionSettings): WsConnectionSettings {
  return {
    connectTimeoutMs: s.connectTimeoutMs,
    reconnectInitialDelayMs: s.reconnectInitialDelayMs,
    reconnectMaxDelayMs: s.reconnectMaxDelayMs,
    reconnectMaxAttempts: s.reconnectMaxAttempts,
    pingIntervalMs: s.pingIntervalMs,
    maxMessageBytes: s.maxMessageBytes,
  };
}

export interface WsConnectionOptions<F extends string = never> extends WsConnectionSettings {
  url: string;
  /** Sent as `Authorization: Bearer <token>` on the upgrade; never logged. */
  token?: string | undefined;
  /** The whole `Authorization` header, for services with another scheme (Deepgram's `Token <key>`); wins over `token`; never logged. */
  authorization?: string | undefined;
  /** More upgrade headers (Azure's `Ocp-Apim-Subscription-Key`); may hold secrets, never logged. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Close codes after which reconnecting would not help, with the failure code each is reported as. */
  fatalCloseCodes?: ReadonlyMap<number, F> | undefined;
  /** The service in log lines: `<name> connected`. */
  name: string;
  /** What an attempt is for, in the gave_up message: `no <goal> after N attempts`. */
  attemptGoal: string;
  log: Logger;
}

export type WsFailureCode<F extends string = never> =
  /** Connecting failed (refused, timed out, non-101 answer, malformed URL). */
  | 'connect_failed'
  /** The socket failed after it was open. */
  | 'socket'
  /** The upgrade was refused with 401/403: no reconnect. */
  | 'unauthorized'
  /** reconnectMaxAttempts consecutive failures: no more attempts. */
  | 'gave_up'
  /** A fatal close code (fatalCloseCodes) after the socket was open: no reconnect. */
  | F;

export interface WsFailure<F extends string = never> {
  code: WsFailureCode<F>;
  message: string;
}

export interface WsDownInfo {
  code: number;
  reason: string;
  /** Whether the upgrade had finished (false: a failed attempt). */
  opened: boolean;
  /** Whether another attempt is scheduled. */
  willReconnect: boolean;
}

export type WsConnectionEvents<F extends string = never> = {
  /** The upgrade finished: `ws` is open for sending. */
  open: [ws: WebSocket];
  message: [data: RawData, isBinary: boolean];
  failure: [failure: WsFailure<F>];
  /** The socket closed without close(); emitted before the reconnect is scheduled or given up. */
  down: [info: WsDownInfo];
  listenererror: [event: string, error: unknown];
};

type ConnState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** How long close() waits for the peer's half of the close handshake before dropping the socket. */
const CLOSE_TIMEOUT_MS = 2000;

export class WsConnection<F extends string = never> extends TypedEmitter<WsConnectionEvents<F>> {
  readonly #opts: WsConnectionOptions<F>;
  #ws: WebSocket | null = null;
  #state: ConnState = 'idle';
  #closed = false;
  readonly #backoff: Backoff;
  #pingTimer: NodeJS.Timeout | null = null;
  #awaitingPong = false;
  #closeWaiters: Array<() => void> = [];

  constructor(options: WsConnectionOptions<F>) {
    super();
    this.#opts = options;
    this.#backoff = new Backoff(options);
  }

  /** Whether the socket is open (stays true while `down` is being emitted). */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** The socket to send on, or null when not open. */
  get socket(): WebSocket | null {
    return this.#state === 'open' ? this.#ws : null;
  }

  /** Bytes waiting in the current socket (0 without one). */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Starts the first attempt. */
  start(): void {
    if (this.#state === 'idle') this.#connect();
  }

  /** The connection proved itself: the next failure backs off from the initial delay again. */
  resetBackoff(): void {
    this.#backoff.reset();
  }

  /**
   * Sends `farewell` (best effort) and closes with code/reason, or drops a
   * socket still connecting; cancels timers. Idempotent.
   */
  close(code: number, reason: string, farewell?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPing();
    this.#backoff.cancel();
    const ws = this.#ws;
    this.#state = 'stopped';
    if (ws === null) {
      this.#resolveCloseWaiters();
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return;
    }
    if (farewell !== undefined) {
      try {
        ws.send(farewell);
      } catch {
        // Best effort: the socket may have failed in the meantime; closing follows regardless.
      }
    }
    ws.close(code, reason);
    // A service that never answers the close handshake must not hold the socket for ws's 30 s default.
    const kill = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
    kill.unref();
    ws.once('close', () => clearTimeout(kill));
  }

  /** Resolves once close() was called and the socket is fully closed. */
  whenClosed(): Promise<void> {
    if (this.#closed && this.#ws === null) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  #connect(): void {
    if (this.#closed) return;
    const o = this.#opts;
    this.#state = 'connecting';
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers['Authorization'] = `Bearer ${o.token}`;
    if (o.authorization !== undefined) headers['Authorization'] = o.authorization;
    let ws: WebSocket;
    try {
      ws = new WebSocket(o.url, {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: o.connectTimeoutMs,
        maxPayload: o.maxMessageBytes,
        followRedirects: false,
      });
    } catch (err) {
      // Only a malformed URL throws synchronously; retrying would not fix it.
      this.#state = 'stopped';
      this.safeEmit('failure', { code: 'connect_failed', message: errorMessage(err) });
      return;
    }
    ws.binaryType = 'nodebuffer';
    this.#ws = ws;
    let opened = false;
    let fatal: WsFailureCode<F> | null = null;
    let handshakeRefused = false; // already reported; the abort error that follows is not news

    ws.on('open', () => {
      opened = true;
      if (this.#closed) return;
      this.#state = 'open';
      this.#startPing(ws);
      this.#opts.log.info({ url: redactUrl(o.url) }, `${o.name} connected`);
      this.safeEmit('open', ws);
    });

    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) fatal = 'unauthorized';
      this.safeEmit('failure', { code: fatal ?? 'connect_failed', message: `service answered the upgrade with HTTP ${status}` });
      handshakeRefused = true;
      res.resume();
      // terminate() (not req.destroy()) so ws emits 'close' and the usual path decides on reconnecting.
      ws.terminate();
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (ws !== this.#ws || this.#closed) return;
      this.safeEmit('message', data, isBinary);
    });

    ws.on('pong', () => {
      this.#awaitingPong = false;
    });

    ws.on('error', (err) => {
      // 'close' always follows; reconnection is decided there.
      if (this.#closed || fatal !== null || handshakeRefused) return;
      this.safeEmit('failure', { code: opened ? 'socket' : 'connect_failed', message: errorMessage(err) });
    });

    ws.on('close', (code: number, reasonBuf: Buffer) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#stopPing();
      const reason = reasonBuf.toString('utf8').slice(0, 123);
      if (this.#closed) {
        this.#resolveCloseWaiters();
        return;
      }
      const closeFatal = o.fatalCloseCodes?.get(code);
      if (closeFatal !== undefined) fatal = closeFatal;
      if (fatal !== null && opened) this.safeEmit('failure', { code: fatal, message: `service closed with ${code} ${reason}` });
      const willReconnect = fatal === null && this.#backoff.canRetry;
      this.safeEmit('down', { code, reason, opened, willReconnect });
      if (this.#closed) return; // a `down` listener closed the stage
      if (willReconnect) {
        this.#scheduleReconnect();
      } else {
        this.#state = 'stopped';
        if (fatal === null) this.safeEmit('failure', { code: 'gave_up', message: `no ${o.attemptGoal} after ${this.#backoff.attempts} attempts` });
      }
    });
  }

  #scheduleReconnect(): void {
    this.#state = 'waiting';
    this.#backoff.next(() => this.#connect());
  }

  #startPing(ws: WebSocket): void {
    const o = this.#opts;
    if (o.pingIntervalMs === 0) return;
    this.#awaitingPong = false;
    this.#pingTimer = setInterval(() => {
      if (this.#awaitingPong) {
        o.log.warn(`no pong from ${o.name} service; terminating`);
        ws.terminate();
        return;
      }
      this.#awaitingPong = true;
      ws.ping();
    }, o.pingIntervalMs);
  }

  #stopPing(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #resolveCloseWaiters(): void {
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w();
  }
}

/** The URL without user-info or query (tokens sometimes travel there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
