/**
 * Many pairs at once through the REST API, with random hangup order and
 * timing: the simulator stays consistent and ends empty. Also the HTTP session
 * limit (Asterisk's http.conf sessionlimit) and the WebSocket 101 headers.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/index.js';
import { EventSocket, rest, sleep } from './helpers.js';
import { DATA_DIR, subjectOf } from './replay.js';

let sim: AsteriskSimulator | undefined;
let ws: EventSocket | undefined;
afterEach(async () => {
  await ws?.close();
  await sim?.close();
  ws = undefined;
  sim = undefined;
});

describe('concurrency', () => {
  it('100 pairs set up and torn down concurrently, either leg hanging up first, end with nothing left', async () => {
    sim = await AsteriskSimulator.start({
      username: 'tnd',
      password: 'tnd',
      eventOrder: 'random',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 30 } },
    });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const s = sim;
    const w = ws;
    const base = s.ariUrl;
    const pair = async (i: number): Promise<void> => {
      const p = `pair_${String(i).padStart(3, '0')}`;
      const call = s.placeCall({ callerNumber: `c${i}` });
      const ok = async (method: string, path: string, status: number): Promise<void> => {
        const r = await rest(base, method, path);
        if (r.status !== status) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
      };
      await ok('POST', `/bridges?type=mixing&bridgeId=brg_${p}_A&name=brg_${p}_A`, 200);
      await ok('POST', `/bridges?type=mixing&bridgeId=brg_${p}_B&name=brg_${p}_B`, 200);
      await ok('POST', `/channels?endpoint=PJSIP/7001&app=pair_session&appArgs=${p},7000,7001&channelId=chan_${p}_B`, 200);
      await ok('POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:9&format=ulaw&channelId=em_${p}_A`, 200);
      await ok('POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:9&format=ulaw&channelId=em_${p}_B`, 200);
      // A channel joins a bridge only once it is in Stasis (the externalMedia 200 may come first, as
      // recorded). Polling the simulator's state is cheaper than 100 waiters re-scanning every event.
      const inStasis = async (id: string): Promise<void> => {
        while (!s.channels().some((c) => c.id === id && c.inStasis)) await sleep(10);
      };
      await inStasis(`em_${p}_A`);
      await ok('POST', `/bridges/brg_${p}_A/addChannel?channel=${call.channelId},em_${p}_A`, 204);
      await Promise.all([inStasis(`chan_${p}_B`), inStasis(`em_${p}_B`)]);
      await ok('POST', `/bridges/brg_${p}_B/addChannel?channel=chan_${p}_B,em_${p}_B`, 204);
      await sleep(Math.random() * 50);
      const callerFirst = i % 2 === 0;
      s.hangup(callerFirst ? call.channelId : `chan_${p}_B`);
      await ok('DELETE', callerFirst ? `/channels/chan_${p}_B` : `/channels/${call.channelId}`, 204);
      await ok('DELETE', `/channels/em_${p}_A`, 204);
      await ok('DELETE', `/channels/em_${p}_B`, 204);
      await ok('DELETE', `/bridges/brg_${p}_A`, 204);
      await ok('DELETE', `/bridges/brg_${p}_B`, 204);
    };
    await Promise.all(Array.from({ length: 100 }, (_, i) => pair(i + 1)));
    expect(s.channels()).toEqual([]);
    expect(s.bridges()).toEqual([]);
    await w.waitFor((ev) => ev.filter((e) => e.type === 'BridgeDestroyed').length === 200);
    // Every originated leg and externalMedia channel was destroyed exactly once; callers never.
    const destroyed = w.events.filter((e) => e.type === 'ChannelDestroyed').map(subjectOf);
    expect(destroyed.length).toBe(300);
    expect(new Set(destroyed).size).toBe(300);
  }, 180_000); // only ends a stuck run: ~2 s idle, far longer with both cores taken
});

describe('HTTP sessions', () => {
  function openRaw(url: string): Promise<Socket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.once('error', reject);
    });
  }
  const get = (s: Socket): Promise<string> =>
    new Promise((resolve) => {
      let data = '';
      const onData = (c: Buffer): void => {
        data += c.toString();
        if (data.includes('\r\n\r\n')) {
          s.off('data', onData);
          resolve(data.split('\r\n')[0] ?? '');
        }
      };
      s.on('data', onData);
      s.write(`GET /ari/bridges HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from('tnd:tnd').toString('base64')}\r\n\r\n`);
    });

  it('with sessionLimit, a connection over the limit is not served until another closes', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd', sessionLimit: 2 });
    const s1 = await openRaw(sim.ariUrl);
    const s2 = await openRaw(sim.ariUrl);
    expect(await get(s1)).toBe('HTTP/1.1 200 OK');
    expect(await get(s2)).toBe('HTTP/1.1 200 OK');
    const s3 = await openRaw(sim.ariUrl);
    let served = false;
    const third = get(s3).then((line) => {
      served = true;
      return line;
    });
    await sleep(300);
    expect(served).toBe(false);
    s1.destroy();
    expect(await third).toBe('HTTP/1.1 200 OK');
    s2.destroy();
    s3.destroy();
  });

  it('takeHttpSessions: idle keep-alive connections are closed and new ones stall until release; a busy WebSocket keeps its session', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd', sessionLimit: 10 });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const idle = await openRaw(sim.ariUrl);
    expect(await get(idle)).toBe('HTTP/1.1 200 OK');
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    const taken = sim.takeHttpSessions();
    await idleClosed;
    const late = await openRaw(sim.ariUrl);
    let served = false;
    const answer = get(late).then((line) => {
      served = true;
      return line;
    });
    await sleep(300);
    expect(served).toBe(false);
    expect(sim.httpSessions().waiting).toBe(1);
    expect(sim.isAppConnected('pair_session')).toBe(true);
    taken.release();
    expect(await answer).toBe('HTTP/1.1 200 OK');
    expect(sim.httpSessions().waiting).toBe(0);
    late.destroy();
  });

  it('the event WebSocket upgrade answers 101 with the headers Asterisk sends', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    const recorded = JSON.parse(readFileSync(`${DATA_DIR}s1_pair_caller_hangup/ari_ws_upgrade_response.json`, 'utf8')) as {
      statusCode: number;
      headers: Record<string, string>;
    };
    const s = await openRaw(sim.ariUrl);
    const response = await new Promise<string>((resolve) => {
      let data = '';
      s.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.includes('\r\n\r\n')) resolve(data);
      });
      s.write(
        'GET /ari/events?app=pair_session&api_key=tnd:tnd HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    const lines = response.split('\r\n');
    expect(lines[0]).toBe(`HTTP/1.1 ${recorded.statusCode} Switching Protocols`);
    const names = lines.slice(1).filter((l) => l.includes(':')).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    expect(names.sort()).toEqual(Object.keys(recorded.headers).sort());
    s.destroy();
  });
});
