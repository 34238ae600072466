import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator, tone, type EndpointConfig } from '../../../tools/asterisk-simulator/ari/index.js';
import { TandemNode, type TandemNodeOptions } from '../../../control/src/node/tandem-node.js';
import { estimateCallQuality, type CallRecord } from '../../../control/src/records/index.js';
import { expectAllReleased, type Harness } from '../../support/control-harness.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** A node on a fresh simulator, with its call records collected as they are made. */
async function start(endpoints: Record<string, EndpointConfig>, extra: Partial<TandemNodeOptions> = {}): Promise<Harness & { records: CallRecord[] }> {
  const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', eventOrder: 'recorded', endpoints });
  let node: TandemNode;
  try {
    node = await TandemNode.start({
      // A busy machine may take seconds to start a worker: the deadline is only for a stuck one.
      engine: { workers: 1, portRange: await freePortRange(200), requestTimeoutMs: 30_000 },
      store: { poolSize: 5, node: 'node-under-test' },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      ...extra,
    });
  } catch (err) {
    await sim.close();
    throw err;
  }
  const records: CallRecord[] = [];
  const harness = {
    sim,
    node,
    closed: [] as Harness['closed'],
    active: [] as string[],
    rejected: [] as string[],
    records,
    async close() {
      await node.close();
      await sim.close();
    },
  };
  node.app.on('pairclosed', (pairId, reason) => harness.closed.push({ pairId, reason }));
  node.app.on('pairactive', (pair) => harness.active.push(pair.pairId));
  // The records the node made, in order (read back from its own store, as the API does).
  node.app.on('callended', () => {
    void node.records.list({ limit: 1000, order: 'asc' }).then(({ calls }) => records.splice(0, records.length, ...calls));
  });
  h = harness;
  return harness;
}

const answering = (hz: number): EndpointConfig => ({ behaviour: 'answer', answerAfterMs: 50, audio: tone(hz) });

describe('a call record for every call, through the simulator', () => {
  it('a call the caller ends: exactly one record with both legs counted and a plausible MOS', async () => {
    const t = await start({ '7001': answering(880) });
    const before = Date.now();
    const call = t.sim.placeCall({ callerNumber: '5551234', audio: tone(440) });
    await waitFor(() => t.active.length === 1, 10_000);
    await sleep(1500); // audio both ways
    t.sim.hangup(call.channelId);
    await waitFor(() => t.records.length === 1, 10_000);
    await expectAllReleased(t);
    await sleep(100);
    expect(t.records).toHaveLength(1); // one call, one record: nothing more after teardown

    const r = t.records[0]!;
    expect(r).toMatchObject({
      pairId: 'pair_001',
      callId: call.channelId,
      extA: '7000',
      extB: '7001',
      caller: '5551234',
      node: 'node-under-test',
      hangupBy: 'caller',
      hangupCause: null, // a caller's BYE: ChannelHangupRequest without a cause, no ChannelDestroyed (docs/asterisk-facts.md)
      teardownReason: 'caller-hangup',
      codec: 'ulaw',
      translated: false,
    });
    expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const started = Date.parse(r.startedAt);
    const answered = Date.parse(r.answeredAt!);
    const ended = Date.parse(r.endedAt);
    expect(started).toBeGreaterThanOrEqual(before);
    expect(answered).toBeGreaterThanOrEqual(started);
    expect(ended).toBeGreaterThan(answered);
    expect(r.durationMs).toBe(ended - started);
    expect(r.talkMs).toBe(ended - answered);
    expect(r.durationMs).toBeGreaterThanOrEqual(1500);
    expect(r.setupMs).toBeGreaterThan(0);
    expect(r.setupMs!).toBeLessThanOrEqual(r.durationMs);
    expect(r.teardownMs).toBeGreaterThanOrEqual(0);

    expect(r.legs).not.toBeNull();
    for (const [name, leg] of Object.entries(r.legs!)) {
      expect(leg.ext, name).toBe(name === 'A' ? '7000' : '7001');
      expect(leg.rxPackets, name).toBeGreaterThan(50);
      expect(leg.txPackets, name).toBeGreaterThan(50);
      expect(leg.rxBytes, name).toBe(leg.rxPackets * (12 + 160));
      expect(leg.played, name).toBeGreaterThan(0);
      // Nothing is lost on loopback, but a very busy machine makes packets late (counted as lost).
      expect(leg.lossPct, name).toBeLessThan(25);
      expect(leg.played, name).toBeLessThanOrEqual(leg.rxPackets);
      expect(leg.depthMeanMs, name).toBeGreaterThan(0);
      expect(leg.depthMaxMs, name).toBeGreaterThanOrEqual(leg.depthMeanMs);
      expect(leg.jitterMaxMs, name).toBeGreaterThanOrEqual(leg.jitterMeanMs);
      expect(leg.delayMs, name).toBeCloseTo(20 + leg.depthMeanMs, 1);
      // The G.107 estimate for G.711 with this leg's own loss and delay: at most 4.41, and no less than 4.1 without loss.
      const expected = estimateCallQuality({ codec: 'ulaw', lossPct: leg.lossPct, oneWayDelayMs: leg.delayMs });
      expect(leg.mos, name).toBeCloseTo(expected.mos, 1);
      expect(leg.mos, name).toBeLessThanOrEqual(4.41);
      expect(leg.mos, name).toBeGreaterThan(2.5);
      if (leg.lossPct === 0) expect(leg.mos, name).toBeGreaterThanOrEqual(4.1);
    }
    expect(r.mosA).toBe(r.legs!.A.mos);
    expect(r.mosB).toBe(r.legs!.B.mos);
    // What Asterisk's side of each externalMedia channel sent is what the leg received.
    expect(r.legs!.B.txPackets).toBeGreaterThan(0);
  });

  it('leg B hangs up: ended by leg B with its cause (16 from ChannelDestroyed)', async () => {
    const t = await start({ '7001': answering(880) });
    t.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => t.active.length === 1, 10_000);
    await sleep(300);
    t.sim.hangup('chan_pair_001_B');
    await waitFor(() => t.records.length === 1, 10_000);
    expect(t.records[0]).toMatchObject({ hangupBy: 'legb', hangupCause: 16, teardownReason: 'legb-hangup' });
    expect(t.records[0]!.answeredAt).not.toBeNull();
    await expectAllReleased(t);
  });

  it('busy: ended by leg B with cause 17, never answered, no talk time', async () => {
    const t = await start({ '7001': { behaviour: 'busy' } });
    t.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => t.records.length === 1, 10_000);
    const r = t.records[0]!;
    expect(r).toMatchObject({ hangupBy: 'legb', hangupCause: 17, teardownReason: 'legb-busy', answeredAt: null, talkMs: null, setupMs: null });
    expect(r.legs).not.toBeNull(); // the engine pair was open while leg B rang
    await expectAllReleased(t);
  });

  it('originate failure (no contact → 500, no events): ended by Tandem, never answered', async () => {
    const t = await start({ '7001': { behaviour: 'nocontact' } });
    t.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => t.records.length === 1, 10_000);
    expect(t.records[0]).toMatchObject({ hangupBy: 'tandem', hangupCause: null, teardownReason: 'originate-failed', answeredAt: null, talkMs: null });
    await expectAllReleased(t);
  });

  it('the engine loses the pair (worker crash): the record says so with no leg counters', async () => {
    const t = await start({ '7001': answering(880) });
    t.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => t.active.length === 1, 10_000);
    const stats = await t.node.engine.stats();
    await t.node.engine.threads.find((w) => w.threadId === stats.shards[0]!.threadId)!.terminate();
    await waitFor(() => t.records.length === 1, 10_000);
    expect(t.records[0]).toMatchObject({ hangupBy: 'tandem', teardownReason: 'engine-error', legs: null, mosA: null, mosB: null });
    await expectAllReleased(t);
  });
});
