/** Shared test support: a typed view of ari-client, an event collector, and a REST helper. */
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';

const require = createRequire(import.meta.url);

/** The slice of ari-client 2.2.0's surface these tests use (it ships no types). */
export interface AriClientChannel {
  id: string;
  name: string;
  state: string;
  channelvars?: Record<string, string>;
}
export interface AriClient {
  start(apps: string | string[]): Promise<void>;
  stop(): void;
  on(event: string, listener: (event: { type: string; [k: string]: unknown }, resource?: unknown) => void): void;
  removeAllListeners(): void;
  bridges: {
    create(opts: Record<string, unknown>): Promise<{ id: string; name: string; bridge_type: string }>;
    addChannel(opts: Record<string, unknown>): Promise<void>;
    destroy(opts: Record<string, unknown>): Promise<void>;
    list(): Promise<Array<{ id: string }>>;
  };
  channels: {
    originate(opts: Record<string, unknown>): Promise<AriClientChannel>;
    externalMedia(opts: Record<string, unknown>): Promise<AriClientChannel>;
    hangup(opts: Record<string, unknown>): Promise<void>;
    list(): Promise<AriClientChannel[]>;
    setChannelVar(opts: Record<string, unknown>): Promise<void>;
    getChannelVar(opts: Record<string, unknown>): Promise<{ value: string }>;
  };
  applications: { list(): Promise<Array<{ name: string; channel_ids: string[] }>> };
  _swagger: { apis: Record<string, { operations: Record<string, unknown> }> };
}
interface AriClientModule {
  connect(url: string, user: string, pass: string): Promise<AriClient>;
}

export const ariClient = require('ari-client') as AriClientModule;

export interface WsEvent {
  type: string;
  [k: string]: unknown;
}

/** A raw event WebSocket that records every message, with a wait helper. */
export class EventSocket {
  readonly events: WsEvent[] = [];
  readonly #ws: WebSocket;
  readonly #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      this.events.push(JSON.parse((data as Buffer).toString('utf8')) as WsEvent);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static open(ariUrl: string, app: string, user: string, pass: string): Promise<EventSocket> {
    const url = `${ariUrl.replace('http', 'ws')}/ari/events?app=${app}&api_key=${encodeURIComponent(user)}:${encodeURIComponent(pass)}`;
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new EventSocket(ws)));
      ws.once('error', reject);
    });
  }

  /** Resolves once `pred` holds over the events received so far (rejects after `timeoutMs`). */
  async waitFor(pred: (events: readonly WsEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; got ${this.events.map((e) => e.type).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.#ws.once('close', () => resolve());
      this.#ws.terminate();
    });
  }
}

export interface RestResult {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
  json: unknown;
}

/** One ARI REST call with Basic auth (or none), a timeout, and no keep-alive surprises. */
export async function rest(
  base: string,
  method: string,
  path: string,
  opts: { auth?: string | null; body?: unknown } = {},
): Promise<RestResult> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? 'tnd:tnd' : opts.auth;
  if (auth !== null) headers['Authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}/ari${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    // Only ends a stuck request: 100 concurrent pairs on a busy box queue for seconds.
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, statusText: res.statusText, headers: res.headers, text, json };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
