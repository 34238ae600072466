/**
 * ari-client 2.2.0 (what Tandem uses) connects to the simulator, builds its
 * methods from our Swagger description, opens the event WebSocket and drives a
 * pair setup and teardown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/index.js';
import { ariClient, sleep, type AriClient } from './helpers.js';

let sim: AsteriskSimulator | undefined;
let ari: AriClient | undefined;
afterEach(async () => {
  ari?.stop();
  ari?.removeAllListeners();
  await sim?.close();
  ari = undefined;
  sim = undefined;
});

async function until(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('ari-client against the simulator', () => {
  it('connects, starts pair_session and runs bridges.create, originate, externalMedia, addChannel, hangup', async () => {
    sim = await AsteriskSimulator.start({
      username: 'tandem',
      password: 'secret',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50 } },
    });
    ari = await ariClient.connect(sim.ariUrl, 'tandem', 'secret');
    expect(Object.keys(ari._swagger.apis).sort()).toEqual(['applications', 'asterisk', 'bridges', 'channels', 'events']);
    const events: Array<{ type: string; id: string | undefined }> = [];
    ari.on('*', (e) => {
      const ch = (e['channel'] ?? e['peer']) as { id?: string } | undefined;
      events.push({ type: e.type, id: ch?.id });
    });
    await ari.start('pair_session');
    expect(sim.isAppConnected('pair_session')).toBe(true);

    const call = sim.placeCall({ callerNumber: 'sipp', exten: '1000', app: 'pair_session' });
    await until(() => events.some((e) => e.type === 'StasisStart' && e.id === call.channelId));

    const bridge = await ari.bridges.create({ bridgeId: 'brg_pair_001_A', name: 'brg_pair_001_A', type: 'mixing' });
    expect(bridge).toMatchObject({ id: 'brg_pair_001_A', name: 'brg_pair_001_A', bridge_type: 'mixing' });

    const legB = await ari.channels.originate({
      endpoint: 'PJSIP/7001',
      app: 'pair_session',
      appArgs: 'pair_001,7000,7001',
      channelId: 'chan_pair_001_B',
      variables: { PAIR_ID: 'pair_001' },
    });
    expect(legB).toMatchObject({ id: 'chan_pair_001_B', state: 'Down' });

    const em = await ari.channels.externalMedia({ app: 'pair_session', external_host: '127.0.0.1:47010', format: 'ulaw', channelId: 'em_pair_001_A' });
    expect(em.id).toBe('em_pair_001_A');
    expect(em.channelvars?.['UNICASTRTP_LOCAL_ADDRESS']).toBe('127.0.0.1');
    const port = Number(em.channelvars?.['UNICASTRTP_LOCAL_PORT']);
    expect(port).toBeGreaterThan(0);
    expect(sim.channels().find((c) => c.id === 'em_pair_001_A')?.localPort).toBe(port);

    // Asterisk may answer the externalMedia POST before the channel enters Stasis, and refuses to
    // bridge it until then (docs/asterisk-facts.md): wait for its StasisStart, as Tandem does.
    await until(() => events.some((e) => e.type === 'StasisStart' && e.id === 'em_pair_001_A'));
    await ari.bridges.addChannel({ bridgeId: 'brg_pair_001_A', channel: [call.channelId, 'em_pair_001_A'] });
    expect(sim.bridges()[0]?.channels).toEqual([call.channelId, 'em_pair_001_A']);

    await until(() => events.some((e) => e.type === 'StasisStart' && e.id === 'chan_pair_001_B'));
    // The body variables of the originate reached the channel.
    expect(await ari.channels.getChannelVar({ channelId: 'chan_pair_001_B', variable: 'PAIR_ID' })).toEqual({ value: 'pair_001' });

    await ari.channels.hangup({ channelId: 'chan_pair_001_B' });
    await until(() => events.some((e) => e.type === 'ChannelDestroyed' && e.id === 'chan_pair_001_B'));
    await expect(ari.channels.hangup({ channelId: 'chan_pair_001_B' })).rejects.toThrow('Channel not found');
    expect(sim.channels().map((c) => c.id).sort()).toEqual([call.channelId, 'em_pair_001_A'].sort());

    const apps = await ari.applications.list();
    expect(apps.map((a) => a.name)).toEqual(['pair_session']);
    expect(apps[0]?.channel_ids.sort()).toEqual([call.channelId, 'em_pair_001_A'].sort());
  });
});
