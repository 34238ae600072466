import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator, tone } from '../../../tools/asterisk-simulator/ari/index.js';
import { EventSocket, rest } from './helpers.js';

let sim: AsteriskSimulator | null = null;
let ws: EventSocket | null = null;
afterEach(async () => {
  await ws?.close();
  await sim?.close();
  sim = null;
  ws = null;
});

describe('ended phones are retained without touching live ones', () => {
  it('keeps the live phone when a channel id is reused (chan_<PAIR_ID>_B) and old ones are retired', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd', retainEndedPhones: 1, endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0, audio: tone(880) } } });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const originate = (): Promise<{ status: number }> => rest(sim!.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=chan_pair_001_B');
    expect((await originate()).status).toBe(200);
    expect((await rest(sim.ariUrl, 'DELETE', '/channels/chan_pair_001_B')).status).toBe(204);
    expect((await originate()).status).toBe(200); // the id is reused by the next call
    // End two other calls so the retention of 1 retires the first chan_pair_001_B.
    for (const caller of ['a', 'b']) {
      const call = sim.placeCall({ callerNumber: caller, audio: tone(440) });
      sim.hangup(call.channelId);
    }
    // The live chan_pair_001_B still has its phone: it can be given audio and inspected.
    expect(() => sim!.setAudio('chan_pair_001_B', tone(500))).not.toThrow();
    expect(sim.heard('chan_pair_001_B')).toEqual([]);
    expect(sim.channels().some((c) => c.id === 'chan_pair_001_B')).toBe(true);
  });
});
