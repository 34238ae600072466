import { request as httpRequest } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidStateError } from '../../../common/src/errors.js';
import { MemoryPairStore, RedisPairStore, type PairStore } from '../../../control/src/alloc/index.js';
import { createControlApi, PUBLIC_ROUTE, type ControlApi, type ListenAddress } from '../../../control/src/http/index.js';
import { closedPort } from '../alloc/redis-helpers.js';
import { captureLog } from '../../support/capture-log.js';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Response {
  status: number;
  body: unknown;
}

/** One HTTP request over TCP or a Unix socket, with a timeout; JSON in and out. */
function call(address: ListenAddress, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Response> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const target = 'url' in address ? { ...urlParts(address.url) } : { socketPath: address.socketPath };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        ...target,
        method,
        path,
        timeout: 10_000,
        // content-length explicitly: Node frames no DELETE body by itself.
        headers: { ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }), ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

function urlParts(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

describe('control API', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(store: PairStore = new MemoryPairStore({ poolSize: 2 }), extra: { socketPath?: string; token?: string } = { token: TOKEN }): Promise<{ api: ControlApi; address: ListenAddress; store: PairStore }> {
    const api = createControlApi({ store, ...extra });
    cleanups.push(() => store.close());
    cleanups.push(() => api.close());
    const address = await api.listen();
    return { api, address, store };
  }

  it('refuses to start on TCP without a token, or with a weak one', () => {
    const store = new MemoryPairStore();
    expect(() => createControlApi({ store })).toThrow(ConfigError);
    try {
      createControlApi({ store, token: 'short' });
    } catch (err) {
      expect((err as ConfigError).key).toBe('token');
    }
    expect(() => createControlApi({ store, token: 'short' })).toThrow(ConfigError);
    expect(() => createControlApi({ store, token: TOKEN, port: 70_000 })).toThrow(ConfigError);
  });

  it('binds 127.0.0.1 by default', async () => {
    const { address } = await start();
    expect('url' in address && address.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('requires the bearer token on TCP: 401 without it, with a wrong one, with another scheme', async () => {
    const { address } = await start();
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
      const res = await call(address, 'GET', '/v1/pairs', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect((await call(address, 'POST', '/v1/pairs', { body: {} })).status).toBe(401);
    expect((await call(address, 'DELETE', '/v1/pairs/pair_001', { headers: { 'x-lease-token': 'x' } })).status).toBe(401);
    expect((await call(address, 'GET', '/v1/pairs', { headers: AUTH })).status).toBe(200);
    // Unknown routes too: no probing the route table without a token.
    expect((await call(address, 'GET', '/v1/secret')).status).toBe(401);
    // The health probe is public and says nothing about calls.
    expect(await call(address, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('logs refused requests with the remote address and the reason, never the token, at most once a minute per address', async () => {
    const captured = captureLog();
    const store = new MemoryPairStore({ poolSize: 2 });
    const api = createControlApi({ store, token: TOKEN, log: captured.log });
    cleanups.push(() => store.close());
    cleanups.push(() => api.close());
    const address = await api.listen();
    for (let i = 0; i < 5; i++) {
      expect((await call(address, 'GET', '/v1/pairs?x=1', { headers: { authorization: 'Bearer presented-wrong-token-4242' } })).status).toBe(401);
    }
    expect((await call(address, 'GET', '/v1/pairs')).status).toBe(401);
    expect((await call(address, 'GET', '/v1/pairs', { headers: AUTH })).status).toBe(200);
    const refusals = captured.lines().filter((l) => String(l.msg).startsWith('API request refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 40, remote: '127.0.0.1', method: 'GET', path: '/v1/pairs', reason: 'invalid bearer token', suppressed: 0 });
    expect(captured.text()).not.toContain('presented-wrong-token');
    expect(captured.text()).not.toContain(TOKEN);
  });

  it('every error has the one body shape and the code its status means: 413, 415, 414 and a bad URL too', async () => {
    const { address } = await start();
    const url = 'url' in address ? address.url : '';
    const expectError = async (res: globalThis.Response, status: number, code: string): Promise<string> => {
      expect(res.status).toBe(status);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['code', 'message']);
      expect(body['code']).toBe(code);
      return String(body['message']);
    };
    const json = { ...AUTH, 'content-type': 'application/json' };
    await expectError(await fetch(`${url}/v1/pairs`, { method: 'POST', headers: json, body: JSON.stringify({ callerId: 'x'.repeat(20_000) }) }), 413, 'PAYLOAD_TOO_LARGE');
    await expectError(await fetch(`${url}/v1/pairs`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/xml' }, body: '<pair/>' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await fetch(`${url}/v1/pairs`, { method: 'POST', headers: json, body: '{"callerId":' }), 400, 'BAD_REQUEST');
    // Over-long and malformed paths fail in the router, before any hook: the same shape, and the token still comes first.
    const long = `/v1/pairs/${'p'.repeat(101)}`;
    expect(await expectError(await fetch(`${url}${long}`, { headers: AUTH }), 414, 'URI_TOO_LONG')).toBe('a path parameter is longer than 100 characters');
    await expectError(await fetch(`${url}${long}`), 401, 'UNAUTHORIZED');
    await expectError(await fetch(`${url}/v1/pairs/%E0%A4%A`, { headers: AUTH }), 400, 'BAD_REQUEST');
    await expectError(await fetch(`${url}/v1/pairs/%E0%A4%A`), 401, 'UNAUTHORIZED');
    await expectError(await fetch(`${url}/v1/nothing-here`, { headers: AUTH }), 404, 'NOT_FOUND');
  });

  it('POST /v1/pairs allocates: 201 with the session and its lease token', async () => {
    const { address, store } = await start();
    const res = await call(address, 'POST', '/v1/pairs', { headers: AUTH, body: { callerId: '+4930123' } });
    expect(res.status).toBe(201);
    const stored = await store.get('pair_001');
    expect(res.body).toEqual(stored);
    expect(res.body).toMatchObject({ pairId: 'pair_001', extA: '7000', extB: '7001', state: 'allocated', callerId: '+4930123' });
    const noBody = await call(address, 'POST', '/v1/pairs', { headers: AUTH });
    expect(noBody.status).toBe(201);
    expect(noBody.body).toMatchObject({ pairId: 'pair_002', callerId: null });
  });

  it('POST /v1/pairs answers 503 POOL_EXHAUSTED when no pair is free', async () => {
    const { address } = await start(new MemoryPairStore({ poolSize: 1 }));
    expect((await call(address, 'POST', '/v1/pairs', { headers: AUTH, body: {} })).status).toBe(201);
    const res = await call(address, 'POST', '/v1/pairs', { headers: AUTH, body: {} });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ code: 'POOL_EXHAUSTED', message: expect.stringMatching(/no free pair/) as unknown });
  });

  it('validates bodies: 400 BAD_REQUEST with a message', async () => {
    const { address } = await start();
    for (const body of [{ callerId: 42 }, { callerId: 'x', extra: true }, [1, 2]]) {
      const res = await call(address, 'POST', '/v1/pairs', { headers: AUTH, body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'BAD_REQUEST', message: expect.any(String) as unknown });
    }
    expect((await call(address, 'GET', '/v1/pairs', { headers: AUTH })).body).toEqual({ pairs: [] });
  });

  it('GET /v1/pairs and /v1/pairs/:pairId show the lease table without lease tokens', async () => {
    const { address, store } = await start(new MemoryPairStore({ poolSize: 3 }));
    const a = await store.allocate({ callerId: 'alice' });
    await store.setState(a.pairId, a.leaseToken, 'active');
    const { leaseToken: _token, ...publicA } = { ...a, state: 'active' };
    const list = await call(address, 'GET', '/v1/pairs', { headers: AUTH });
    expect(list).toEqual({ status: 200, body: { pairs: [publicA] } });
    expect(await call(address, 'GET', '/v1/pairs/pair_001', { headers: AUTH })).toEqual({ status: 200, body: publicA });
    const free = await call(address, 'GET', '/v1/pairs/pair_002', { headers: AUTH });
    expect(free.status).toBe(404);
    expect(free.body).toMatchObject({ code: 'PAIR_FREE' });
  });

  it('an invalid or unknown PAIR_ID is a 404 that says why', async () => {
    const { address } = await start();
    const malformed = await call(address, 'GET', '/v1/pairs/pair_1', { headers: AUTH });
    expect(malformed.status).toBe(404);
    expect(malformed.body).toEqual({ code: 'UNKNOWN_PAIR', message: 'invalid PAIR_ID "pair_1": expected pair_ followed by 3 digits' });
    const outside = await call(address, 'DELETE', '/v1/pairs/pair_003', { headers: { ...AUTH, 'x-lease-token': 'abc' } });
    expect(outside.status).toBe(404);
    expect(outside.body).toMatchObject({ code: 'UNKNOWN_PAIR', message: expect.stringMatching(/unknown PAIR_ID "pair_003".*pair_001\.\.pair_002/) as unknown });
    const route = await call(address, 'GET', '/v2/nothing', { headers: AUTH });
    expect(route).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'no route GET /v2/nothing' } });
  });

  it('DELETE /v1/pairs/:pairId releases with the lease token from a header or the body', async () => {
    const { address, store } = await start();
    const a = await store.allocate();
    const b = await store.allocate();
    const missing = await call(address, 'DELETE', `/v1/pairs/${a.pairId}`, { headers: AUTH });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'LEASE_TOKEN_REQUIRED' });
    const wrong = await call(address, 'DELETE', `/v1/pairs/${a.pairId}`, { headers: { ...AUTH, 'x-lease-token': b.leaseToken } });
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ code: 'LEASE_MISMATCH' });
    expect((await store.get(a.pairId))?.leaseToken).toBe(a.leaseToken);
    expect(await call(address, 'DELETE', `/v1/pairs/${a.pairId}`, { headers: { ...AUTH, 'x-lease-token': a.leaseToken } })).toEqual({ status: 204, body: undefined });
    expect(await store.get(a.pairId)).toBeNull();
    // Idempotent.
    expect((await call(address, 'DELETE', `/v1/pairs/${a.pairId}`, { headers: { ...AUTH, 'x-lease-token': a.leaseToken } })).status).toBe(204);
    const viaBody = await call(address, 'DELETE', `/v1/pairs/${b.pairId}`, { headers: AUTH, body: { leaseToken: b.leaseToken } });
    expect(viaBody).toEqual({ status: 204, body: undefined });
    expect(await store.list()).toEqual([]);
  });

  it('POST /v1/pairs/:pairId/renew renews a held lease, 409 otherwise', async () => {
    let now = Date.now();
    const { address, store } = await start(new MemoryPairStore({ poolSize: 2, leaseTtlMs: 1000, now: () => now }));
    const a = await store.allocate();
    now += 800;
    expect((await call(address, 'POST', `/v1/pairs/${a.pairId}/renew`, { headers: { ...AUTH, 'x-lease-token': a.leaseToken } })).status).toBe(204);
    now += 800;
    expect((await store.get(a.pairId))?.leaseToken).toBe(a.leaseToken);
    const wrong = await call(address, 'POST', `/v1/pairs/${a.pairId}/renew`, { headers: AUTH, body: { leaseToken: 'nope' } });
    expect(wrong.status).toBe(409);
  });

  it('reports an unreachable store as 503 STORE_UNAVAILABLE, health included', async () => {
    const port = await closedPort();
    const store = new RedisPairStore({ redisUrl: `redis://127.0.0.1:${port}`, poolSize: 2, commandTimeoutMs: 300, connectTimeoutMs: 300 });
    const { address } = await start(store);
    const alloc = await call(address, 'POST', '/v1/pairs', { headers: AUTH, body: {} });
    expect(alloc.status).toBe(503);
    expect(alloc.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const health = await call(address, 'GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('serves on a Unix socket (mode 0600, no token needed), removes a stale socket, refuses a live one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-http-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'control.sock');
    // A stale socket file, as a crashed process leaves it.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
    const staleClosed = new Promise<void>((resolve) => stale.close(() => resolve()));
    await staleClosed;
    const { api, address } = await start(new MemoryPairStore({ poolSize: 2 }), { socketPath });
    expect(address).toEqual({ socketPath });
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    const res = await call(address, 'POST', '/v1/pairs', { body: { callerId: 'unix' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ pairId: 'pair_001', callerId: 'unix' });
    expect((await call(address, 'GET', '/v1/pairs')).body).toMatchObject({ pairs: [{ pairId: 'pair_001' }] });
    // A second server on the same live socket is refused, not allowed to steal it.
    const second = createControlApi({ store: new MemoryPairStore(), socketPath });
    await expect(second.listen()).rejects.toMatchObject({ code: 'SOCKET_IN_USE' });
    await second.close();
    await api.close();
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a token on a Unix socket is enforced too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-http-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { address } = await start(new MemoryPairStore(), { socketPath: join(dir, 's.sock'), token: TOKEN });
    expect((await call(address, 'GET', '/v1/pairs')).status).toBe(401);
    expect((await call(address, 'GET', '/v1/pairs', { headers: AUTH })).status).toBe(200);
  });

  it('routes added by other areas get auth and the error format', async () => {
    const store = new MemoryPairStore();
    const api = createControlApi({ store, token: TOKEN });
    cleanups.push(() => store.close());
    cleanups.push(() => api.close());
    api.app.get('/v1/extra', async () => ({ extra: true }));
    api.app.get('/v1/open', { config: PUBLIC_ROUTE }, async () => ({ open: true }));
    api.app.get('/v1/boom', async () => {
      throw new Error('secret internals');
    });
    const address = await api.listen();
    expect((await call(address, 'GET', '/v1/extra')).status).toBe(401);
    expect(await call(address, 'GET', '/v1/extra', { headers: AUTH })).toEqual({ status: 200, body: { extra: true } });
    expect(await call(address, 'GET', '/v1/open')).toEqual({ status: 200, body: { open: true } });
    expect(await call(address, 'GET', '/v1/boom', { headers: AUTH })).toEqual({ status: 500, body: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('close is idempotent; listen after close throws', async () => {
    const { api } = await start();
    await api.close();
    await api.close();
    expect(api.closed).toBe(true);
    await expect(api.listen()).rejects.toThrow(InvalidStateError);
  });
});
