import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../control/src/simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';

const prefix = `tandem:test:${randomBytes(6).toString('hex')}:`;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });

afterAll(async () => {
  await redis.connect().catch(() => undefined);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('reconciliation on start', () => {
  it('cleans up after a node that died mid-call: channels, bridges and its Redis leases', async () => {
    const sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'test-secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) }, '7003': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } },
    });
    const options = {
      engine: { workers: 1, portRange: { min: 28000, max: 28199 } },
      store: { redisUrl: 'redis://127.0.0.1:6379', redisKeyPrefix: prefix, poolSize: 10, node: 'node-under-test' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
    };
    try {
      const first = await TandemNode.start(options);
      const active: string[] = [];
      first.app.on('pairactive', (p) => active.push(p.pairId));
      sim.placeCall({ callerNumber: '401', audio: tone(440) });
      sim.placeCall({ callerNumber: '402', audio: tone(440) });
      await waitFor(() => active.length === 2, 10_000);
      expect(sim.bridges()).toHaveLength(4);
      expect((await first.store.list()).map((l) => l.pairId)).toEqual(['pair_001', 'pair_002']);

      // A crash: the process vanishes without tearing anything down.
      await first.ari.close();
      await first.engine.close();
      await first.store.close();
      expect(sim.channels()).toHaveLength(8);

      const second = await TandemNode.start(options);
      try {
        await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 10_000);
        expect(await second.store.list()).toEqual([]);
        // And the node serves new calls on the recovered pool.
        const again: string[] = [];
        second.app.on('pairactive', (p) => again.push(p.pairId));
        sim.placeCall({ callerNumber: '403', audio: tone(440) });
        await waitFor(() => again.length === 1, 10_000);
        expect(again).toEqual(['pair_001']);
      } finally {
        await second.close();
      }
      await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 10_000);
    } finally {
      await sim.close();
    }
  });
});
