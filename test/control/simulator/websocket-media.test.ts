/**
 * externalMedia over chan_websocket (transport=websocket, encapsulation=none,
 * connection_type=server), as channels/chan_websocket.c does it and as observed
 * with Tandem (docs/asterisk-facts.md): a WebSocket/INCOMING channel with
 * MEDIA_WEBSOCKET_CONNECTION_ID, MEDIA_START on connect, little-endian slin16
 * frames both ways, flow control, and the connection's end hanging up the channel.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AsteriskSimulator, dominantFrequency, rms, tone, type HeardChunk, type SimulatorOptions } from '../../../tools/asterisk-simulator/index.js';
import { decodePayload, encodeFrame } from '../../../tools/asterisk-simulator/ari/media.js';
import { EventSocket, rest, sleep, type WsEvent } from './helpers.js';
import { subjectOf } from './replay.js';

let sim: AsteriskSimulator | undefined;
let events: EventSocket | undefined;
const clients: MediaClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await events?.close();
  await sim?.close();
  sim = undefined;
  events = undefined;
});

/** A chan_websocket client: records text and binary messages in order. */
class MediaClient {
  readonly texts: string[] = [];
  readonly frames: Buffer[] = [];
  closeCode: number | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.frames.push(data as Buffer);
      else this.texts.push((data as Buffer).toString('utf8'));
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static connect(url: string): Promise<MediaClient> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        const client = new MediaClient(ws);
        clients.push(client);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode ?? '?'}`)));
      ws.once('error', reject);
    });
  }
}

async function until(pred: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function start(opts: Partial<SimulatorOptions> = {}): Promise<{ sim: AsteriskSimulator; events: EventSocket }> {
  sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd', ...opts });
  events = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
  return { sim, events };
}

const mediaBase = (s: AsteriskSimulator): string => `${s.ariUrl.replace('http', 'ws')}/media/`;

async function createWebSocketChannel(s: AsteriskSimulator, format: string, channelId: string): Promise<{ name: string; connectionId: string; body: Record<string, unknown> }> {
  const r = await rest(s.ariUrl, 'POST', `/channels/externalMedia?app=pair_session&transport=websocket&encapsulation=none&connection_type=server&format=${format}&channelId=${channelId}`);
  expect(r.status).toBe(200);
  const body = r.json as { name: string; channelvars: Record<string, string> };
  return { name: body.name, connectionId: body.channelvars['MEDIA_WEBSOCKET_CONNECTION_ID'] ?? '', body: body as unknown as Record<string, unknown> };
}

/** One request on a connection of its own, closed after the response (no keep-alive holding a session). */
function oneShot(base: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, agent: false, auth: 'tnd:tnd', timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer (held over sessionlimit?)`)));
    req.on('error', reject);
    req.end();
  });
}

const typesFor = (list: readonly WsEvent[], id: string): string[] => list.filter((e) => subjectOf(e) === id).map((e) => e.type);
/** Chunks with sound in them (chan_websocket plays silence whenever its queue is empty). */
const voiced = (chunks: readonly HeardChunk[]): HeardChunk[] => chunks.filter((c) => rms([c]) > 500);

describe('externalMedia over chan_websocket', () => {
  it('creates WebSocket/INCOMING with MEDIA_WEBSOCKET_CONNECTION_ID, and enters Stasis only once a client connects and gets MEDIA_START', async () => {
    const { sim, events } = await start();
    const { name, connectionId, body } = await createWebSocketChannel(sim, 'slin16', 'em_X');
    expect(name).toMatch(/^WebSocket\/INCOMING\/0x[0-9a-f]+$/);
    expect(connectionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(body).toMatchObject({ id: 'em_X', state: 'Down', channelvars: { MEDIA_WEBSOCKET_CONNECTION_ID: connectionId, MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' } });
    await events.waitFor((list) => typesFor(list, 'em_X').includes('Dial'));
    await sleep(100);
    expect(typesFor(events.events, 'em_X')).toEqual(['Dial']);

    // No ARI credentials on /media/: the connection id is the key.
    const client = await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    await until(() => client.texts.length >= 1, 'MEDIA_START');
    expect(client.texts[0]).toBe(`MEDIA_START connection_id:${connectionId} channel:${name} channel_id:em_X format:slin16 optimal_frame_size:640 ptime:20`);
    await events.waitFor((list) => typesFor(list, 'em_X').includes('StasisStart'));
    expect(typesFor(events.events, 'em_X')).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect(sim.channels().find((c) => c.id === 'em_X')).toMatchObject({ state: 'Up', inStasis: true });
  });

  it('refuses an unknown connection id (404) and a second connection for one id (409)', async () => {
    const { sim } = await start();
    const { connectionId } = await createWebSocketChannel(sim, 'ulaw', 'em_X');
    await expect(MediaClient.connect(`${mediaBase(sim)}00000000-0000-0000-0000-000000000000`)).rejects.toThrow('HTTP 404');
    await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    await expect(MediaClient.connect(`${mediaBase(sim)}${connectionId}`)).rejects.toThrow('HTTP 409');
    const plain = await fetch(`${sim.ariUrl}/media/${connectionId}`);
    expect(plain.status).toBe(426);
  });

  it('carries 16 kHz both ways: 640-byte little-endian frames of the caller out, frames in played to the caller', async () => {
    const { sim, events } = await start();
    const call = sim.placeCall({ callerNumber: 'sipp', audio: tone(440) });
    await rest(sim.ariUrl, 'POST', '/bridges?type=mixing&bridgeId=brg_A&name=brg_A');
    const { connectionId } = await createWebSocketChannel(sim, 'slin16', 'em_A');
    const client = await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    await events.waitFor((list) => typesFor(list, 'em_A').includes('StasisStart'));
    expect((await rest(sim.ariUrl, 'POST', `/bridges/brg_A/addChannel?channel=${call.channelId},em_A`)).status).toBe(204);

    // Out: one binary message per 20 ms frame, little-endian (as observed: big-endian decodes to noise).
    await until(() => client.frames.length >= 25, 'frames from Asterisk');
    expect(client.frames.every((f) => f.length === 640)).toBe(true);
    const out = client.frames.slice(-20).map((f) => ({ sampleRate: 16000, samples: decodePayload('slin16', f, true) }));
    expect(Math.abs(dominantFrequency(out) - 440)).toBeLessThan(15);
    const asBigEndian = client.frames.slice(-20).map((f) => ({ sampleRate: 16000, samples: decodePayload('slin16', f, false) }));
    expect(Math.abs(dominantFrequency(asBigEndian) - 440)).toBeGreaterThan(100);

    // In: the client's 880 Hz, paced in real time, is what the caller hears (silence before it).
    const source = tone(880);
    for (let i = 0; i < 50; i++) {
      const frame = Buffer.alloc(640);
      encodeFrame('slin16', source(16000, 320), frame, true);
      client.ws.send(frame);
      await sleep(20);
    }
    await until(() => voiced(sim.heard(call.channelId)).length >= 30, 'the caller hearing the client');
    const heard = voiced(sim.heard(call.channelId));
    expect(heard.every((c) => c.sampleRate === 16000 && c.samples.length === 320)).toBe(true);
    expect(Math.abs(dominantFrequency(heard) - 880)).toBeLessThan(15);
    expect(sim.mediaStats('em_A')).toMatchObject({ received: 50, dropped: 0 });
  });

  it('hangs the channel up when the client closes, and closes the connection (1000) when the channel is hung up', async () => {
    const { sim, events } = await start();
    const a = await createWebSocketChannel(sim, 'ulaw', 'em_A');
    const b = await createWebSocketChannel(sim, 'ulaw', 'em_B');
    const clientA = await MediaClient.connect(`${mediaBase(sim)}${a.connectionId}`);
    const clientB = await MediaClient.connect(`${mediaBase(sim)}${b.connectionId}`);
    await events.waitFor((list) => typesFor(list, 'em_A').includes('StasisStart') && typesFor(list, 'em_B').includes('StasisStart'));

    clientA.ws.close(1000);
    await events.waitFor((list) => typesFor(list, 'em_A').includes('ChannelDestroyed'));
    const hangup = events.events.find((e) => e.type === 'ChannelHangupRequest' && subjectOf(e) === 'em_A');
    expect(hangup).toMatchObject({ cause: 16 });
    expect(events.events.find((e) => e.type === 'ChannelDestroyed' && subjectOf(e) === 'em_A')).toMatchObject({ cause: 16 });
    expect(typesFor(events.events, 'em_A')).toContain('StasisEnd');

    expect((await rest(sim.ariUrl, 'DELETE', '/channels/em_B')).status).toBe(204);
    await until(() => clientB.closeCode !== null, 'the connection to close');
    expect(clientB.closeCode).toBe(1000);
    expect(sim.channels()).toEqual([]);
  });

  it('ends a channel nobody connects to at the dial timeout: ChannelDestroyed 19, the id refused afterwards', async () => {
    const { sim, events } = await start({ mediaConnectTimeoutMs: 300 });
    const { connectionId } = await createWebSocketChannel(sim, 'ulaw', 'em_X');
    await events.waitFor((list) => typesFor(list, 'em_X').includes('ChannelDestroyed'));
    expect(events.events.find((e) => e.type === 'ChannelDestroyed')).toMatchObject({ cause: 19 });
    expect(typesFor(events.events, 'em_X')).not.toContain('StasisStart');
    await expect(MediaClient.connect(`${mediaBase(sim)}${connectionId}`)).rejects.toThrow('HTTP 404');
  });

  it('flow control: MEDIA_XOFF at 900 queued frames, a message ignored at 1000, MEDIA_XON once the queue drains (FLUSH_MEDIA)', async () => {
    const { sim, events } = await start();
    const { connectionId } = await createWebSocketChannel(sim, 'ulaw', 'em_X');
    const client = await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    await events.waitFor((list) => typesFor(list, 'em_X').includes('StasisStart'));
    // PAUSE_MEDIA: nothing is played, so the queue only grows.
    client.ws.send('PAUSE_MEDIA');
    for (const frames of [400, 400, 200]) client.ws.send(Buffer.alloc(frames * 160, 0xff));
    await until(() => client.texts.includes('MEDIA_XOFF'), 'MEDIA_XOFF');
    client.ws.send(Buffer.alloc(160, 0xff));
    client.ws.send('GET_STATUS');
    await until(() => client.texts.some((t) => t.startsWith('STATUS ')), 'STATUS');
    expect(client.texts.find((t) => t.startsWith('STATUS '))).toBe('STATUS channel_id:em_X queue_length:1000 xon_level:800 xoff_level:900 queue_full:true bulk_media:false media_paused:true');
    expect(sim.mediaStats('em_X')).toMatchObject({ received: 1000, dropped: 1 });
    client.ws.send('FLUSH_MEDIA');
    client.ws.send('CONTINUE_MEDIA');
    await until(() => client.texts.includes('MEDIA_XON'), 'MEDIA_XON');
  });

  it('drops what does not fill a frame unless buffering; buffered media completes frames across messages and reports its end', async () => {
    const { sim, events } = await start();
    const { connectionId } = await createWebSocketChannel(sim, 'ulaw', 'em_X');
    const client = await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    await events.waitFor((list) => typesFor(list, 'em_X').includes('StasisStart'));
    client.ws.send(Buffer.alloc(100, 0xff));
    client.ws.send('START_MEDIA_BUFFERING');
    client.ws.send(Buffer.alloc(100, 0xff));
    client.ws.send(Buffer.alloc(100, 0xff)); // completes one frame, leaves 40 bytes
    client.ws.send('STOP_MEDIA_BUFFERING clip-1'); // the 40 bytes become a padded frame
    client.ws.send('MARK_MEDIA m-1');
    await until(() => client.texts.includes('MEDIA_MARK_PROCESSED m-1'), 'the mark');
    expect(client.texts).toContain('MEDIA_BUFFERING_COMPLETED clip-1');
    expect(client.texts.indexOf('MEDIA_BUFFERING_COMPLETED clip-1')).toBeLessThan(client.texts.indexOf('MEDIA_MARK_PROCESSED m-1'));
    expect(sim.mediaStats('em_X')).toMatchObject({ received: 2, dropped: 1 });
  });

  it('a media connection does not hold an HTTP session (Asterisk hands it to the channel): REST is served under sessionlimit', async () => {
    // sessionlimit 2: the event WebSocket holds one; a media connection that kept its session would stall REST.
    const { sim } = await start({ sessionLimit: 2 });
    const created = await oneShot(sim.ariUrl, 'POST', '/ari/channels/externalMedia?app=pair_session&transport=websocket&encapsulation=none&connection_type=server&format=ulaw&channelId=em_X');
    expect(created.status).toBe(200);
    const connectionId = (JSON.parse(created.body) as { channelvars: Record<string, string> }).channelvars['MEDIA_WEBSOCKET_CONNECTION_ID'] ?? '';
    await MediaClient.connect(`${mediaBase(sim)}${connectionId}`);
    const res = await oneShot(sim.ariUrl, 'GET', '/ari/channels');
    expect(res.status).toBe(200);
  });
});
