import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisPairStore, type PairLease } from '../../../control/src/alloc/index.js';
import { REDIS_URL, deletePrefix, sleep, testPrefix } from './redis-helpers.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const children = new Set<ChildProcess>();

function spawnTs(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TANDEM_LOG_LEVEL: 'silent' },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the child's stdout once it exits 0; rejects with its stderr otherwise. */
function runToEnd(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before printing`)));
  });
}

interface WorkerReport {
  grants: Array<{ pairId: string; token: string }>;
  exhausted: number;
  refusedReleases: number;
  presenceWrites: number;
}

describe('several processes on one Redis', () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const p of prefixes) await deletePrefix(p);
  });

  /**
   * Replays Redis's own order of grants (A), releases (R), expiries (X), unreachable
   * marks (U) and their end (V): returns every violation of "one holder at a time" and
   * "never granted while its leg B is marked unreachable".
   */
  function replay(journal: string[], grants: WorkerReport['grants']): { violations: string[]; granted: Set<string>; held: number } {
    const holder = new Map<string, string>();
    const unreachable = new Set<string>();
    const granted = new Set<string>();
    const violations: string[] = [];
    for (const entry of journal) {
      const [kind, index = '', token = ''] = entry.split('|');
      if (kind === 'A') {
        if (holder.has(index)) violations.push(`pair ${index} granted to ${token} while held by ${holder.get(index)}`);
        if (unreachable.has(index)) violations.push(`pair ${index} granted to ${token} while its leg B is marked unreachable`);
        holder.set(index, token);
        granted.add(`pair_${String(Number(index) + 1).padStart(3, '0')}|${token}`);
      } else if (kind === 'R') {
        if (holder.get(index) !== token) violations.push(`pair ${index} released by ${token}, holder ${holder.get(index)}`);
        holder.delete(index);
      } else if (kind === 'U') {
        if (unreachable.has(index)) violations.push(`pair ${index} marked unreachable twice`);
        unreachable.add(index);
      } else if (kind === 'V') {
        if (!unreachable.delete(index)) violations.push(`pair ${index} cleared without a mark`);
      } else {
        violations.push(`unexpected journal entry ${entry}`);
      }
    }
    expect(granted).toEqual(new Set(grants.map((g) => `${g.pairId}|${g.token}`)));
    return { violations, granted, held: holder.size };
  }

  async function runWorkers(prefix: string, options: { processes: number; cycles: number; lanes: number; poolSize: number; presence: boolean }): Promise<WorkerReport[]> {
    const args = [prefix, String(options.cycles), String(options.lanes), String(options.poolSize), options.presence ? '1' : '0'];
    const outputs = await Promise.all(Array.from({ length: options.processes }, () => runToEnd(spawnTs('alloc-worker.ts', args))));
    return outputs.map((o) => JSON.parse(o.trim()) as WorkerReport);
  }

  it('never grants one pair to two holders at once (6 processes, 3,600 allocations)', { timeout: 180_000 }, async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const processes = 6;
    const cycles = 300;
    const lanes = 2;
    // 12 concurrent lanes on 5 pairs: the pool is exhausted often, so grants race.
    const reports = await runWorkers(prefix, { processes, cycles, lanes, poolSize: 5, presence: false });
    const grants = reports.flatMap((r) => r.grants);
    expect(grants).toHaveLength(processes * cycles * lanes);
    expect(reports.reduce((n, r) => n + r.refusedReleases, 0)).toBe(0);
    expect(reports.reduce((n, r) => n + r.exhausted, 0)).toBeGreaterThan(0);
    expect(new Set(grants.map((g) => g.token)).size).toBe(grants.length);

    const redis = new Redis(REDIS_URL, { commandTimeout: 5000 });
    try {
      const journal = await redis.lrange(`${prefix}pairs:journal`, 0, -1);
      const { violations, held } = replay(journal, grants);
      expect(violations).toEqual([]);
      expect(journal.length).toBe(2 * grants.length);
      expect(held).toBe(0);
      // Nothing leaked: every pair free again, no lease left.
      expect(await redis.zrange(`${prefix}pairs:free`, 0, -1)).toEqual(['0', '1', '2', '3', '4']);
      expect(await redis.zcard(`${prefix}pairs:leases`)).toBe(0);
      expect(await redis.keys(`${prefix}pairs:lease:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('never grants a pair twice, nor while its leg B is marked unreachable, with presence and suspect releases racing (4 processes)', { timeout: 180_000 }, async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const processes = 4;
    const cycles = 150;
    const lanes = 2;
    const reports = await runWorkers(prefix, { processes, cycles, lanes, poolSize: 5, presence: true });
    const grants = reports.flatMap((r) => r.grants);
    expect(grants).toHaveLength(processes * cycles * lanes);
    expect(reports.reduce((n, r) => n + r.refusedReleases, 0)).toBe(0);
    expect(reports.reduce((n, r) => n + r.presenceWrites, 0)).toBeGreaterThan(0);

    const redis = new Redis(REDIS_URL, { commandTimeout: 5000 });
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix: prefix, poolSize: 5, journal: true });
    try {
      // Every mark cleared: each pair is free again, or free at the back of the line.
      await store.setReachability({ complete: true, markTtlMs: 1000 });
      const journal = await redis.lrange(`${prefix}pairs:journal`, 0, -1);
      const { violations, held } = replay(journal, grants);
      expect(violations).toEqual([]);
      expect(journal.some((e) => e.startsWith('U|'))).toBe(true);
      expect(held).toBe(0);
      const inLine = [...(await redis.zrange(`${prefix}pairs:free`, 0, -1)), ...(await redis.zrange(`${prefix}pairs:suspect`, 0, -1))];
      expect(inLine.sort()).toEqual(['0', '1', '2', '3', '4']);
      expect(await redis.zcard(`${prefix}pairs:parked`)).toBe(0);
      expect(await redis.zcard(`${prefix}pairs:leases`)).toBe(0);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });

  it('a SIGKILLed holder keeps its pair until the lease lapses, then the pair comes back', { timeout: 60_000 }, async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const ttl = 2000;
    const child = spawnTs('hold-worker.ts', [prefix, String(ttl), '2']);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const held = JSON.parse(await firstLine(child)) as PairLease;
    expect(held.pairId).toBe('pair_001');
    const store = new RedisPairStore({ redisUrl: REDIS_URL, keyPrefix: prefix, poolSize: 2, leaseTtlMs: ttl });
    try {
      // The child's keeper renews every TTL/3: after 2.5 TTLs the lease is still its own.
      await sleep(2.5 * ttl);
      expect((await store.get('pair_001'))?.leaseToken).toBe(held.leaseToken);
      child.kill('SIGKILL');
      await exited;
      // Renewed at most TTL/3 ago: still held right after the crash.
      expect((await store.get('pair_001'))?.leaseToken).toBe(held.leaseToken);
      expect((await store.allocate()).pairId).toBe('pair_002');
      let freedAfter = -1;
      const killedAt = Date.now();
      while (Date.now() - killedAt < 20 * ttl) {
        if ((await store.get('pair_001')) === null) {
          freedAfter = Date.now() - killedAt;
          break;
        }
        await sleep(50);
      }
      expect(freedAfter).toBeGreaterThan(0);
      const again = await store.allocate();
      expect(again.pairId).toBe('pair_001');
      expect(await store.release('pair_001', held.leaseToken)).toBe(false);
    } finally {
      await store.close();
    }
  });
});
