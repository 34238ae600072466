/**
 * Flows beyond the golden replays: racing orders, dial outcomes with short
 * timeouts, the application WebSocket dropping and being replaced, lifecycle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { AsteriskSimulator, type SimulatorOptions } from '../../../tools/asterisk-simulator/index.js';
import { EventSocket, rest, sleep, type WsEvent } from './helpers.js';
import { subjectOf } from './replay.js';

let sim: AsteriskSimulator | undefined;
const sockets: EventSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) await s.close();
  await sim?.close();
  sim = undefined;
});

async function start(opts: Partial<SimulatorOptions> = {}): Promise<{ sim: AsteriskSimulator; ws: EventSocket }> {
  sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd', ...opts });
  const ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
  sockets.push(ws);
  return { sim, ws };
}

const typesFor = (events: readonly WsEvent[], id: string): string[] => events.filter((e) => subjectOf(e) === id).map((e) => e.type);
const has = (type: string, id: string) => (events: readonly WsEvent[]): boolean => events.some((e) => e.type === type && subjectOf(e) === id);

describe('event order relative to responses', () => {
  it('events-first: an instantly answered originate and an externalMedia send StasisStart before their 200', async () => {
    const { sim } = await start({ eventOrder: 'events-first', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0 } } });
    const sentTypes = (id: string): string[] => sim.events().filter((e) => subjectOf(e.event as WsEvent) === id).map((e) => String(e.event['type']));
    const orig = await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&appArgs=pair_001,7000,7001&channelId=chan_B');
    expect(orig.status).toBe(200);
    // Already sent when the response arrived: the whole dial, ending in StasisStart.
    expect(sentTypes('chan_B')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect((orig.json as { state: string }).state).toBe('Down');
    const em = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47010&format=ulaw&channelId=em_A');
    expect(em.status).toBe(200);
    expect(sentTypes('em_A')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
  });

  it('recorded: the originate 200 comes before any event of its channel', async () => {
    // The recorded first Dial trails the response by 2–6 ms; a wider gap here keeps the
    // check about order, not about how fast a loaded test machine reads a response.
    const { sim, ws } = await start({ dialDelayMs: 300, endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 100 } } });
    const orig = await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&appArgs=a,b&channelId=chan_B');
    expect(orig.status).toBe(200);
    expect(sim.events().filter((e) => subjectOf(e.event as WsEvent) === 'chan_B')).toEqual([]);
    await ws.waitFor(has('StasisStart', 'chan_B'));
    const stasisStart = ws.events.find((e) => e.type === 'StasisStart');
    expect(stasisStart?.['args']).toEqual(['a', 'b']);
    expect((stasisStart?.['channel'] as { dialplan: { app_data: string } }).dialplan.app_data).toBe('pair_session,a,b');
  });

  it('recorded: an externalMedia channel enters Stasis after its 200, and an addChannel before its StasisStart is refused with 422', async () => {
    // Recorded (s4): StasisStart 1–2 ms after the 200; widened so the add surely lands in the gap.
    const { ws } = await start({ externalMediaStasisDelayMs: 300 });
    expect((await rest(sim!.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=brg_A&name=brg_A')).status).toBe(200);
    const em = await rest(sim!.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47010&format=ulaw&channelId=em_A');
    expect(em.status).toBe(200);
    const early = await rest(sim!.ariUrl, 'POST', '/bridges/brg_A/addChannel?channel=em_A');
    expect(early.status).toBe(422);
    expect(early.json).toEqual({ message: 'Channel not in Stasis application' });
    await ws.waitFor(has('StasisStart', 'em_A'));
    expect(typesFor(ws.events, 'em_A')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect((await rest(sim!.ariUrl, 'POST', '/bridges/brg_A/addChannel?channel=em_A')).status).toBe(204);
  });

  it('recorded: an externalMedia channel hung up before it enters Stasis never does', async () => {
    const { ws } = await start({ externalMediaStasisDelayMs: 300 });
    expect((await rest(sim!.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47010&format=ulaw&channelId=em_A')).status).toBe(200);
    expect((await rest(sim!.ariUrl, 'DELETE', '/channels/em_A')).status).toBe(204);
    await ws.waitFor(has('ChannelDestroyed', 'em_A'));
    expect(sim!.channels()).toEqual([]);
    // Past the delay: still no StasisStart, nothing recreated.
    await sleep(400);
    expect(typesFor(ws.events, 'em_A')).not.toContain('StasisStart');
    expect(sim!.channels()).toEqual([]);
  });

  it('random: every run still yields the same per-channel sequences', async () => {
    const { sim, ws } = await start({ eventOrder: 'random', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20 } } });
    for (let i = 0; i < 10; i++) {
      expect((await rest(sim.ariUrl, 'POST', `/channels?endpoint=PJSIP/7001&app=pair_session&channelId=b${i}`)).status).toBe(200);
      expect((await rest(sim.ariUrl, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47010&format=ulaw&channelId=e${i}`)).status).toBe(200);
    }
    await ws.waitFor((ev) => ev.filter((e) => e.type === 'StasisStart').length === 20);
    for (let i = 0; i < 10; i++) {
      expect(typesFor(ws.events, `e${i}`)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
      const b = typesFor(ws.events, `b${i}`);
      expect(b.slice(3)).toEqual(['ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
      expect([...b.slice(0, 3)].sort()).toEqual(['ChannelStateChange', 'Dial', 'Dial']);
    }
  });
});

describe('dial outcomes', () => {
  it('no contact / unknown endpoint / unknown tech: 500 Allocation failed, no channel, no events', async () => {
    const { sim, ws } = await start({ endpoints: { '7003': { behaviour: 'nocontact' } } });
    for (const endpoint of ['PJSIP/7003', 'PJSIP/9999', 'BOGUS/7001']) {
      const r = await rest(sim.ariUrl, 'POST', `/channels?endpoint=${endpoint}&app=pair_session&channelId=x`);
      expect([r.status, r.text]).toEqual([500, '{"error":"Allocation failed"}']);
    }
    await sleep(50);
    expect(ws.events).toEqual([]);
    expect(sim.channels()).toEqual([]);
  });

  it('unreachable with timeout=1: Dial "" only, then ChannelDestroyed 19/480 in state Down', async () => {
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'unreachable' } } });
    expect((await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=u1&timeout=1')).status).toBe(200);
    await ws.waitFor(has('ChannelDestroyed', 'u1'));
    expect(typesFor(ws.events, 'u1')).toEqual(['Dial', 'ChannelDestroyed']);
    const destroyed = ws.events.find((e) => e.type === 'ChannelDestroyed');
    expect(destroyed).toMatchObject({ cause: 19, cause_txt: 'User alerting, no answer', tech_cause: 480, channel: { state: 'Down' } });
    expect((await rest(sim.ariUrl, 'GET', '/channels/u1')).status).toBe(404);
  });

  it('an answer slower than the timeout is a no-answer', async () => {
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 5000 } } });
    await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=s1&timeout=1');
    await ws.waitFor(has('ChannelDestroyed', 's1'));
    expect(typesFor(ws.events, 's1')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelDestroyed']);
  });

  it('the called phone rejecting while it rings gives the busy sequence', async () => {
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'noanswer' } } });
    await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=r1');
    await ws.waitFor(has('Dial', 'r1'));
    await sleep(20);
    expect(sim.hangup('r1')).toBe(true);
    await ws.waitFor(has('ChannelDestroyed', 'r1'));
    expect(typesFor(ws.events, 'r1')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelHangupRequest', 'Dial', 'ChannelDestroyed']);
    expect(ws.events.at(-1)).toMatchObject({ cause: 17, tech_cause: 486 });
  });

  it('DELETE while ringing, events first: HangupRequest 32, Dial NOANSWER, ChannelDestroyed 16 before the 204', async () => {
    const { sim } = await start({ eventOrder: 'events-first', endpoints: { '7001': { behaviour: 'noanswer' } } });
    await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=d1');
    const del = await rest(sim.ariUrl, 'DELETE', '/channels/d1');
    expect(del.status).toBe(204);
    const sent = sim.events().map((e) => e.event as WsEvent).filter((e) => subjectOf(e) === 'd1');
    expect(sent.map((e) => [e.type, e['dialstatus'] ?? e['cause']])).toEqual([
      ['Dial', ''],
      ['ChannelStateChange', undefined],
      ['Dial', 'RINGING'],
      ['ChannelHangupRequest', 32],
      ['Dial', 'NOANSWER'],
      ['ChannelDestroyed', 16],
    ]);
  });

  it('DELETE with reason_code sets the ChannelDestroyed cause', async () => {
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0 } } });
    await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=c1');
    await ws.waitFor(has('StasisStart', 'c1'));
    expect((await rest(sim.ariUrl, 'DELETE', '/channels/c1?reason=busy')).status).toBe(204);
    await ws.waitFor(has('ChannelDestroyed', 'c1'));
    expect(ws.events.at(-1)).toMatchObject({ type: 'ChannelDestroyed', cause: 17, cause_txt: 'User busy' });
  });
});

describe('application WebSocket', () => {
  it('a drop keeps every channel and bridge; events meanwhile are lost; reconnecting replays nothing', async () => {
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0 } } });
    const call = sim.placeCall({ callerNumber: 'sipp' });
    await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=brg_A&name=brg_A');
    await rest(sim.ariUrl, 'POST', `/bridges/brg_A/addChannel?channel=${call.channelId}`);
    await ws.waitFor(has('ChannelEnteredBridge', call.channelId));

    sim.dropApplicationSockets('pair_session');
    expect(sim.isAppConnected('pair_session')).toBe(false);
    expect(sim.channels().map((c) => c.id)).toEqual([call.channelId]);
    expect(sim.bridges().map((b) => b.id)).toEqual(['brg_A']);
    const apps = await rest(sim.ariUrl, 'GET', '/applications/pair_session');
    expect(apps.json).toMatchObject({ name: 'pair_session', channel_ids: [call.channelId], bridge_ids: ['brg_A'] });

    // The caller hangs up while no socket is connected: the events are lost.
    const lostFrom = sim.events().length;
    expect(sim.hangup(call.channelId)).toBe(true);
    expect(sim.events().slice(lostFrom).every((e) => !e.delivered)).toBe(true);

    const ws2 = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    sockets.push(ws2);
    await sleep(100);
    expect(ws2.events).toEqual([]);
    expect(sim.channels()).toEqual([]);
    expect(sim.bridges().map((b) => b.id)).toEqual(['brg_A']);
  });

  it('a second socket for the app: the first gets ApplicationReplaced and nothing after it', async () => {
    const { sim, ws } = await start();
    const ws2 = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    sockets.push(ws2);
    await ws.waitFor((ev) => ev.some((e) => e.type === 'ApplicationReplaced'));
    expect(Object.keys(ws.events[0] ?? {})).toEqual(['type', 'timestamp', 'application', 'asterisk_id']);
    const call = sim.placeCall({ callerNumber: 'sipp' });
    await ws2.waitFor(has('StasisStart', call.channelId));
    await sleep(50);
    expect(ws.events.map((e) => e.type)).toEqual(['ApplicationReplaced']);
  });

  it('externalMedia with no socket for the app answers 200 but the channel is already gone', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    const r = await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47020&format=ulaw&channelId=em_x');
    expect([r.status, (r.json as { state: string }).state]).toEqual([200, 'Down']);
    expect((await rest(sim.ariUrl, 'DELETE', '/channels/em_x')).status).toBe(404);
    // A call to an app with no socket never enters Stasis.
    expect(sim.placeCall({ callerNumber: 'sipp' }).enteredStasis).toBe(false);
    expect(sim.channels()).toEqual([]);
  });
});

describe('lifecycle', () => {
  it('close is idempotent, closes sockets and media legs, and use after close throws InvalidStateError', async () => {
    const { sim, ws } = await start();
    await rest(sim.ariUrl, 'POST', '/channels/externalMedia?app=pair_session&external_host=127.0.0.1:47010&format=slin16&channelId=em1');
    expect(sim.channels()[0]?.localPort).toBeGreaterThan(0);
    expect(sim.connectionCount).toBeGreaterThan(0);
    const url = sim.ariUrl;
    await sim.close();
    await sim.close();
    expect(sim.closed).toBe(true);
    expect(sim.connectionCount).toBe(0);
    expect(sim.channels()).toEqual([]);
    expect(() => sim.placeCall({ callerNumber: 'x' })).toThrow(InvalidStateError);
    expect(() => sim.hangup('x')).toThrow(InvalidStateError);
    await expect(fetch(`${url}/ari/channels`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    await ws.waitFor(() => true);
  });

  it('close releases every server, UDP socket and timer it created', async () => {
    const count = (type: string): number => process.getActiveResourcesInfo().filter((r) => r === type).length;
    const before = { udp: count('UDPWrap'), servers: count('TCPServerWrap'), timers: count('Timeout') };
    const { sim, ws } = await start({ endpoints: { '7001': { behaviour: 'noanswer' } } });
    sim.placeCall({ callerNumber: 'sipp' });
    for (const id of ['e1', 'e2', 'e3']) {
      await rest(sim.ariUrl, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:9&format=ulaw&channelId=${id}`);
    }
    await rest(sim.ariUrl, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&channelId=ringing&timeout=60');
    await ws.waitFor((ev) => ev.some((e) => e.type === 'Dial'));
    expect(count('UDPWrap')).toBe(before.udp + 3);
    await ws.close();
    await sim.close();
    await sleep(50);
    expect(count('UDPWrap')).toBe(before.udp);
    expect(count('TCPServerWrap')).toBe(before.servers);
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
  });

  it('keeps the recordings of a bounded number of ended phones', async () => {
    const { sim } = await start({ retainEndedPhones: 1 });
    const first = sim.placeCall({ callerNumber: '1' });
    const second = sim.placeCall({ callerNumber: '2' });
    sim.hangup(first.channelId);
    expect(() => sim.setAudio(first.channelId, undefined)).not.toThrow();
    sim.hangup(second.channelId);
    expect(() => sim.setAudio(first.channelId, undefined)).toThrow(RangeError);
    expect(() => sim.setAudio(second.channelId, undefined)).not.toThrow();
  });

  it('start refuses a non-loopback host', async () => {
    await expect(AsteriskSimulator.start({ username: 'u', password: 'p', host: '0.0.0.0' })).rejects.toThrow(RangeError);
  });
});
