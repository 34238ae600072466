/**
 * The simulator's knob for slow and lost DELETEs (issue 11, item 4): a delayed hangup or
 * bridge destroy is acted on and answered late; a dropped one is never answered, the object
 * kept or deleted all the same.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/index.js';
import { EventSocket, rest } from './helpers.js';

let sim: AsteriskSimulator | undefined;
let ws: EventSocket | undefined;
afterEach(async () => {
  await ws?.close();
  await sim?.close();
  ws = undefined;
  sim = undefined;
});

async function withBridgeAndChannel(): Promise<{ s: AsteriskSimulator; channelId: string }> {
  sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
  ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
  const call = sim.placeCall({ callerNumber: '100' });
  expect((await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=brg_x&name=brg_x')).status).toBe(200);
  return { s: sim, channelId: call.channelId };
}

/** A DELETE that gets no answer within `ms`: resolves 'no answer' then (the request is aborted). */
async function deleteWithin(base: string, path: string, ms: number): Promise<number | 'no answer'> {
  try {
    const res = await fetch(`${base}/ari${path}`, { method: 'DELETE', headers: { Authorization: `Basic ${Buffer.from('tnd:tnd').toString('base64')}` }, signal: AbortSignal.timeout(ms) });
    return res.status;
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return 'no answer';
    throw err;
  }
}

describe('delete faults', () => {
  it('a delayed DELETE is acted on and answered once the delay is over; other requests are not delayed', async () => {
    const { s, channelId } = await withBridgeAndChannel();
    s.deleteFaults = { delayMs: 300 };
    const pending = rest(s.ariUrl, 'DELETE', `/channels/${channelId}`);
    // Meanwhile Asterisk still has the channel, and answers a GET at once.
    expect((await rest(s.ariUrl, 'GET', `/channels/${channelId}`)).status).toBe(200);
    expect(s.channels().some((c) => c.id === channelId)).toBe(true);
    expect((await pending).status).toBe(204);
    expect(s.channels().some((c) => c.id === channelId)).toBe(false);
    expect(s.deleteFaultCounts).toEqual({ delayed: 1, droppedKept: 0, droppedDeleted: 0 });
  });

  it('a dropped DELETE of the kept kind: no answer, the object still there; asked again, it goes', async () => {
    const { s, channelId } = await withBridgeAndChannel();
    s.deleteFaults = { match: (t) => t.kind === 'bridge', dropRate: 1, dropped: 'kept' };
    expect(await deleteWithin(s.ariUrl, '/bridges/brg_x', 500)).toBe('no answer');
    expect(s.bridges().map((b) => b.id)).toEqual(['brg_x']);
    // Channels are not matched: answered as usual.
    expect((await rest(s.ariUrl, 'DELETE', `/channels/${channelId}`)).status).toBe(204);
    s.deleteFaults = null;
    expect((await rest(s.ariUrl, 'DELETE', '/bridges/brg_x')).status).toBe(204);
    expect(s.bridges()).toEqual([]);
    expect(s.deleteFaultCounts).toEqual({ delayed: 0, droppedKept: 1, droppedDeleted: 0 });
  });

  it('a dropped DELETE of the deleted kind: no answer, yet the object is gone (and its events sent); again → 404', async () => {
    const { s, channelId } = await withBridgeAndChannel();
    s.deleteFaults = { dropRate: 1, dropped: 'deleted' };
    expect(await deleteWithin(s.ariUrl, `/channels/${channelId}`, 500)).toBe('no answer');
    expect(s.channels()).toEqual([]);
    expect(s.events().some((e) => e.event['type'] === 'StasisEnd')).toBe(true);
    s.deleteFaults = null;
    expect((await rest(s.ariUrl, 'DELETE', `/channels/${channelId}`)).status).toBe(404);
  });

  it('refuses a bad setting', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    const s = sim;
    expect(() => (s.deleteFaults = { dropRate: 2 })).toThrow(RangeError);
    expect(() => (s.deleteFaults = { delayMs: [300, 100] })).toThrow(RangeError);
    expect(() => (s.deleteFaults = { delayMs: -1 })).toThrow(RangeError);
  });
});
