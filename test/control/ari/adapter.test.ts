import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AriClientAdapter, AriError, classifyAriFailure, parseAriEvent } from '../../../control/src/ari/index.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';
import { captureLog } from '../../support/capture-log.js';
import { closedPort } from '../../support/ports.js';
import { waitFor } from '../../support/rtp-peer.js';

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

  it('says why an unreachable Asterisk failed (not just "fetch failed")', async () => {
    const port = await closedPort();
    const err = await AriClientAdapter.connect({ url: `http://127.0.0.1:${port}`, username: 'tandem', password: 'right', app: 'a' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE' });
    expect((err as Error).message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('waits for Asterisk at start when asked: says so with the delay before each retry, and connects once it answers', async () => {
    const port = await closedPort();
    const captured = captureLog();
    const connecting = AriClientAdapter.connect(
      { url: `http://127.0.0.1:${port}`, username: 'tandem', password: 'late-secret', app: 'pair_session', reconnectMinMs: 20, reconnectMaxMs: 200, log: captured.log },
      { waitForAsterisk: true },
    );
    const retries = (): Array<Record<string, unknown>> => captured.lines().filter((l) => String(l.msg).startsWith(`ARI not reachable at http://127.0.0.1:${port}, retrying in `));
    await waitFor(() => retries().length >= 2, 20_000);
    const late = await AsteriskSimulator.start({ username: 'tandem', password: 'late-secret', port });
    try {
      const ari = await connecting;
      try {
        expect(ari.connected).toBe(true);
        expect((await ari.getApplication()).name).toBe('pair_session');
      } finally {
        await ari.close();
      }
      const first = retries()[0]!;
      expect(first).toMatchObject({ level: 40, attempt: 1, url: `http://127.0.0.1:${port}` });
      expect(String(first['err'])).toContain('ECONNREFUSED');
      expect(first['retryInMs']).toBeGreaterThan(0);
      expect(captured.text()).not.toContain('late-secret');
    } finally {
      await late.close();
    }
  });

  it('does not retry refused credentials at start: one clear UNAUTHORIZED error', async () => {
    const captured = captureLog();
    const err = await AriClientAdapter.connect(
      { url: sim.ariUrl, username: 'tandem', password: 'wrong', app: 'pair_session', reconnectMinMs: 20, log: captured.log },
      { waitForAsterisk: true },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect((err as Error).message).toMatch(/refused user "tandem" \(401\): ARI_USERNAME and ARI_PASSWORD must match/);
    expect(captured.lines().filter((l) => String(l.msg).includes('retrying'))).toEqual([]);
  });

  it('ends the wait for Asterisk when its signal is aborted', async () => {
    const port = await closedPort();
    const captured = captureLog();
    const stop = new AbortController();
    const connecting = AriClientAdapter.connect(
      { url: `http://127.0.0.1:${port}`, username: 'tandem', password: 'x', app: 'a', reconnectMinMs: 60_000, reconnectMaxMs: 60_000, log: captured.log },
      { waitForAsterisk: true, signal: stop.signal },
    ).catch((e: unknown) => e);
    await waitFor(() => captured.lines().some((l) => String(l.msg).includes('retrying in')), 20_000);
    stop.abort(new Error('shutting down'));
    expect(await connecting).toMatchObject({ message: 'shutting down' });
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
