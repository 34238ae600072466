/**
 * The soak's phone side: a call that never gets audio both ways within the setup timeout counts as
 * failed, and says why — whether it reached a pair's bridge, and what each phone and leg had heard.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/index.js';
import { CallDriver } from '../../../tools/soak/call-driver.js';
import { EventSocket, rest } from '../simulator/helpers.js';

let sim: AsteriskSimulator | undefined;
let ws: EventSocket | undefined;
afterEach(async () => {
  await ws?.close();
  await sim?.close();
  ws = undefined;
  sim = undefined;
});

/** Polls until the call has ended (the driver hangs it up once its setup timeout has passed). */
async function pollUntilEnded(driver: CallDriver, call: ReturnType<CallDriver['place']>): Promise<void> {
  while (!call.ended) {
    driver.poll([call]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('soak call driver', () => {
  it('a call in no pair when its setup timeout passes: failed as setup-timeout, hung up, evidence says so', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    // 0.5 picks the `mid-call` moment and the caller side.
    const driver = new CallDriver(sim, () => 0.5, [100, 200], 50);
    const call = driver.place();
    await pollUntilEnded(driver, call);
    expect(call).toMatchObject({ outcome: 'failed', reason: 'setup-timeout', pairId: null });
    expect(call.evidence).toMatch(new RegExp(`^${call.channelId} after \\d+ ms: in no pair's bridge A$`));
    expect(sim.channels().some((c) => c.id === call.channelId)).toBe(false);
  });

  it("a call in its pair's bridge A with no audio: the evidence names the pair, what the caller heard and that leg B and the legs are absent", async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const driver = new CallDriver(sim, () => 0.5, [100, 200], 300);
    const call = driver.place();
    expect((await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=brg_pair_042_A')).status).toBe(200);
    expect((await rest(sim.ariUrl, 'POST', `/bridges/brg_pair_042_A/addChannel?channel=${call.channelId}`)).status).toBe(204);
    await pollUntilEnded(driver, call);
    expect(call).toMatchObject({ outcome: 'failed', reason: 'setup-timeout', pairId: 'pair_042' });
    expect(call.evidence).toMatch(/: pair pair_042, caller heard 0 voiced frames, leg B absent, externalMedia A absent, B absent$/);
  });
});
