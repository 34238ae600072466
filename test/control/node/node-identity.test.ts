import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { defaultNodeName, NodeIdentityClaim, NodeIdentityInUseError } from '../../../control/src/node/node-identity.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../alloc/redis-helpers.js';

const prefix = testPrefix();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const log = logger('test.node-identity');
let claims: NodeIdentityClaim[] = [];

afterEach(async () => {
  for (const c of claims) await c.close();
  claims = [];
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefix);
});

const acquire = async (node: string, ttlMs = 300): Promise<NodeIdentityClaim> => {
  const claim = await NodeIdentityClaim.acquire({ redisUrl: REDIS_URL, keyPrefix: prefix, node, log, ttlMs });
  claims.push(claim);
  return claim;
};

/** The pid of a process that has exited (a PID not in use, as far as this host knows). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

describe('node identity', () => {
  it('defaults to the host and the Stasis app: the same after a restart', () => {
    expect(defaultNodeName('pair_session')).toBe(`${hostname()}:pair_session`);
  });

  it('claims a free name and gives it up on close', async () => {
    const claim = await acquire('free-node');
    const held = JSON.parse((await redis.get(claim.key)) ?? '{}') as Record<string, unknown>;
    expect(held).toMatchObject({ host: hostname(), pid: process.pid });
    await claim.close();
    expect(await redis.get(claim.key)).toBeNull();
  });

  it("takes over at once the name of a process of this host that is gone (a crash, then a restart)", async () => {
    const key = `${prefix}node:crashed-node`;
    // The predecessor's claim, long enough that waiting for it to lapse would not end this test.
    await redis.set(key, JSON.stringify({ host: hostname(), pid: await deadPid(), since: 'earlier' }), 'PX', 600_000);
    const claim = await acquire('crashed-node', 600_000);
    expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({ host: hostname(), pid: process.pid });
    expect(claim.node).toBe('crashed-node');
  });

  it('refuses a name a live process of this host holds, with an error that says what to do', async () => {
    const key = `${prefix}node:busy-node`;
    // Our parent process: certainly alive.
    const holder = JSON.stringify({ host: hostname(), pid: process.ppid, since: 'earlier' });
    await redis.set(key, holder, 'PX', 600_000);
    const err = await acquire('busy-node', 600_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeIdentityInUseError);
    expect((err as Error).message).toContain(`process ${process.ppid} on ${hostname()}`);
    expect((err as Error).message).toContain('TANDEM_NODE');
    expect(await redis.get(key)).toBe(holder);
  });

  it('a name held from another host: refused while its holder renews it, taken once it lapses', async () => {
    const key = `${prefix}node:remote-node`;
    const holder = JSON.stringify({ host: 'another-host', pid: 1, since: 'earlier' });
    await redis.set(key, holder, 'PX', 2000);
    // A live holder elsewhere renews its claim (well within its TTL, even on a busy machine).
    const renewing = setInterval(() => void redis.pexpire(key, 2000), 100);
    try {
      const err = await acquire('remote-node', 1000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NodeIdentityInUseError);
      expect((err as Error).message).toContain('on another-host');
    } finally {
      clearInterval(renewing);
    }
    // It stops (it died): its claim lapses and the name is ours (this claimer waits up to 1.5 × its own TTL).
    await acquire('remote-node', 5000);
    expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({ host: hostname(), pid: process.pid });
  });

  it('keeps its claim renewed past its TTL, and reports a name another process took', async () => {
    const claim = await acquire('renewed-node', 2000);
    const lost: unknown[] = [];
    claim.on('lost', (holder) => lost.push(holder));
    // Renewed: its remaining time goes up again (waited for, not timed). Compared with the lowest
    // value seen, not the first: read right after the claim, the first is the whole TTL, which a
    // renewal can only equal.
    let lowest = await redis.pttl(claim.key);
    let renewed = false;
    const deadline = Date.now() + 60_000;
    while (!renewed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      const now = await redis.pttl(claim.key);
      if (now > lowest) renewed = true;
      else lowest = now;
    }
    expect(renewed).toBe(true);
    await redis.set(claim.key, JSON.stringify({ host: 'another-host', pid: 7 }), 'PX', 60_000);
    const until = Date.now() + 60_000;
    while (lost.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(lost).toEqual([{ host: 'another-host', pid: 7 }]);
    // Not ours to delete.
    await claim.close();
    expect(await redis.get(claim.key)).not.toBeNull();
  }, 150_000);
});
