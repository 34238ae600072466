import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../../common/src/logger.js';
import { WsConnection, redactUrl, type WsConnectionOptions, type WsDownInfo, type WsFailure } from '../../../../engine/src/pipeline/providers/ws-connection.js';
import { closedPort } from '../../../support/ports.js';
import { waitFor } from '../helpers.js';

type Fatal = 'unsupported_protocol';

interface Server {
  url: string;
  wss: WebSocketServer;
  /** Authorization header of every upgrade, in order. */
  auth: Array<string | undefined>;
  close: () => Promise<void>;
}

async function server(onConnection: (ws: WebSocket) => void, options: { autoPong?: boolean; refuse?: number } = {}): Promise<Server> {
  const auth: Array<string | undefined> = [];
  const refuse = options.refuse;
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    autoPong: options.autoPong ?? true,
    verifyClient: (info, cb) => {
      auth.push(info.req.headers.authorization);
      if (refuse !== undefined) cb(false, refuse);
      else cb(true);
    },
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  return {
    url: `ws://127.0.0.1:${address.port}/path?secret=x`,
    wss,
    auth,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

interface Recorded {
  opens: number;
  messages: Array<{ text: string; binary: boolean }>;
  failures: Array<WsFailure<Fatal>>;
  downs: WsDownInfo[];
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function connect(url: string, overrides: Partial<WsConnectionOptions<Fatal>> = {}): { conn: WsConnection<Fatal>; got: Recorded } {
  const conn = new WsConnection<Fatal>({
    url,
    connectTimeoutMs: 2000,
    maxMessageBytes: 1024 * 1024,
    pingIntervalMs: 0,
    reconnectInitialDelayMs: 1,
    reconnectMaxDelayMs: 20,
    reconnectMaxAttempts: 5,
    fatalCloseCodes: new Map([[4000, 'unsupported_protocol' as const]]),
    name: 'test',
    attemptGoal: 'connection',
    log: logger('test.ws-connection'),
    ...overrides,
  });
  const got: Recorded = { opens: 0, messages: [], failures: [], downs: [] };
  conn
    .on('open', () => got.opens++)
    .on('message', (data, binary) => got.messages.push({ text: text(data), binary }))
    .on('failure', (f) => got.failures.push(f))
    .on('down', (d) => got.downs.push(d));
  cleanup.push(async () => {
    conn.close(1000, 'done');
    await conn.whenClosed();
  });
  conn.start();
  return { conn, got };
}

describe('WsConnection', () => {
  it('sends the bearer token, relays messages, and close() sends its farewell and closes with the code given', async () => {
    const received: string[] = [];
    let closeCode = 0;
    const srv = await server((ws) => {
      ws.send('hello');
      ws.send(Buffer.from([1, 2]), { binary: true });
      ws.on('message', (data) => received.push(text(data)));
      ws.on('close', (code) => (closeCode = code));
    });
    cleanup.push(srv.close);
    const { conn, got } = connect(srv.url, { token: 'tok-123' });
    await waitFor(() => got.messages.length === 2, 5000, 'messages');
    expect(conn.open).toBe(true);
    expect(conn.socket).not.toBeNull();
    expect(got.opens).toBe(1);
    expect(srv.auth).toEqual(['Bearer tok-123']);
    expect(got.messages).toEqual([
      { text: 'hello', binary: false },
      { text: '\u0001\u0002', binary: true },
    ]);
    conn.close(4100, 'bye', 'farewell');
    expect(conn.open).toBe(false);
    expect(conn.socket).toBeNull();
    await conn.whenClosed();
    await waitFor(() => closeCode !== 0, 5000, 'server close');
    expect(received).toEqual(['farewell']);
    expect(closeCode).toBe(4100);
    expect(got.downs).toEqual([]);
    expect(got.failures).toEqual([]);
  });

  it('reconnects after the service drops it, and gives up on a fatal close code without another attempt', async () => {
    let connections = 0;
    const srv = await server((ws) => {
      connections++;
      if (connections === 1) ws.close(1011, 'restarting');
      else ws.close(4000, 'unsupported');
    });
    cleanup.push(srv.close);
    const { conn, got } = connect(srv.url);
    await waitFor(() => got.downs.length === 2, 5000, 'two downs');
    await new Promise((r) => setTimeout(r, 100));
    expect(connections).toBe(2);
    expect(got.opens).toBe(2);
    expect(got.downs).toEqual([
      { code: 1011, reason: 'restarting', opened: true, willReconnect: true },
      { code: 4000, reason: 'unsupported', opened: true, willReconnect: false },
    ]);
    expect(got.failures).toEqual([{ code: 'unsupported_protocol', message: 'service closed with 4000 unsupported' }]);
    expect(conn.open).toBe(false);
  });

  it('an upgrade refused with 401 is unauthorized: one failure, no reconnect, no gave_up', async () => {
    const srv = await server(() => undefined, { refuse: 401 });
    cleanup.push(srv.close);
    const { got } = connect(srv.url, { token: 'wrong' });
    await waitFor(() => got.downs.length === 1, 5000, 'down');
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.auth).toEqual(['Bearer wrong']);
    expect(got.failures).toEqual([{ code: 'unauthorized', message: 'service answered the upgrade with HTTP 401' }]);
    expect(got.downs[0]).toMatchObject({ opened: false, willReconnect: false });
    expect(got.opens).toBe(0);
  });

  it('with nothing listening, tries 1 + reconnectMaxAttempts times, then reports gave_up', async () => {
    const port = await closedPort();
    const { conn, got } = connect(`ws://127.0.0.1:${port}/`, { reconnectMaxAttempts: 2, attemptGoal: 'session' });
    await waitFor(() => got.failures.some((f) => f.code === 'gave_up'), 5000, 'gave_up');
    expect(got.failures.map((f) => f.code)).toEqual(['connect_failed', 'connect_failed', 'connect_failed', 'gave_up']);
    expect(got.failures.at(-1)?.message).toBe('no session after 2 attempts');
    expect(got.downs.map((d) => d.willReconnect)).toEqual([true, true, false]);
    expect(conn.open).toBe(false);
  });

  it('resetBackoff() restores the attempt budget: a flapping service that proves itself is retried beyond reconnectMaxAttempts', async () => {
    let connections = 0;
    const srv = await server((ws) => {
      connections++;
      ws.send('up');
      setTimeout(() => ws.terminate(), 5);
    });
    cleanup.push(srv.close);
    const { conn, got } = connect(srv.url, { reconnectMaxAttempts: 1 });
    conn.on('message', () => conn.resetBackoff());
    await waitFor(() => connections >= 4, 5000, 'four connections');
    expect(got.failures.filter((f) => f.code === 'gave_up')).toEqual([]);
  });

  it('terminates a socket whose pongs stop coming and reconnects', async () => {
    let connections = 0;
    const srv = await server(() => connections++, { autoPong: false });
    cleanup.push(srv.close);
    const { got } = connect(srv.url, { pingIntervalMs: 30 });
    await waitFor(() => connections >= 2, 5000, 'a second connection');
    expect(got.downs[0]).toMatchObject({ code: 1006, opened: true, willReconnect: true });
  });

  it('close() while connecting drops the attempt and resolves whenClosed(); nothing is emitted after', async () => {
    const srv = await server(() => undefined);
    cleanup.push(srv.close);
    const { conn, got } = connect(srv.url);
    conn.close(1000, 'stop');
    conn.close(1000, 'again');
    await conn.whenClosed();
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual({ opens: 0, messages: [], failures: [], downs: [] });
  });
});

describe('redactUrl', () => {
  it('keeps scheme, host and path; drops user-info and query', () => {
    expect(redactUrl('wss://user:pw@example.test:8443/v1/realtime?key=s3cret&model=m')).toBe('wss://example.test:8443/v1/realtime');
    expect(redactUrl('not a url')).toBe('[invalid url]');
  });
});
