import { afterEach, describe, expect, it } from 'vitest';
import { tone } from '../../../tools/asterisk-simulator/ari/index.js';
import type { LegStats } from '../../../engine/src/index.js';
import { startHarness, type Harness } from '../../support/control-harness.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function pairLegs(harness: Harness, pairId: string): Promise<{ legA: LegStats; legB: LegStats } | undefined> {
  const stats = await harness.node.engine.stats();
  return stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === pairId);
}

describe("tandem start: each leg hears only Asterisk's side of its externalMedia channel", () => {
  it('connects a leg to UNICASTRTP_LOCAL_ADDRESS:PORT before bridging its channel, so none of its packets is lost', async () => {
    h = await startHarness({ endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) } } });
    // A busy engine worker: its answer to setRemote comes late. Asterisk sends from the moment the
    // channel is bridged, and a leg that does not latch drops what comes before it knows its peer.
    const engine = h.node.engine;
    const setRemote = engine.setRemote.bind(engine);
    engine.setRemote = async (...args: Parameters<typeof engine.setRemote>) => {
      await sleep(300);
      await setRemote(...args);
    };
    h.sim.placeCall({ callerNumber: '5551234', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 10_000);
    let legs: { legA: LegStats; legB: LegStats } | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      legs = await pairLegs(h, 'pair_001');
      if (legs && legs.legA.jitter.received >= 10 && legs.legB.jitter.received >= 10) break;
      await sleep(20);
    }
    const vars = new Map(h.sim.channels().map((c) => [c.id, c.vars]));
    for (const [leg, channelId] of [['legA', 'em_pair_001_A'], ['legB', 'em_pair_001_B']] as const) {
      const stats = legs?.[leg];
      expect(stats).toMatchObject({
        latch: false,
        connected: true,
        remote: { address: vars.get(channelId)?.['UNICASTRTP_LOCAL_ADDRESS'], port: Number(vars.get(channelId)?.['UNICASTRTP_LOCAL_PORT']) },
      });
      expect(stats?.jitter.received).toBeGreaterThanOrEqual(10);
      // Every packet Asterisk sent reached the jitter buffer: none before the leg knew its peer.
      expect(stats?.rxDropped).toEqual({});
      expect(stats?.rxPackets).toBe(stats?.jitter.received);
    }
    // With --io native (the default when the addon loads) a packet from a source no leg knows yet is
    // dropped on the worker's shared port, not on a leg: none was.
    const shards = (await engine.stats()).shards;
    expect(shards.reduce((n, s) => n + (s.sharedPort?.rxForeign ?? 0), 0)).toBe(0);
  });
});
