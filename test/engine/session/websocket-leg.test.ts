/**
 * A WebSocket leg against a stand-in for chan_websocket: MEDIA_START, frames
 * into the jitter buffer (cut across message boundaries, little-endian),
 * paced frames out, MEDIA_XOFF/XON, counted bad input, and the connection's
 * end reported once (and not for our own close).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getCodec } from '../../../engine/src/codec/index.js';
import { logger } from '../../../common/src/logger.js';
import { EngineError } from '../../../engine/src/session/errors.js';
import { WebSocketLeg } from '../../../engine/src/session/websocket-leg.js';
import { ChanWebSocketPeer, frequencyLE, sineFramesLE } from '../../support/chan-websocket-peer.js';
import { waitFor } from '../../support/rtp-peer.js';

let peer: ChanWebSocketPeer;
const legs: WebSocketLeg[] = [];
let lost: string[] = [];

beforeEach(async () => {
  peer = await ChanWebSocketPeer.start();
  lost = [];
});
afterEach(async () => {
  for (const leg of legs.splice(0)) leg.close();
  await peer.close();
});

function leg(codec: 'slin16' | 'ulaw' = 'slin16', connectTimeoutMs = 2000): WebSocketLeg {
  const l = new WebSocketLeg({
    pairId: 'pair_001',
    name: 'A',
    ext: '7000',
    codec: getCodec(codec, 'little'),
    jitter: { minDepthMs: 20, maxDepthMs: 200, playoutSlackMs: 6 },
    connectTimeoutMs,
    log: logger('test.ws-leg'),
    onLost: (_leg, reason) => lost.push(reason),
  });
  legs.push(l);
  return l;
}

/** Pops every buffered frame (as a tick would, far in the future so nothing waits). */
function drain(l: WebSocketLeg): Int16Array[] {
  const out: Int16Array[] = [];
  let now = performance.now() + 25;
  for (let i = 0; i < 100; i++) {
    const pcm = new Int16Array(l.codec.frameSamples);
    const r = l.jitter.pop(now, pcm);
    now += 20;
    if (r === 'audio') out.push(pcm);
    else if (l.jitter.bufferedFrames === 0) break;
  }
  return out;
}

describe('WebSocketLeg', () => {
  it('connects, resolves with MEDIA_START, and stores each frame (whole or cut across messages) in order, little-endian', async () => {
    const channel = peer.channel('slin16');
    const l = leg();
    const info = await l.connect(peer.url(channel));
    expect(info).toMatchObject({ connectionId: channel.connectionId, format: 'slin16', optimalFrameSize: 640, ptimeMs: 20 });
    expect(l.stats()).toMatchObject({ transport: 'websocket', connected: true, local: { address: '127.0.0.1' } });

    const frames = sineFramesLE(440, 16000, 320, 6);
    channel.send(frames[0]!);
    channel.send(frames[1]!);
    // A frame and a half, then the other half: three frames in all.
    channel.send(Buffer.concat([frames[2]!, frames[3]!.subarray(0, 320)]));
    channel.send(Buffer.concat([frames[3]!.subarray(320), frames[4]!, frames[5]!]));
    await waitFor(() => l.jitter.stats.received === 6);
    const played = drain(l);
    expect(played.length).toBe(6);
    for (let f = 0; f < 6; f++) {
      const expected = frames[f]!;
      for (let i = 0; i < 320; i++) expect(played[f]![i]).toBe(expected.readInt16LE(i * 2));
    }
    const s = l.stats();
    expect(s.rxPackets).toBe(6);
    expect(s.rxBytes).toBe(6 * 640);
    expect(s.websocket?.partialBytes).toBe(320);
    expect(s.jitter.lost).toBe(0);
  });

  it('sends one 640-byte little-endian binary frame per sendPcm; MEDIA_XOFF stops sending until MEDIA_XON', async () => {
    const channel = peer.channel('slin16');
    const l = leg();
    await l.connect(peer.url(channel));
    const tone = sineFramesLE(880, 16000, 320, 10);
    const pcm = (f: Buffer): Int16Array => Int16Array.from({ length: 320 }, (_, i) => f.readInt16LE(i * 2));
    for (const f of tone.slice(0, 5)) l.sendPcm(pcm(f), 320, 16000);
    await waitFor(() => channel.frames.length === 5);
    expect(channel.frames.every((f) => f.length === 640)).toBe(true);
    expect(channel.frames.slice(0, 5)).toEqual(tone.slice(0, 5));

    channel.send('MEDIA_XOFF');
    await waitFor(() => l.stats().websocket?.controlMessages['MEDIA_XOFF'] === 1);
    for (const f of tone.slice(5, 8)) l.sendPcm(pcm(f), 320, 16000);
    channel.send('MEDIA_XON');
    await waitFor(() => l.stats().websocket?.controlMessages['MEDIA_XON'] === 1);
    l.sendPcm(pcm(tone[8]!), 320, 16000);
    await waitFor(() => channel.frames.length === 6);
    expect(channel.frames[5]).toEqual(tone[8]);
    expect(l.stats()).toMatchObject({ txPackets: 6, websocket: { txDroppedXoff: 3 } });
  });

  it('resamples an 8 kHz frame to the 16 kHz leg', async () => {
    const channel = peer.channel('slin16');
    const l = leg();
    await l.connect(peer.url(channel));
    const eight = sineFramesLE(500, 8000, 160, 20);
    for (const f of eight) l.sendPcm(Int16Array.from({ length: 160 }, (_, i) => f.readInt16LE(i * 2)), 160, 8000);
    await waitFor(() => channel.frames.length === 20);
    expect(channel.frames.every((f) => f.length === 640)).toBe(true);
    expect(Math.abs(frequencyLE(channel.frames.slice(5), 16000) - 500)).toBeLessThan(15);
  });

  it('refuses a MEDIA_START for another format, an unknown connection id, and a server that never starts', async () => {
    const ulawChannel = peer.channel('ulaw');
    await expect(leg('slin16').connect(peer.url(ulawChannel))).rejects.toMatchObject({ code: 'MEDIA_CONNECT_FAILED', message: expect.stringContaining('speaks ulaw') });
    await expect(leg().connect(peer.url('no-such-id'))).rejects.toMatchObject({ code: 'MEDIA_CONNECT_FAILED', message: expect.stringContaining('HTTP 404') });
    const silent = peer.channel('slin16', 640, null);
    const err = await leg('slin16', 200).connect(peer.url(silent)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toContain('no MEDIA_START within 200 ms');
    await expect(leg().connect('http://127.0.0.1:1/media/x')).rejects.toBeInstanceOf(TypeError);
    // None of these is a lost connection: there never was one.
    expect(lost).toEqual([]);
  });

  it('accepts MEDIA_START in the JSON control format', async () => {
    const id = 'f1e2d3c4-0000-4000-8000-000000000001';
    const channel = peer.channel(
      'ulaw',
      160,
      JSON.stringify({ event: 'MEDIA_START', connection_id: id, channel: 'WebSocket/INCOMING/0x7f01', channel_id: 'em_x', format: 'ulaw', optimal_frame_size: 160, ptime: 20, channel_variables: { PAIR_ID: 'pair_001' } }),
    );
    const info = await leg('ulaw').connect(peer.url(channel));
    expect(info).toEqual({ connectionId: id, channel: 'WebSocket/INCOMING/0x7f01', channelId: 'em_x', format: 'ulaw', optimalFrameSize: 160, ptimeMs: 20 });
  });

  it('counts what it cannot use (unknown text, oversized text) without losing the connection', async () => {
    const channel = peer.channel('ulaw');
    const l = leg('ulaw');
    await l.connect(peer.url(channel));
    channel.send('WHATEVER 1 2 3');
    channel.send('x'.repeat(20_000));
    channel.send('DTMF_END digit:5 channel_id:em_x');
    await waitFor(() => l.stats().websocket?.controlMessages['DTMF_END'] === 1);
    expect(l.stats().rxDropped).toEqual({ CONTROL_UNKNOWN: 1, CONTROL_TOO_LONG: 1 });
    expect(l.connected).toBe(true);
  });

  it('reports the connection ending on Asterisk\'s side once; its own close() sends 1000 and reports nothing', async () => {
    const a = peer.channel('ulaw');
    const b = peer.channel('ulaw');
    const la = leg('ulaw');
    const lb = leg('ulaw');
    await la.connect(peer.url(a));
    await lb.connect(peer.url(b));
    a.ws?.close(1000);
    await waitFor(() => lost.length === 1);
    expect(lost[0]).toContain('closed by Asterisk (code 1000');
    expect(la.stats()).toMatchObject({ connected: false, websocket: { closeCode: 1000 } });
    lb.close();
    lb.close();
    await waitFor(() => b.closeCode !== null);
    expect(b.closeCode).toBe(1000);
    expect(lost.length).toBe(1);
    expect(lb.openTransports).toBe(0);
    await expect(lb.connect(peer.url(b))).rejects.toMatchObject({ code: 'MEDIA_CONNECT_FAILED' });
  });
});
