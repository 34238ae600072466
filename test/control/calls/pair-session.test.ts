import { afterEach, describe, expect, it } from 'vitest';
import { dominantFrequency, rms, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { expectAllReleased, startHarness, type Harness } from '../../support/control-harness.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/**
 * The reason Tandem gave when it hung a channel up. Asterisk maps it to the
 * Q.850 cause the phone hears (busy 17, congestion 34); ARI's own
 * ChannelHangupRequest for a DELETE always says 32 (the soft-hangup flag, as recorded).
 */
function spyHangupReasons(harness: Harness): Map<string, string | undefined> {
  const reasons = new Map<string, string | undefined>();
  const original = harness.node.ari.hangup.bind(harness.node.ari);
  harness.node.ari.hangup = async (channelId: string, reason?: string) => {
    reasons.set(channelId, reason);
    return await original(channelId, reason);
  };
  return reasons;
}

const answering = (answerAfterMs = 50, hz = 880) => ({ behaviour: 'answer' as const, answerAfterMs, audio: tone(hz) });

describe('pair_session against the Asterisk simulator', () => {
  it('isolates one call into a pair: bridges, externalMedia, leg B, mirrored audio, then a clean teardown', async () => {
    h = await startHarness({ endpoints: { '7001': answering(100, 880) } });
    const call = h.sim.placeCall({ callerNumber: '5551234', audio: tone(440) });
    expect(call.enteredStasis).toBe(true);
    await waitFor(() => h!.active.length === 1, 10_000);
    expect(h.active).toEqual(['pair_001']);

    const bridges = h.sim.bridges();
    expect(bridges.map((b) => b.id).sort()).toEqual(['brg_pair_001_A', 'brg_pair_001_B']);
    const byId = new Map(bridges.map((b) => [b.id, [...b.channels].sort()]));
    expect(byId.get('brg_pair_001_A')).toEqual([call.channelId, 'em_pair_001_A'].sort());
    expect(byId.get('brg_pair_001_B')).toEqual(['chan_pair_001_B', 'em_pair_001_B'].sort());

    const channels = new Map(h.sim.channels().map((c) => [c.id, c]));
    expect(channels.get(call.channelId)?.vars).toMatchObject({ PAIR_ID: 'pair_001', SRC_EXT: '7000' });
    expect(channels.get('chan_pair_001_B')?.vars).toMatchObject({ PAIR_ID: 'pair_001', SRC_EXT: '7001' });
    expect(channels.get('em_pair_001_A')?.vars).toMatchObject({ PAIR_ID: 'pair_001', SRC_EXT: '7000' });
    expect(channels.get('em_pair_001_B')?.vars).toMatchObject({ PAIR_ID: 'pair_001', SRC_EXT: '7001' });
    // Isolation comes from the two bridges, not from muting (docs/asterisk-facts.md: mute in cuts the capture).
    expect([...channels.values()].some((c) => c.muteIn)).toBe(false);

    // Let audio flow, then check what each phone heard through the engine.
    await sleep(1500);
    const callerHeard = h.sim.heard(call.channelId);
    const legBHeard = h.sim.heard('chan_pair_001_B');
    expect(rms(callerHeard)).toBeGreaterThan(1000);
    expect(rms(legBHeard)).toBeGreaterThan(1000);
    expect(Math.abs(dominantFrequency(callerHeard) - 880)).toBeLessThan(40);
    expect(Math.abs(dominantFrequency(legBHeard) - 440)).toBeLessThan(40);

    const lease = await h.node.store.get('pair_001');
    expect(lease).toMatchObject({ extA: '7000', extB: '7001', callerId: '5551234', state: 'active' });

    h.sim.hangup(call.channelId);
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]).toEqual({ pairId: 'pair_001', reason: 'caller-hangup' });
    await expectAllReleased(h);
  });

  it('tears down when leg B hangs up first', async () => {
    h = await startHarness({ endpoints: { '7001': answering() } });
    const call = h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 10_000);
    h.sim.hangup('chan_pair_001_B');
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('legb-hangup');
    expect(h.sim.channels().find((c) => c.id === call.channelId)).toBeUndefined();
    await expectAllReleased(h);
  });

  it('rejects the caller cleanly when leg B cannot be originated (no contact → 500, no events)', async () => {
    h = await startHarness({ endpoints: { '7001': { behaviour: 'nocontact' } } });
    h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('originate-failed');
    await expectAllReleased(h);
  });

  it('a pair whose leg B could not be originated goes to the back of the line, not to the head', async () => {
    // No AMI: presence is unknown, so only the failed originate tells Tandem about 7001.
    h = await startHarness({ poolSize: 2, workers: 1, endpoints: { '7001': { behaviour: 'nocontact' }, '7003': answering() } });
    h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]).toEqual({ pairId: 'pair_001', reason: 'originate-failed' });
    // The next caller gets a pair that works, not the one that just failed.
    const second = h.sim.placeCall({ callerNumber: '101', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 10_000);
    expect(h.active).toEqual(['pair_002']);
    // With nothing else free, the suspect pair is still tried rather than the caller turned away.
    h.sim.placeCall({ callerNumber: '102', audio: tone(440) });
    await waitFor(() => h!.closed.length === 2, 10_000);
    expect(h.closed[1]).toEqual({ pairId: 'pair_001', reason: 'originate-failed' });
    expect(h.rejected).toEqual([]);
    h.sim.hangup(second.channelId);
    await expectAllReleased(h);
  });

  it('maps a busy leg B to a busy hangup of the caller', async () => {
    h = await startHarness({ endpoints: { '7001': { behaviour: 'busy' } } });
    const reasons = spyHangupReasons(h);
    const call = h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('legb-busy');
    expect(reasons.get(call.channelId)).toBe('busy');
    await expectAllReleased(h);
  });

  it('gives up on a leg B that never answers, after the originate timeout', async () => {
    h = await startHarness({ endpoints: { '7001': { behaviour: 'noanswer' } }, calls: { originateTimeoutSeconds: 1 } });
    h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('legb-no-answer');
    await expectAllReleased(h);
  });

  it('rejects calls beyond the pool with a congestion hangup and never hangs', async () => {
    h = await startHarness({ poolSize: 2, endpoints: { '7001': answering(), '7003': answering() } });
    const reasons = spyHangupReasons(h);
    const calls = [0, 1, 2].map((i) => h!.sim.placeCall({ callerNumber: `20${i}`, audio: tone(440) }));
    await waitFor(() => h!.active.length === 2 && h!.rejected.length === 1, 10_000);
    const rejected = h.rejected[0]!;
    expect(calls.map((c) => c.channelId)).toContain(rejected);
    await waitFor(() => !h!.sim.channels().some((c) => c.id === rejected));
    expect(reasons.get(rejected)).toBe('congestion');
    for (const c of calls) h.sim.hangup(c.channelId);
    await expectAllReleased(h);
  });

  it('survives the ARI WebSocket dropping mid-call: missed hangups are reconciled after reconnect', async () => {
    h = await startHarness({ endpoints: { '7001': answering(), '7003': answering() } });
    const first = h.sim.placeCall({ callerNumber: '301', audio: tone(440) });
    const second = h.sim.placeCall({ callerNumber: '302', audio: tone(440) });
    await waitFor(() => h!.active.length === 2, 10_000);
    const reconciled = new Promise((resolve) => h!.node.app.once('reconciled', resolve));
    h.sim.dropApplicationSockets('pair_session');
    // While Tandem is not listening, the first caller hangs up: Asterisk replays nothing.
    h.sim.hangup(first.channelId);
    await reconciled;
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('missed-hangup');
    // The second call is untouched and still torn down normally afterwards.
    expect(h.node.app.pairCount).toBe(1);
    h.sim.hangup(second.channelId);
    await expectAllReleased(h);
  });

  it('tears the call down when the engine loses the pair (worker crash)', async () => {
    h = await startHarness({ workers: 1, endpoints: { '7001': answering() } });
    const call = h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 10_000);
    const stats = await h.node.engine.stats();
    const owner = h.node.engine.threads.find((t) => t.threadId === stats.shards[0]!.threadId);
    await owner!.terminate();
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]?.reason).toBe('engine-error');
    expect(h.sim.channels().find((c) => c.id === call.channelId)).toBeUndefined();
    await expectAllReleased(h);
  });
});
