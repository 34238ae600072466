import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LiveCalls, type LiveCall, type LivePair } from '../../../control/src/console/live-calls.js';
import { EngineSampler } from '../../../control/src/metrics/engine-sampler.js';
import type { EngineStats } from '../../../engine/src/index.js';

function liveCalls(pairs: LivePair[]): { live: LiveCalls; statsRequests: () => number } {
  let requests = 0;
  const sampler = new EngineSampler({
    stats: () => {
      requests++;
      return Promise.resolve({ pairs: 0, sockets: 0, shards: [] } as unknown as EngineStats);
    },
  }, { maxAgeMs: 600_000 });
  const app = Object.assign(new EventEmitter(), { pairs: () => pairs, pair: (id: string) => pairs.find((p) => p.pairId === id) });
  return { live: new LiveCalls({ app, sampler, ari: new EventEmitter(), intervalMs: 60_000 }), statsRequests: () => requests };
}

const PAIR: LivePair = { pairId: 'pair_001', extA: '7000', extB: '7001', callerChannelId: 'c1', callerId: '555', state: 'active', channelIds: ['c1'], facts: { startedAt: 1, answeredAt: 2 } };

describe('live calls for the console', () => {
  it('every watcher gets the same rows from one engine sample, serialized once for all the calls pages', async () => {
    const { live, statsRequests } = liveCalls([PAIR]);
    const seen: Array<{ rows: LiveCall[]; at: number }> = [];
    const first = new Promise<void>((resolve) => {
      live.watch((rows, at) => {
        seen.push({ rows, at });
        resolve();
      });
    });
    await first;
    const second = new Promise<{ rows: LiveCall[]; at: number }>((resolve) => live.watch((rows, at) => resolve({ rows, at })));
    const other = await second;
    expect(statsRequests()).toBe(1);
    const { rows, at } = seen[0]!;
    expect(other.rows).toBe(rows);
    expect(rows.map((r) => r.pairId)).toEqual(['pair_001']);
    const text = live.rowsJson(rows, at);
    expect(JSON.parse(text)).toEqual({ at, calls: JSON.parse(JSON.stringify(rows)) as unknown });
    // The same sample is not serialized again: a change to it made after the first page's payload does not show.
    rows[0]!.caller = 'changed';
    expect(live.rowsJson(other.rows, other.at)).toBe(text);
    // A new sample's rows are.
    expect(live.rowsJson([...rows], at)).toContain('"caller":"changed"');
    live.close();
  });
});
