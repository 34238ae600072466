import { afterEach, describe, expect, it } from 'vitest';
import type { PairLeftovers } from '../../../control/src/calls/index.js';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { waitFor } from '../../support/rtp-peer.js';

/**
 * Teardown when Asterisk does not answer a DELETE (issue 11, item 4): a leg B whose hangup
 * timed out must not stay Up while its pair goes to the next caller.
 */
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.reverse()) await close().catch(() => undefined);
  cleanup = [];
});

async function start(options: { poolSize: number; requestTimeoutMs: number; portBase: number }): Promise<{ sim: AsteriskSimulator; node: TandemNode }> {
  const sim = await AsteriskSimulator.start({
    username: 'tandem',
    password: 'test-secret',
    endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } },
  });
  cleanup.push(() => sim.close());
  const node = await TandemNode.start({
    engine: { workers: 1, portRange: { min: options.portBase, max: options.portBase + 49 }, requestTimeoutMs: 30_000 },
    store: { poolSize: options.poolSize },
    // A short request deadline: the dropped DELETE times out soon (the others are answered at once).
    ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret', requestTimeoutMs: options.requestTimeoutMs },
  });
  cleanup.push(() => node.close());
  return { sim, node };
}

describe('teardown when a DELETE is never answered', () => {
  it('keeps the pair while its leg B is unconfirmed, hangs leg B up again, then releases the pair', async () => {
    const { sim, node } = await start({ poolSize: 1, requestTimeoutMs: 3000, portBase: 20700 });
    const active: string[] = [];
    const rejected: string[] = [];
    const held: Array<{ pairId: string; leftovers: PairLeftovers; legBUp: boolean }> = [];
    const unheld: string[] = [];
    node.app.on('pairactive', (p) => active.push(p.pairId));
    node.app.on('callrejected', (channelId) => rejected.push(channelId));
    node.app.on('pairheld', (pairId, leftovers) => held.push({ pairId, leftovers, legBUp: sim.channels().some((c) => c.id === 'chan_pair_001_B') }));
    node.app.on('pairunheld', (pairId) => unheld.push(pairId));

    const first = sim.placeCall({ callerNumber: '401', audio: tone(440) });
    await waitFor(() => active.length === 1, 30_000);

    // Asterisk takes leg B's DELETE and never answers it (nor acts on it) until told otherwise.
    let dropLegB = true;
    sim.deleteFaults = { match: (t) => dropLegB && t.kind === 'channel' && t.id === 'chan_pair_001_B', dropRate: 1, dropped: 'kept' };
    sim.hangup(first.channelId);
    await waitFor(() => held.length === 1, 30_000);
    expect(held[0]).toMatchObject({ pairId: 'pair_001', leftovers: { channels: ['chan_pair_001_B'], bridges: [] }, legBUp: true });
    expect(sim.deleteFaultCounts.droppedKept).toBeGreaterThanOrEqual(1);
    // The call is over for its record and its listeners; the pair is not free.
    expect(node.app.pairCount).toBe(0);
    expect(await node.store.get('pair_001')).toMatchObject({ state: 'releasing', owner: 'call' });
    expect([...node.app.heldPairs().keys()]).toEqual(['pair_001']);

    // A caller arriving meanwhile is not handed the pair whose old leg B may still be up.
    const second = sim.placeCall({ callerNumber: '402', audio: tone(440) });
    await waitFor(() => rejected.length === 1, 30_000);
    expect(rejected).toEqual([second.channelId]);
    expect(active).toEqual(['pair_001']);

    // Asterisk answers again: the retry hangs leg B up, and only then is the pair free.
    dropLegB = false;
    await waitFor(() => unheld.length === 1, 30_000);
    expect(sim.channels().some((c) => c.id === 'chan_pair_001_B')).toBe(false);
    expect(await node.store.list()).toEqual([]);
    expect(node.app.heldPairs().size).toBe(0);
    await waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 30_000);

    sim.placeCall({ callerNumber: '403', audio: tone(440) });
    await waitFor(() => active.length === 2, 30_000);
    expect(active).toEqual(['pair_001', 'pair_001']);
  });

  it('a DELETE Asterisk acted on but never answered: the retry meets 404 and releases the pair', async () => {
    const { sim, node } = await start({ poolSize: 2, requestTimeoutMs: 3000, portBase: 20750 });
    const active: string[] = [];
    const held: string[] = [];
    const unheld: string[] = [];
    node.app.on('pairactive', (p) => active.push(p.pairId));
    node.app.on('pairheld', (pairId) => held.push(pairId));
    node.app.on('pairunheld', (pairId) => unheld.push(pairId));
    sim.placeCall({ callerNumber: '401', audio: tone(440) });
    await waitFor(() => active.length === 1, 30_000);
    // The first DELETE of each of this pair's objects is done, but its answer lost.
    const seen = new Set<string>();
    const firstTime = (id: string): boolean => !seen.has(id) && Boolean(seen.add(id));
    sim.deleteFaults = { match: (t) => t.id.includes('pair_001') && firstTime(t.id), dropRate: 1, dropped: 'deleted' };
    sim.hangup('chan_pair_001_B');
    await waitFor(() => unheld.length === 1, 30_000);
    expect(held).toEqual(['pair_001']);
    // externalMedia A and B, bridges A and B (the caller's hangup was answered).
    expect(sim.deleteFaultCounts.droppedDeleted).toBe(4);
    expect(sim.channels()).toEqual([]);
    expect(sim.bridges()).toEqual([]);
    expect(await node.store.list()).toEqual([]);
  });

  it('slow DELETEs answered within the deadline: verified, nothing held', async () => {
    const { sim, node } = await start({ poolSize: 2, requestTimeoutMs: 10_000, portBase: 20800 });
    const active: string[] = [];
    const closed: string[] = [];
    const held: string[] = [];
    node.app.on('pairactive', (p) => active.push(p.pairId));
    node.app.on('pairclosed', (pairId) => closed.push(pairId));
    node.app.on('pairheld', (pairId) => held.push(pairId));
    const call = sim.placeCall({ callerNumber: '401', audio: tone(440) });
    await waitFor(() => active.length === 1, 30_000);
    sim.deleteFaults = { delayMs: [100, 400] };
    sim.hangup(call.channelId);
    await waitFor(() => closed.length === 1, 30_000);
    expect(held).toEqual([]);
    expect(sim.deleteFaultCounts.delayed).toBeGreaterThanOrEqual(5);
    expect(sim.channels()).toEqual([]);
    expect(sim.bridges()).toEqual([]);
    expect(await node.store.list()).toEqual([]);
  });
});
