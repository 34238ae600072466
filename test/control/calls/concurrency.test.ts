import { afterEach, describe, expect, it } from 'vitest';
import { tone, type EndpointConfig } from '../../../control/src/simulator/ari/index.js';
import { expectAllReleased, startHarness, type Harness } from '../../support/control-harness.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** Deterministic pseudo-random numbers, so a failing run can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('pair_session under concurrency', () => {
  for (const eventOrder of ['random', 'events-first'] as const) {
    it(`200 concurrent calls with random hangup order and timing (${eventOrder} event order) leave nothing behind`, async () => {
      const calls = 200;
      const rand = lcg(eventOrder === 'random' ? 42 : 7);
      const endpoints: Record<string, EndpointConfig> = {};
      for (let i = 0; i < calls; i++) {
        endpoints[String(7001 + i * 2)] = { behaviour: 'answer', answerAfterMs: Math.floor(rand() * 300), audio: tone(880) };
      }
      h = await startHarness({ portBase: 26000, poolSize: calls, endpoints, eventOrder });
      const placed: string[] = [];
      const hangups: Promise<void>[] = [];
      for (let i = 0; i < calls; i++) {
        const call = h.sim.placeCall({ callerNumber: `9${i}`, audio: tone(440) });
        expect(call.enteredStasis).toBe(true);
        placed.push(call.channelId);
        // Either leg, at any point: during setup/originate, while ringing, or after answer.
        const delay = Math.floor(rand() * 4000);
        const legB = rand() < 0.5;
        hangups.push(
          sleep(delay).then(() => {
            const pairIds = h!.node.app.pairs().filter((p) => p.callerChannelId === call.channelId).map((p) => p.ids.legB);
            const target = legB && pairIds[0] && h!.sim.channels().some((c) => c.id === pairIds[0]) ? pairIds[0] : call.channelId;
            h!.sim.hangup(target);
          }),
        );
        if (i % 20 === 19) await sleep(10);
      }
      await Promise.all(hangups);
      await waitFor(() => h!.closed.length === calls, 30_000);
      expect(h.closed.every((c) => /^pair_\d{3}$/.test(c.pairId))).toBe(true);
      const reasons = new Set(h.closed.map((c) => c.reason));
      // A leg B that hangs up while still ringing ends with its own cause (busy/no answer/failed).
      for (const r of reasons) expect(['caller-hangup', 'legb-hangup', 'legb-busy', 'legb-no-answer', 'legb-failed']).toContain(r);
      // Hangups landed before, during and after answer: a good share of calls got fully bridged first.
      console.log(`${eventOrder}: ${h.active.length}/${calls} calls reached active before their hangup`, JSON.stringify(Object.entries(h.closed.reduce<Record<string, number>>((m, c) => ((m[c.reason] = (m[c.reason] ?? 0) + 1), m), {}))));
      expect(h.active.length).toBeGreaterThan(0);
      expect(h.active.length).toBeLessThan(calls);
      await expectAllReleased(h);
    }, 90_000);
  }
});
