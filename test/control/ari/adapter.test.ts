import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AriClientAdapter, AriError, classifyAriFailure, parseAriEvent } from '../../../control/src/ari/index.js';
import { AsteriskSimulator } from '../../../control/src/simulator/ari/index.js';

let sim: AsteriskSimulator;
beforeAll(async () => {
  sim = await AsteriskSimulator.start({ username: 'tandem', password: 'right' });
});
afterAll(async () => {
  await sim.close();
});

describe('the ARI boundary', () => {
  it('refuses bad credentials with one clear error (no unhandled error from ari-client)', async () => {
    const err = await AriClientAdapter.connect({ url: sim.ariUrl, username: 'tandem', password: 'wrong', app: 'pair_session' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriError);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect((err as Error).message).not.toContain('wrong');
  });

  it('reports an unreachable Asterisk as UNAVAILABLE', async () => {
    await expect(AriClientAdapter.connect({ url: 'http://127.0.0.1:1', username: 'tandem', password: 'right', app: 'a' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('recovers status codes from Asterisk error bodies and treats 404 on teardown as already gone', async () => {
    const ari = await AriClientAdapter.connect({ url: sim.ariUrl, username: 'tandem', password: 'right', app: 'pair_session' });
    try {
      expect(await ari.hangup('no-such-channel')).toBe(false);
      expect(await ari.destroyBridge('no-such-bridge')).toBe(false);
      await ari.createBridge('brg_x_A', 'brg_x_A');
      await expect(ari.createBridge('brg_x_A', 'brg_x_A')).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(ari.originate({ endpoint: 'PJSIP/9999', app: 'pair_session', appArgs: '', channelId: 'c1' })).rejects.toMatchObject({ code: 'SERVER_ERROR' });
      await expect(ari.originate({ endpoint: 'nonsense', app: 'pair_session', appArgs: '', channelId: 'c2' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(await ari.destroyBridge('brg_x_A')).toBe(true);
    } finally {
      await ari.close();
    }
  });

  it('classifies the recorded error bodies', () => {
    expect(classifyAriFailure(new Error('{"message":"Channel not found"}'))).toMatchObject({ code: 'NOT_FOUND', message: 'Channel not found' });
    expect(classifyAriFailure(new Error('{"error":"Allocation failed"}'))).toMatchObject({ code: 'SERVER_ERROR', message: 'Allocation failed' });
    expect(classifyAriFailure(new Error('{"message":"Bridge with id \'b\' already exists"}'))).toMatchObject({ code: 'CONFLICT' });
    expect(classifyAriFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('parses events once into a typed union and never throws on unknown types', () => {
    expect(parseAriEvent('{"type":"SomethingNew","x":1}')).toEqual({ type: 'Other', originalType: 'SomethingNew' });
    expect(() => parseAriEvent('not json')).toThrow(/not JSON/);
    expect(() => parseAriEvent({ type: 'StasisStart', args: [] })).toThrow(/malformed/);
    const event = parseAriEvent({ type: 'ChannelDestroyed', cause: 16, cause_txt: 'Normal Clearing', channel: { id: 'c', name: 'PJSIP/7001-1', state: 'Up' } });
    expect(event).toMatchObject({ type: 'ChannelDestroyed', cause: 16, channel: { id: 'c' } });
  });
});
