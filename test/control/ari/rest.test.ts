import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AriError } from '../../../control/src/ari/index.js';
import { AriRest } from '../../../control/src/ari/rest.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';

let sim: AsteriskSimulator;
let silent: Server;
let silentUrl: string;
beforeAll(async () => {
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'right', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0 } } });
  // Accepts requests and never answers them.
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await sim.close();
});

const rest = (url = sim.ariUrl, password = 'right', timeoutMs = 5000): AriRest => new AriRest({ url, username: 'tandem', password, timeoutMs });

describe('AriRest: ARI requests over node:http', () => {
  it('sends what ari-client sends: query parameters, variables in a JSON body, and parses the answer', async () => {
    const ari = rest();
    const bridge = await ari.send('POST', 'bridges', { type: 'mixing', bridgeId: 'brg_r_A', name: 'brg_r_A' }, 'bridges.create');
    expect(bridge).toMatchObject({ id: 'brg_r_A', bridge_type: 'mixing', channels: [] });
    const channel = await ari.send(
      'POST',
      'channels',
      { endpoint: 'PJSIP/7001', app: 'pair_session', appArgs: 'r,7000,7001', callerId: '555 12', timeout: 30, channelId: 'chan_r_B', unset: undefined },
      'channels.originate',
      { variables: { PAIR_ID: 'r', SRC_EXT: '7001' } },
    );
    expect(channel).toMatchObject({ id: 'chan_r_B' });
    const vars = sim.channels().find((c) => c.id === 'chan_r_B')?.vars;
    expect(vars).toMatchObject({ PAIR_ID: 'r', SRC_EXT: '7001' });
    // A 204 resolves with nothing; a comma list goes as one parameter.
    expect(await ari.send('DELETE', 'channels/chan_r_B', { reason: 'normal' }, 'channels.hangup')).toBeUndefined();
    expect(await ari.send('DELETE', 'bridges/brg_r_A', {}, 'bridges.destroy')).toBeUndefined();
    ari.close();
  });

  it('keeps the HTTP status and Asterisk\'s message; a 400 "Channel not found" counts as NOT_FOUND', async () => {
    const ari = rest();
    const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (err: unknown) => err);
    expect(await failure(ari.send('DELETE', 'channels/nope', {}, 'channels.hangup'))).toMatchObject({ code: 'NOT_FOUND', status: 404, message: 'channels.hangup: Channel not found' });
    await ari.send('POST', 'bridges', { bridgeId: 'brg_s_A' }, 'bridges.create');
    expect(await failure(ari.send('POST', 'bridges', { bridgeId: 'brg_s_A' }, 'bridges.create'))).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(await failure(ari.send('POST', 'bridges/brg_s_A/addChannel', { channel: 'gone' }, 'bridges.addChannel'))).toMatchObject({
      code: 'NOT_FOUND',
      status: 400,
      message: 'bridges.addChannel: Channel not found',
    });
    expect(await failure(ari.send('POST', 'channels', { endpoint: 'PJSIP/9999', app: 'pair_session' }, 'channels.originate'))).toMatchObject({
      code: 'SERVER_ERROR',
      status: 500,
      message: 'channels.originate: Allocation failed',
    });
    expect(await failure(ari.send('POST', 'channels', { endpoint: 'nonsense', app: 'pair_session' }, 'channels.originate'))).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(await failure(rest(sim.ariUrl, 'wrong').send('GET', 'channels', {}, 'channels.list'))).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    await ari.send('DELETE', 'bridges/brg_s_A', {}, 'bridges.destroy');
  });

  it('gives up at its deadline, reports a refused connection as UNAVAILABLE, and refuses after close', async () => {
    // The server never answers: only the 200 ms deadline can end this request (TIMEOUT says it did;
    // without it the test would hang until vitest's own deadline ended it).
    const late = await rest(silentUrl, 'right', 200).send('GET', 'channels', {}, 'channels.list').catch((err: unknown) => err);
    expect(late).toBeInstanceOf(AriError);
    expect(late).toMatchObject({ code: 'TIMEOUT', status: null });
    await expect(rest('http://127.0.0.1:1').send('GET', 'channels', {}, 'channels.list')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const closed = rest();
    closed.close();
    closed.close();
    await expect(closed.send('GET', 'channels', {}, 'channels.list')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
