import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { logRedisLink } from '../../../control/src/redis/link-log.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';
import { captureLog } from '../../support/capture-log.js';
import { waitFor } from '../../support/rtp-peer.js';
import { deletePrefix, testPrefix } from '../alloc/redis-helpers.js';
import { TcpProxy } from '../alloc/tcp-proxy.js';
import { freePortRange } from '../../support/ports.js';

/** What ioredis prints by itself when a client has no `error` listener. */
const unhandled = (spy: MockInstance): unknown[][] => spy.mock.calls.filter((args) => String(args[0]).includes('[ioredis] Unhandled error event'));

let consoleError: MockInstance;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error');
});
afterEach(() => {
  consoleError.mockRestore();
});

describe('Redis connections say when Redis goes away, once, and when it is back', () => {
  it('logs an outage once (not per reconnect attempt), without the password, and its end', async () => {
    const proxy = new TcpProxy(6379);
    await proxy.start();
    proxy.setRefusing(true);
    const url = `redis://:link-secret-pw@127.0.0.1:${proxy.port}`;
    const captured = captureLog();
    const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => 10, maxRetriesPerRequest: 0 });
    const unwatch = logRedisLink(redis, { log: captured.log, role: 'test publisher', url });
    try {
      redis.connect().catch(() => undefined);
      await waitFor(() => proxy.refused >= 5, 10_000);
      const warnings = captured.lines().filter((l) => l.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ role: 'test publisher', url: `redis://:***@127.0.0.1:${proxy.port}` });
      expect(warnings[0]?.msg).toBe(`Redis not reachable at redis://:***@127.0.0.1:${proxy.port} (test publisher); ioredis keeps reconnecting`);

      proxy.setRefusing(false);
      await waitFor(() => redis.status === 'ready', 10_000);
      const back = captured.lines().find((l) => l.level === 30);
      expect(back?.msg).toBe(`Redis reachable again at redis://:***@127.0.0.1:${proxy.port} (test publisher)`);
      expect(back?.['failures']).toBeGreaterThanOrEqual(5);
      expect(captured.text()).not.toContain('link-secret-pw');
      expect(unhandled(consoleError)).toEqual([]);
    } finally {
      unwatch();
      redis.disconnect();
      await proxy.stop();
    }
  });

  it("a node's own Redis clients never leave ioredis to print unhandled errors while Redis is away", async () => {
    const proxy = new TcpProxy(6379);
    await proxy.start();
    const prefix = testPrefix();
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
    const node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(100) },
      store: { poolSize: 2, redisUrl: `redis://127.0.0.1:${proxy.port}`, redisKeyPrefix: prefix },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'ari-secret' },
    });
    try {
      proxy.setRefusing(true);
      // Both clients (pair store, publisher) try again and again: well over one attempt each.
      await waitFor(() => proxy.refused >= 8, 20_000);
      expect(unhandled(consoleError)).toEqual([]);
      proxy.setRefusing(false);
    } finally {
      await node.close();
      await sim.close();
      await proxy.stop();
      await deletePrefix(prefix);
    }
  });
});
