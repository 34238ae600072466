import { afterEach, describe, expect, it } from 'vitest';
import { tone, type EndpointConfig } from '../../../tools/asterisk-simulator/ari/index.js';
import { expectAllReleased, startHarness, type Harness } from '../../support/control-harness.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';
import { seededRandom } from '../../support/random.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});


describe('pair_session under concurrency', () => {
  // `random` flips a coin per request: an externalMedia's StasisStart comes before its 200, or 2 ms
  // after it as recorded, when an addChannel sent on the 200 alone meets Asterisk's 422.
  for (const eventOrder of ['random', 'events-first'] as const) {
    it(`200 concurrent calls with random hangup order and timing (${eventOrder} event order) leave nothing behind`, async () => {
      const calls = 200;
      const rand = seededRandom(eventOrder === 'random' ? 42 : 7);
      const endpoints: Record<string, EndpointConfig> = {};
      for (let i = 0; i < calls; i++) {
        endpoints[String(7001 + i * 2)] = { behaviour: 'answer', answerAfterMs: Math.floor(rand() * 300), audio: tone(880) };
      }
      h = await startHarness({ poolSize: calls, endpoints, eventOrder });
      const hangups: Promise<void>[] = [];
      // Odd calls hang up after they are fully bridged; even calls at a random moment
      // (during setup, while leg B rings, or after answer). Either leg, chosen at random.
      const afterActive = new Map<string, () => void>();
      h.node.app.on('pairactive', (pair) => afterActive.get(pair.callerChannelId)?.());
      const hangUp = (callerChannelId: string, legB: boolean): void => {
        const pair = h!.node.app.pairs().find((p) => p.callerChannelId === callerChannelId);
        const target = legB && pair && h!.sim.channels().some((c) => c.id === pair.ids.legB) ? pair.ids.legB : callerChannelId;
        h!.sim.hangup(target);
      };
      for (let i = 0; i < calls; i++) {
        const call = h.sim.placeCall({ callerNumber: `9${i}`, audio: tone(440) });
        expect(call.enteredStasis).toBe(true);
        const legB = rand() < 0.5;
        if (i % 2 === 1) {
          hangups.push(new Promise<void>((resolve) => afterActive.set(call.channelId, resolve)).then(() => sleep(Math.floor(rand() * 200))).then(() => hangUp(call.channelId, legB)));
        } else {
          hangups.push(sleep(Math.floor(rand() * 3000)).then(() => hangUp(call.channelId, legB)));
        }
        if (i % 20 === 19) await sleep(10);
      }
      await Promise.all(hangups);
      await waitFor(() => h!.closed.length === calls, 30_000);
      expect(h.closed.every((c) => /^pair_\d{3}$/.test(c.pairId))).toBe(true);
      const reasons = new Set(h.closed.map((c) => c.reason));
      // A leg B that hangs up while still ringing ends with its own cause (busy/no answer/failed).
      for (const r of reasons) expect(['caller-hangup', 'legb-hangup', 'legb-busy', 'legb-no-answer', 'legb-failed']).toContain(r);
      // Every odd call was fully bridged before its hangup.
      expect(h.active.length).toBeGreaterThanOrEqual(calls / 2);
      await expectAllReleased(h);
    }, 90_000);
  }

  it('every externalMedia 200 comes 300 ms before its StasisStart: 20 concurrent calls all become active, none refused by a 422', async () => {
    // Forced: a gap longer than any setup step, so each addChannel sent on the 200 alone would be
    // refused ("Channel not in Stasis application") and the call dropped, as 6 % were on a real Asterisk.
    const calls = 20;
    const endpoints: Record<string, EndpointConfig> = {};
    for (let i = 0; i < calls; i++) endpoints[String(7001 + i * 2)] = { behaviour: 'answer', answerAfterMs: 10 * i, audio: tone(880) };
    h = await startHarness({ poolSize: calls, endpoints, eventOrder: 'recorded', simulator: { externalMediaStasisDelayMs: 300 } });
    for (let i = 0; i < calls; i++) expect(h.sim.placeCall({ callerNumber: `9${i}`, audio: tone(440) }).enteredStasis).toBe(true);
    await waitFor(() => h!.active.length + h!.closed.length === calls, 30_000);
    expect(h.closed).toEqual([]);
    expect(h.active).toHaveLength(calls);
    // Both parties of every pair are bridged with their externalMedia channel.
    for (const br of h.sim.bridges()) expect(br.channels).toHaveLength(2);
    for (const pair of h.node.app.pairs()) h.sim.hangup(pair.callerChannelId);
    await waitFor(() => h!.closed.length === calls, 30_000);
    expect(new Set(h.closed.map((c) => c.reason))).toEqual(new Set(['caller-hangup']));
    await expectAllReleased(h);
  }, 90_000);
});
