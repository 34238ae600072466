import { afterEach, describe, expect, it } from 'vitest';
import { parseEngineConfig } from '../../../engine/src/config/engine-config.js';
import { Shard } from '../../../engine/src/worker/shard.js';

let shard: Shard | undefined;
afterEach(() => {
  shard?.close();
  shard = undefined;
});

/** A shard on this thread with `n` pairs open (their legs bound on 127.0.0.1, no peer yet). */
async function shardWithPairs(n: number): Promise<Shard> {
  const s = new Shard(0, 1, parseEngineConfig({ workers: 1, io: 'dgram', workerNice: 0 }));
  shard = s;
  for (let i = 0; i < n; i++) await s.openPair({ pairId: `pair_${String(i).padStart(3, '0')}`, extA: String(7000 + 2 * i), extB: String(7001 + 2 * i) });
  return s;
}

describe('shard stats', () => {
  it('gathers many pairs in slices with the event loop free in between, and counts every pair once', async () => {
    const s = await shardWithPairs(60);
    let turned = false;
    const pending = s.statsInSlices();
    // Queued after the first slice: it runs before the last slice only if the gathering lets the loop turn.
    setImmediate(() => {
      turned = true;
    });
    const stats = await pending;
    expect(turned).toBe(true);
    expect(stats.pairs).toBe(60);
    expect(stats.pairStats.map((p) => p.pairId)).toEqual(s.stats().pairStats.map((p) => p.pairId));
    expect(new Set(stats.pairStats.map((p) => p.pairId)).size).toBe(60);
  });

  it('leaves out a pair closed while it gathers (its final counters went with closePair)', async () => {
    const s = await shardWithPairs(60);
    const pending = s.statsInSlices();
    expect(s.closePair('pair_059', 'test')?.pairId).toBe('pair_059');
    const stats = await pending;
    expect(stats.pairStats.map((p) => p.pairId)).not.toContain('pair_059');
    expect(stats.pairStats).toHaveLength(59);
    expect(stats.pairs).toBe(59);
  });
});
