import { createConnection, type Socket } from 'node:net';
import { InvalidStateError, TimeoutError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { AmiActionTable, type AmiActionOptions, type AmiActionResult } from './action-table.js';
import { AmiActionError, AmiAuthError, AmiConnectionError, AmiError } from './errors.js';
import { backoffDelay, resolveAmiConnectionOptions, type AmiConnectionOptions, type ResolvedOptions } from './connection-options.js';
import { parseAmiEvent, type AmiEvent } from './events.js';
import { AmiFramer } from './framer.js';

import { encodeAction, parseAmiMessage, toFields, type AmiField, type AmiMessage } from './message.js';

export { backoffDelay, resolveAmiConnectionOptions, type AmiBackoffOptions, type AmiConnectionOptions } from './connection-options.js';
export type { AmiActionOptions, AmiActionResult } from './action-table.js';

export interface AmiDisconnect {
  reason: string;
  error: Error | null;
}

export type AmiConnectionEvents = {
  /** First successful login of this connection object. */
  connected: [];
  /** A later successful login, after a disconnect. */
  reconnected: [];
  /** A logged-in session ended. */
  disconnected: [AmiDisconnect];
  /** An unsolicited event (list events belonging to a pending action are not repeated here). */
  event: [AmiEvent];
  /** A failed attempt (connect, login, heartbeat); the supervisor retries unless closed. */
  error: [Error];
  listenererror: [string, unknown];
};

export type AmiConnectionState = 'idle' | 'connecting' | 'loggingIn' | 'loggedIn' | 'waiting' | 'closed';

export interface AmiConnectionStats {
  attempts: number;
  logins: number;
  authFailures: number;
  heartbeatFailures: number;
  eventsIn: number;
  unparseableMessages: number;
  orphanResponses: number;
}

/**
 * A supervised AMI session over TCP: connect, wait for the banner, Login (with
 * a timeout), then Ping every `heartbeatIntervalMs`; on any loss (socket error,
 * close, protocol error, missed Pong, refused login) pending actions are
 * rejected and a new attempt is scheduled with capped exponential backoff and
 * jitter. Events are parsed once into `AmiEvent` and emitted in wire order.
 *
 * Why not asterisk-manager's own socket: see `README.md` in this folder.
 */
export class AmiConnection extends TypedEmitter<AmiConnectionEvents> {
  readonly #log;
  readonly #o: ResolvedOptions;
  readonly #actions = new AmiActionTable();
  readonly #stats: AmiConnectionStats = { attempts: 0, logins: 0, authFailures: 0, heartbeatFailures: 0, eventsIn: 0, unparseableMessages: 0, orphanResponses: 0 };
  #state: AmiConnectionState = 'idle';
  #socket: Socket | null = null;
  #framer: AmiFramer | null = null;
  #failures = 0;
  #everLoggedIn = false;
  #sessionError: Error | null = null;
  #connectTimer: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #firstOutcome: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | null = null;
  #closing: Promise<void> | null = null;
  #socketClosed: Promise<void> = Promise.resolve();

  constructor(options: AmiConnectionOptions) {
    super();
    this.#o = resolveAmiConnectionOptions(options);
    this.#log = logger('ami.connection', { host: this.#o.host, port: this.#o.port, username: this.#o.username });
  }

  get state(): AmiConnectionState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  get loggedIn(): boolean {
    return this.#state === 'loggedIn';
  }

  get stats(): Readonly<AmiConnectionStats> {
    return { ...this.#stats };
  }

  /** Begins supervising (idempotent). Failures are reported on `error` and retried. */
  start(): void {
    if (this.#state === 'closed') throw new InvalidStateError('AmiConnection is closed');
    if (this.#state !== 'idle') return;
    this.#attempt();
  }

  /**
   * Starts supervising and settles with the outcome of the first attempt:
   * resolves once logged in, rejects with that attempt's error (`AmiAuthError`
   * for a refused Login). Supervision keeps retrying after a rejection until
   * `close()`.
   */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new InvalidStateError('AmiConnection is closed'));
    if (this.#state === 'loggedIn') return Promise.resolve();
    if (!this.#firstOutcome) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Callers may only await `connected` events; an unobserved rejection must not crash the process.
      promise.catch(() => undefined);
      this.#firstOutcome = { promise, resolve, reject };
    }
    const { promise } = this.#firstOutcome;
    this.start();
    return promise;
  }

  /**
   * Sends an action and resolves with its response. For EventList actions
   * (`EventList: start`) it also collects the list events until the
   * `...Complete` event. `Response: Error` rejects with `AmiActionError`; no
   * answer in time rejects with `TimeoutError`; a lost connection with
   * `AmiConnectionError` (`AMI_NOT_CONNECTED`, `AMI_DISCONNECTED`, or
   * `AMI_CLOSED` when `close()` interrupts it); use after close with
   * `InvalidStateError`.
   */
  action(
    name: string,
    fields: Readonly<Record<string, string>> | readonly AmiField[] = {},
    options: AmiActionOptions = {},
  ): Promise<AmiActionResult> {
    if (this.#state === 'closed') return Promise.reject(new InvalidStateError('AmiConnection is closed'));
    if (this.#state !== 'loggedIn') {
      return Promise.reject(new AmiConnectionError('AMI_NOT_CONNECTED', `AMI not logged in (state ${this.#state}); ${name} not sent`));
    }
    if (name.toLowerCase() === 'login' || name.toLowerCase() === 'logoff') {
      return Promise.reject(new TypeError(`${name} is managed by AmiConnection`));
    }
    return this.#send(name, toFields(fields), options.timeoutMs ?? this.#o.actionTimeoutMs);
  }

  /**
   * Stops supervising: rejects pending actions (`AMI_CLOSED`), sends a
   * best-effort Logoff, and resolves once the socket is closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasLoggedIn = this.#state === 'loggedIn';
    this.#state = 'closed';
    this.#clearTimers();
    this.#actions.rejectAll(new AmiConnectionError('AMI_CLOSED', 'AmiConnection closed'));
    this.#firstOutcome?.reject(new AmiConnectionError('AMI_CLOSED', 'AmiConnection closed before login'));
    const socket = this.#socket;
    if (socket && !socket.destroyed) {
      if (wasLoggedIn) {
        // Best effort: Asterisk logs a cleaner session end; the answer is not awaited.
        socket.end(encodeAction('Logoff', [], this.#actions.newActionId()));
        const force = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => clearTimeout(force));
      } else {
        socket.destroy();
      }
    }
    this.#closing = this.#socketClosed.then(() => {
      this.#log.info('AMI connection closed');
    });
    return this.#closing;
  }

  #send(name: string, fields: AmiField[], timeoutMs: number): Promise<AmiActionResult> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new AmiConnectionError('AMI_NOT_CONNECTED', 'no AMI socket'));
    const id = this.#actions.newActionId();
    let wire: string;
    try {
      wire = encodeAction(name, fields, id);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.#actions.expect(id, name, timeoutMs, () => socket.write(wire));
  }

  #attempt(): void {
    if (this.#state === 'closed') return;
    this.#retryTimer = null;
    this.#state = 'connecting';
    this.#stats.attempts++;
    this.#sessionError = null;
    this.#framer = new AmiFramer({ expectBanner: true, maxFrameChars: this.#o.maxMessageChars });
    const socket = createConnection({ host: this.#o.host, port: this.#o.port });
    this.#socket = socket;
    let markClosed!: () => void;
    this.#socketClosed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.#connectTimer = setTimeout(() => {
      this.#fail(new AmiConnectionError('AMI_CONNECT_FAILED', `no AMI banner within ${this.#o.connectTimeoutMs} ms`));
    }, this.#o.connectTimeoutMs);
    socket.on('data', (chunk: string) => this.#onData(socket, chunk));
    socket.on('error', (err) => {
      const established = this.#state === 'loggedIn' || this.#state === 'loggingIn';
      this.#sessionError ??= new AmiConnectionError(established ? 'AMI_DISCONNECTED' : 'AMI_CONNECT_FAILED', `AMI socket error: ${err.message}`);
    });
    socket.on('close', () => {
      markClosed();
      this.#onClose(socket);
    });
  }

  /** Ends the current socket because of `err`; `close` does the rest. */
  #fail(err: Error): void {
    this.#sessionError ??= err;
    this.#socket?.destroy();
  }

  #onData(socket: Socket, chunk: string): void {
    if (socket !== this.#socket || !this.#framer) return;
    let frames;
    try {
      frames = this.#framer.push(chunk);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const frame of frames) {
      if (socket !== this.#socket) return;
      if (frame.kind === 'banner') {
        this.#onBanner(frame.version);
        continue;
      }
      let message: AmiMessage;
      try {
        message = parseAmiMessage(frame.raw);
      } catch (err) {
        this.#stats.unparseableMessages++;
        this.#log.warn({ err: errorMessage(err), code: err instanceof AmiError ? err.code : undefined }, 'unparseable AMI message dropped');
        continue;
      }
      this.#onMessage(message);
    }
    if (this.#framer?.overflow && socket === this.#socket) this.#fail(this.#framer.overflow);
  }

  #onBanner(version: string): void {
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    this.#state = 'loggingIn';
    this.#log.debug({ version }, 'AMI banner received, logging in');
    const login = this.#send('Login', [['Username', this.#o.username], ['Secret', this.#o.secret]], this.#o.loginTimeoutMs);
    login.then(
      () => this.#onLoggedIn(),
      (err: unknown) => {
        if (err instanceof AmiActionError) {
          this.#stats.authFailures++;
          this.#fail(new AmiAuthError(this.#o.username, err.serverMessage));
        } else if (err instanceof TimeoutError) {
          this.#fail(new AmiConnectionError('AMI_CONNECT_FAILED', `AMI Login unanswered within ${this.#o.loginTimeoutMs} ms`));
        }
        // AmiConnectionError: the socket is already gone and #onClose handles it.
      },
    );
  }

  #onLoggedIn(): void {
    if (this.#state !== 'loggingIn') return;
    this.#state = 'loggedIn';
    this.#failures = 0;
    this.#stats.logins++;
    const reconnect = this.#everLoggedIn;
    this.#everLoggedIn = true;
    this.#log.info({ reconnect }, 'AMI logged in');
    this.#scheduleHeartbeat();
    this.#firstOutcome?.resolve();
    this.safeEmit(reconnect ? 'reconnected' : 'connected');
  }

  #onMessage(message: AmiMessage): void {
    switch (this.#actions.dispatch(message)) {
      case 'orphan':
        this.#stats.orphanResponses++;
        return;
      case 'event':
        this.#stats.eventsIn++;
        this.safeEmit('event', parseAmiEvent(message));
        return;
      case 'unknown':
        this.#stats.unparseableMessages++;
        return;
      case 'answer':
        return;
    }
  }

  #scheduleHeartbeat(): void {
    if (this.#o.heartbeatIntervalMs === 0) return;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = null;
      if (this.#state !== 'loggedIn') return;
      const socket = this.#socket;
      this.#send('Ping', [], this.#o.heartbeatTimeoutMs).then(
        () => {
          if (this.#state === 'loggedIn' && socket === this.#socket) this.#scheduleHeartbeat();
        },
        (err: unknown) => {
          if (socket !== this.#socket || this.#state !== 'loggedIn') return;
          this.#stats.heartbeatFailures++;
          this.#fail(new AmiConnectionError('AMI_DISCONNECTED', `AMI heartbeat failed: ${errorMessage(err)}`));
        },
      );
    }, this.#o.heartbeatIntervalMs);
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#framer = null;
    const wasLoggedIn = this.#state === 'loggedIn';
    const err = this.#sessionError ?? new AmiConnectionError('AMI_DISCONNECTED', 'AMI connection closed by peer');
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
    this.#actions.rejectAll(new AmiConnectionError('AMI_DISCONNECTED', `AMI connection lost: ${err.message}`));
    if (this.#state === 'closed') return;
    if (wasLoggedIn) {
      this.#log.warn({ reason: err.message }, 'AMI disconnected');
      this.safeEmit('disconnected', { reason: err.message, error: err });
    } else {
      // The error names the user for auth failures; the secret is never part of it.
      this.#log.warn({ err: err.message, code: err instanceof AmiError ? err.code : undefined }, 'AMI attempt failed');
      this.#firstOutcome?.reject(err);
      this.safeEmit('error', err);
    }
    this.#firstOutcome = null;
    const delay = backoffDelay(this.#failures++, this.#o.backoff);
    this.#state = 'waiting';
    this.#log.info({ delayMs: delay, attempt: this.#failures }, 'AMI reconnect scheduled');
    this.#retryTimer = setTimeout(() => this.#attempt(), delay);
  }

  #clearTimers(): void {
    for (const t of [this.#connectTimer, this.#retryTimer, this.#heartbeatTimer]) if (t) clearTimeout(t);
    this.#connectTimer = null;
    this.#retryTimer = null;
    this.#heartbeatTimer = null;
  }
}
