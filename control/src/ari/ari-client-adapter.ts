import ariClient from 'ari-client';
import { errorMessage } from '../../../common/src/errors.js';
import { logger, type Logger } from '../../../common/src/logger.js';
import { redactUrlPassword } from '../../../common/src/redact-url.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { AriClient, AriConnectionEvents, ExternalMediaParams, OriginateParams } from './client.js';
import { AriError, codeForStatus, fetchFailure } from './errors.js';
import { parseWith, plain } from './ari-responses.js';
import { AriEventParseError, parseAriEvent } from './events.js';
import { ConcurrencyLimiter } from './limiter.js';
import { AriRest, type AriMethod } from './rest.js';
import { applicationSchema, bridgeSchema, channelSchema, type AriApplication, type AriBridge, type AriChannel } from './models.js';

export interface AriConnectOptions {
  /** Base URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088 */
  url: string;
  username: string;
  password: string;
  app: string;
  /** Deadline per REST request. */
  requestTimeoutMs?: number;
  /** Concurrent REST requests; keep well under http.conf sessionlimit. */
  maxConcurrentRequests?: number;
  /** Backoff for our own reconnect loop once ari-client gives up. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Where the connection's log lines go (default: the `control.ari` logger). */
  log?: Logger;
}

/** How `connect` behaves while Asterisk cannot be reached. */
export interface AriStartOptions {
  /**
   * Keep trying, with the reconnect loop's backoff, while Asterisk is not
   * reachable (refused, timed out, not answering ARI yet), saying so in the log
   * each time. Refused credentials (401/403) are not transient and end the
   * wait with an UNAUTHORIZED AriError. Default false: the first failure rejects.
   */
  waitForAsterisk?: boolean;
  /** Ends the wait (shutdown while starting): connect rejects with this signal's reason. */
  signal?: AbortSignal;
}

/** The slice of ari-client we use: the connection and its event WebSocket (requests go through AriRest). */
interface RawAri {
  start(app: string): Promise<void>;
  stop(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeAllListeners(): void;
}

export { classifyAriFailure } from './ari-responses.js';

const connectRaw = ariClient.connect.bind(ariClient) as (url: string, user: string, pass: string) => Promise<RawAri>;

/**
 * AriClient over ari-client. Adds what it lacks: a deadline per request, a
 * bound on concurrent requests, status codes, parsed events, and a reconnect
 * loop that never gives up (ari-client stops after 10 WebSocket retries).
 * ari-client connects (it loads and checks Asterisk's API description) and
 * carries the events; the REST requests go out through AriRest, which sends
 * what ari-client would at a fraction of its CPU per request.
 */
export class AriClientAdapter extends TypedEmitter<AriConnectionEvents> implements AriClient {
  readonly app: string;
  readonly #options: Required<AriConnectOptions>;
  readonly #limiter: ConcurrencyLimiter;
  readonly #rest: AriRest;
  readonly #log: Logger;
  #raw: RawAri | null = null;
  #connected = false;
  #everConnected = false;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #attempt = 0;

  private constructor(options: AriConnectOptions) {
    super();
    this.app = options.app;
    this.#options = {
      requestTimeoutMs: 10_000,
      maxConcurrentRequests: 40,
      reconnectMinMs: 250,
      reconnectMaxMs: 10_000,
      log: options.log ?? logger('control.ari'),
      ...options,
    };
    this.#log = this.#options.log;
    this.#limiter = new ConcurrencyLimiter(this.#options.maxConcurrentRequests);
    const { url, username, password, requestTimeoutMs } = this.#options;
    this.#rest = new AriRest({ url, username, password, timeoutMs: requestTimeoutMs });
  }

  /**
   * Connects (swagger download + event WebSocket) and resolves once events
   * flow; with `waitForAsterisk`, retries until Asterisk answers (see AriStartOptions).
   */
  static async connect(options: AriConnectOptions, start: AriStartOptions = {}): Promise<AriClientAdapter> {
    const adapter = new AriClientAdapter(options);
    try {
      for (;;) {
        start.signal?.throwIfAborted();
        try {
          await adapter.#open();
          break;
        } catch (err) {
          adapter.#discardConnection();
          if (!start.waitForAsterisk || !isTransient(err)) throw err;
          const delay = adapter.#nextRetryDelay();
          adapter.#logRetry(err, delay);
          await sleep(delay, start.signal);
        }
      }
    } catch (err) {
      await adapter.close();
      throw err;
    }
    return adapter;
  }

  get connected(): boolean {
    return this.#connected;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async originate(p: OriginateParams): Promise<AriChannel> {
    const query = { endpoint: p.endpoint, app: p.app, appArgs: p.appArgs, callerId: p.callerId, timeout: p.timeoutSeconds, channelId: p.channelId };
    const result = await this.#call('channels.originate', 'POST', 'channels', query, p.variables ? { variables: p.variables } : undefined);
    return parseWith(channelSchema, result, 'originate');
  }

  async externalMedia(p: ExternalMediaParams): Promise<AriChannel> {
    const query =
      p.transport === 'websocket'
        ? { channelId: p.channelId, app: p.app, format: p.format, transport: 'websocket', encapsulation: 'none', connection_type: 'server' }
        : { channelId: p.channelId, app: p.app, external_host: p.externalHost, format: p.format };
    const result = await this.#call('channels.externalMedia', 'POST', 'channels/externalMedia', query, p.variables ? { variables: p.variables } : undefined);
    return parseWith(channelSchema, result, 'externalMedia');
  }

  async hangup(channelId: string, reason?: string): Promise<boolean> {
    return await this.#ignoreNotFound(() => this.#call('channels.hangup', 'DELETE', `channels/${encodeURIComponent(channelId)}`, { reason }));
  }

  async answer(channelId: string): Promise<void> {
    await this.#call('channels.answer', 'POST', `channels/${encodeURIComponent(channelId)}/answer`, {});
  }

  async setVariable(channelId: string, name: string, value: string): Promise<void> {
    await this.#call('channels.setChannelVar', 'POST', `channels/${encodeURIComponent(channelId)}/variable`, { variable: name, value });
  }

  async listChannels(): Promise<AriChannel[]> {
    const result = await this.#call('channels.list', 'GET', 'channels', {});
    return parseWith(channelSchema.array(), result, 'listChannels');
  }

  async createBridge(bridgeId: string, name: string, type = 'mixing'): Promise<AriBridge> {
    const result = await this.#call('bridges.create', 'POST', 'bridges', { type, bridgeId, name });
    return parseWith(bridgeSchema, result, 'createBridge');
  }

  async destroyBridge(bridgeId: string): Promise<boolean> {
    return await this.#ignoreNotFound(() => this.#call('bridges.destroy', 'DELETE', `bridges/${encodeURIComponent(bridgeId)}`, {}));
  }

  async addChannels(bridgeId: string, channelIds: readonly string[]): Promise<void> {
    await this.#call('bridges.addChannel', 'POST', `bridges/${encodeURIComponent(bridgeId)}/addChannel`, { channel: channelIds.join(',') });
  }

  async listBridges(): Promise<AriBridge[]> {
    const result = await this.#call('bridges.list', 'GET', 'bridges', {});
    return parseWith(bridgeSchema.array(), result, 'listBridges');
  }

  async getApplication(): Promise<AriApplication> {
    const result = await this.#call('applications.get', 'GET', `applications/${encodeURIComponent(this.app)}`, {});
    return parseWith(applicationSchema, result, 'getApplication');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#dispose(this.#raw);
    this.#raw = null;
    this.#connected = false;
    this.#rest.close();
    this.removeAllListeners();
  }

  async #open(): Promise<void> {
    const { url, username, password } = this.#options;
    // ari-client's swagger loader reports a refused login twice: it rejects, and
    // it also raises an unhandled error of its own. Ask first, so bad
    // credentials are one clear AriError and ari-client never sees them.
    await this.#preflight();
    const raw = await withoutSwaggerNotice(() => withDeadline(connectRaw(url, username, password), this.#options.requestTimeoutMs, 'connect'));
    if (this.#closed) {
      this.#dispose(raw);
      return;
    }
    this.#raw = raw;
    raw.on('*', (event: unknown) => this.#onRawEvent(event));
    raw.on('WebSocketConnected', () => this.#onConnected());
    raw.on('WebSocketReconnecting', (err: unknown) => this.#onDisconnected(`websocket reconnecting: ${errorMessage(err)}`));
    raw.on('WebSocketMaxRetries', (err: unknown) => {
      this.#onDisconnected(`ari-client gave up: ${errorMessage(err)}`);
      this.#scheduleReconnect(raw);
    });
    await withDeadline(raw.start(this.app), this.#options.requestTimeoutMs, 'start');
  }

  async #preflight(): Promise<void> {
    const { url, username, password, requestTimeoutMs } = this.#options;
    const shown = redactUrlPassword(url);
    const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    let response: Response;
    try {
      response = await fetch(`${url.replace(/\/+$/, '')}/ari/asterisk/info`, { headers: { authorization }, signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new AriError(timedOut ? 'TIMEOUT' : 'UNAVAILABLE', `${shown}: ${timedOut ? `no answer within ${requestTimeoutMs} ms` : fetchFailure(err)}`, null, 'connect');
    }
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403) {
      throw new AriError(
        'UNAUTHORIZED',
        `ARI at ${shown} refused user ${JSON.stringify(username)} (${response.status}): ARI_USERNAME and ARI_PASSWORD must match a user section and its password in ari.conf`,
        response.status,
        'connect',
      );
    }
    if (!response.ok) throw new AriError(codeForStatus(response.status), `${shown}/ari/asterisk/info answered ${response.status}`, response.status, 'connect');
  }

  /** What a failed attempt left behind (ari-client connected, then start failed) is stopped. */
  #discardConnection(): void {
    this.#dispose(this.#raw);
    this.#raw = null;
    this.#connected = false;
  }

  /** The next wait of the reconnect loop: exponential from reconnectMinMs, capped, with jitter. */
  #nextRetryDelay(): number {
    const { reconnectMinMs, reconnectMaxMs } = this.#options;
    return Math.round(Math.min(reconnectMaxMs, reconnectMinMs * 2 ** this.#attempt++) * (0.5 + Math.random() / 2));
  }

  /** One line per attempt: attempts are already spaced by the backoff (at most one per reconnectMaxMs once it is reached). */
  #logRetry(err: unknown, delayMs: number): void {
    const url = redactUrlPassword(this.#options.url);
    this.#log.warn({ url, err: errorMessage(err), attempt: this.#attempt, retryInMs: delayMs }, `ARI not reachable at ${url}, retrying in ${formatSeconds(delayMs)}`);
  }

  #onConnected(): void {
    const reconnect = this.#everConnected;
    this.#everConnected = true;
    this.#connected = true;
    this.#attempt = 0;
    this.#log.info({ app: this.app, reconnect }, 'ARI events connected');
    this.safeEmit('connected', { reconnect });
  }

  #onDisconnected(reason: string): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#log.warn({ app: this.app, reason }, 'ARI events disconnected');
    this.safeEmit('disconnected', reason);
  }

  #scheduleReconnect(dead: RawAri, failure?: unknown): void {
    if (this.#closed) return;
    this.#dispose(dead);
    if (this.#raw === dead) this.#raw = null;
    const delay = this.#nextRetryDelay();
    if (failure !== undefined) this.#logRetry(failure, delay);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#open().catch((err: unknown) => {
        this.#discardConnection();
        this.#scheduleReconnect(dead, err);
      });
    }, delay);
  }

  #dispose(raw: RawAri | null): void {
    if (!raw) return;
    raw.removeAllListeners();
    try {
      raw.stop();
    } catch {
      // Best effort: the socket may already be gone.
    }
  }

  #onRawEvent(event: unknown): void {
    let parsed;
    try {
      parsed = parseAriEvent(plain(event));
    } catch (err) {
      const error = err instanceof AriEventParseError ? err : new AriEventParseError(errorMessage(err));
      this.#log.warn({ err: error.message }, 'dropped malformed ARI event');
      this.safeEmit('badevent', error);
      return;
    }
    if (parsed.type === 'ApplicationReplaced') this.#onDisconnected('application replaced by another connection');
    this.safeEmit('event', parsed);
  }

  async #call(operation: string, method: AriMethod, path: string, query: Readonly<Record<string, string | number | undefined>>, body?: object): Promise<unknown> {
    if (this.#closed) throw new AriError('UNAVAILABLE', 'the ARI client is closed', null, operation);
    return await this.#limiter.run(async () => {
      // Between ari-client giving up and our reconnect, Asterisk is taken to be gone.
      if (!this.#raw) throw new AriError('UNAVAILABLE', 'not connected to ARI', null, operation);
      return await this.#rest.send(method, path, query, operation, body);
    });
  }

  async #ignoreNotFound(request: () => Promise<unknown>): Promise<boolean> {
    try {
      await request();
      return true;
    } catch (err) {
      if (err instanceof AriError && err.code === 'NOT_FOUND') return false;
      throw err;
    }
  }
}

/**
 * swagger-client prints "This API is using a deprecated version of Swagger!"
 * with console.log on every connect (ARI serves Swagger 1.2). On a service whose
 * stdout is JSON log lines that one line is noise, so it alone is dropped.
 */
async function withoutSwaggerNotice<T>(run: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]): void => {
    // swagger-client logs its arguments as one array.
    const first: unknown = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (typeof first === 'string' && first.startsWith('This API is using a deprecated version of Swagger')) return;
    original(...args);
  };
  try {
    return await run();
  } finally {
    console.log = original;
  }
}

/** Refused credentials need a person; everything else (refused, timed out, ARI not loaded yet) may pass. */
function isTransient(err: unknown): boolean {
  return !(err instanceof AriError && err.code === 'UNAUTHORIZED');
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      const reason: unknown = signal?.reason;
      reject(reason instanceof Error ? reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AriError('TIMEOUT', `no answer within ${ms} ms`, null, operation)), ms);
  });
  return Promise.race([Promise.resolve(promise), deadline]).finally(() => clearTimeout(timer));
}
