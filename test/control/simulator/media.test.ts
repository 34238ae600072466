/**
 * externalMedia RTP: the simulator sends each phone's audio from the leg's
 * UNICASTRTP_LOCAL_PORT to external_host (as observed in s1/s5), delivers what
 * the leg receives to the phone in its bridge, and honours mute as observed in s4.
 * A tiny "engine" here mirrors A→B and B→A, as Tandem's first milestone does.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { AsteriskSimulator, dominantFrequency, rms, tone, type MediaFormat } from '../../../tools/asterisk-simulator/index.js';
import { decodePayload, linearToUlaw, rtpPayload, ulawToLinear } from '../../../tools/asterisk-simulator/ari/media.js';
import { EventSocket, rest, sleep } from './helpers.js';
import { subjectOf } from './replay.js';

interface Received {
  at: number;
  msg: Buffer;
  from: RemoteInfo;
}

class EngineLeg {
  readonly packets: Received[] = [];
  forwardTo: number | undefined;
  peer: EngineLeg | undefined;
  private constructor(readonly socket: Socket) {
    socket.on('message', (msg, from) => {
      this.packets.push({ at: Date.now(), msg, from });
      // Mirror: what A's leg hears is injected into B's leg, from B's own socket.
      if (this.peer?.forwardTo !== undefined) this.peer.socket.send(msg, this.peer.forwardTo, '127.0.0.1');
    });
  }
  static async open(): Promise<EngineLeg> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new EngineLeg(s);
  }
  get port(): number {
    return this.socket.address().port;
  }
  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

let sim: AsteriskSimulator | undefined;
let ws: EventSocket | undefined;
const legs: EngineLeg[] = [];
afterEach(async () => {
  await ws?.close();
  await sim?.close();
  for (const l of legs.splice(0)) await l.close();
});

async function pairWithMedia(format: MediaFormat) {
  sim = await AsteriskSimulator.start({
    username: 'tnd',
    password: 'tnd',
    endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0, audio: tone(880) } },
  });
  ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
  const a = await EngineLeg.open();
  const b = await EngineLeg.open();
  legs.push(a, b);
  a.peer = b;
  b.peer = a;
  const call = sim.placeCall({ callerNumber: 'sipp', audio: tone(440) });
  const base = sim.ariUrl;
  await rest(base, 'POST', '/bridges?type=mixing&bridgeId=brg_A&name=brg_A');
  await rest(base, 'POST', '/bridges?type=mixing&bridgeId=brg_B&name=brg_B');
  await rest(base, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&appArgs=p,7000,7001&channelId=chan_B');
  const emA = await rest(base, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:${a.port}&format=${format}&channelId=em_A`);
  const emB = await rest(base, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:${b.port}&format=${format}&channelId=em_B`);
  a.forwardTo = Number((emA.json as { channelvars: Record<string, string> }).channelvars['UNICASTRTP_LOCAL_PORT']);
  b.forwardTo = Number((emB.json as { channelvars: Record<string, string> }).channelvars['UNICASTRTP_LOCAL_PORT']);
  // Each channel joins a bridge only once it is in Stasis: Asterisk may answer the externalMedia POST
  // first and refuse the add until then (docs/asterisk-facts.md), as the simulator does.
  for (const id of ['chan_B', 'em_A', 'em_B']) await ws.waitFor((ev) => ev.some((e) => e.type === 'StasisStart' && subjectOf(e) === id));
  await rest(base, 'POST', `/bridges/brg_A/addChannel?channel=${call.channelId},em_A`);
  await rest(base, 'POST', '/bridges/brg_B/addChannel?channel=chan_B,em_B');
  return { sim, a, b, callerId: call.channelId };
}

async function until(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('G.711 µ-law', () => {
  it('round-trips every code through linear and back', () => {
    for (let code = 0; code < 256; code++) {
      const back = linearToUlaw(ulawToLinear(code));
      // 0x7f and 0xff both mean zero; everything else is exact.
      expect(code === 0x7f ? 0xff : code).toBe(back === 0x7f ? 0xff : back);
    }
  });
});

describe('externalMedia RTP', () => {
  it('ulaw: each phone hears the other, through the mirrored legs, and nothing else', async () => {
    const { sim, a, b, callerId } = await pairWithMedia('ulaw');
    await until(() => sim.heard('chan_B').length >= 25 && sim.heard(callerId).length >= 25);

    const first = a.packets[0];
    expect(first).toBeDefined();
    expect(first!.msg[1]).toBe(0); // PT 0, marker bit 0 on the first packet
    expect(rtpPayload(first!.msg)?.length).toBe(160);
    expect(first!.from.port).toBe(a.forwardTo);
    expect(b.packets[0]?.from.port).toBe(b.forwardTo);
    // The leg carries the caller's 440 Hz.
    const payload = rtpPayload(a.packets.at(-1)!.msg)!;
    expect(dominantFrequency([{ sampleRate: 8000, samples: decodePayload('ulaw', payload) }])).toBeGreaterThan(300);

    const heardByB = sim.heard('chan_B');
    const heardByA = sim.heard(callerId);
    expect(Math.abs(dominantFrequency(heardByB) - 440)).toBeLessThan(25);
    expect(Math.abs(dominantFrequency(heardByA) - 880)).toBeLessThan(25);
    expect(rms(heardByB)).toBeGreaterThan(3000);
    expect(heardByB.every((c) => c.sampleRate === 8000)).toBe(true);
  });

  it('two channels given the same external_host each send from their own UNICASTRTP_LOCAL_PORT, so one engine socket tells them apart by source', async () => {
    // chan_rtp.c unicast_rtp_request: every UnicastRTP channel gets its own RTP instance (its own
    // socket and port) and only sets external_host as that instance's remote; nothing ties two
    // channels' destinations together. Tandem's --io native relies on it (docs/batched-io.md).
    sim = await AsteriskSimulator.start({
      username: 'tnd',
      password: 'tnd',
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 0, audio: tone(880) } },
    });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const shared = await EngineLeg.open();
    legs.push(shared);
    const bySource = new Map<number, Received[]>();
    const local: { A?: number; B?: number } = {};
    shared.socket.on('message', (msg, from) => {
      bySource.set(from.port, [...(bySource.get(from.port) ?? []), { at: Date.now(), msg, from }]);
      // The mirror on one socket: what came from em_A's source goes to em_B's, and back.
      const to = from.port === local.A ? local.B : from.port === local.B ? local.A : undefined;
      if (to !== undefined) shared.socket.send(msg, to, '127.0.0.1');
    });
    const call = sim.placeCall({ callerNumber: 'sipp', audio: tone(440) });
    const base = sim.ariUrl;
    await rest(base, 'POST', '/bridges?type=mixing&bridgeId=brg_A&name=brg_A');
    await rest(base, 'POST', '/bridges?type=mixing&bridgeId=brg_B&name=brg_B');
    await rest(base, 'POST', '/channels?endpoint=PJSIP/7001&app=pair_session&appArgs=p,7000,7001&channelId=chan_B');
    const emA = await rest(base, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:${shared.port}&format=ulaw&channelId=em_A`);
    const emB = await rest(base, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:${shared.port}&format=ulaw&channelId=em_B`);
    expect(emA.status).toBe(200);
    expect(emB.status).toBe(200);
    local.A = Number((emA.json as { channelvars: Record<string, string> }).channelvars['UNICASTRTP_LOCAL_PORT']);
    local.B = Number((emB.json as { channelvars: Record<string, string> }).channelvars['UNICASTRTP_LOCAL_PORT']);
    expect(local.A).not.toBe(local.B);
    await ws.waitFor((ev) => ev.some((e) => e.type === 'StasisStart' && subjectOf(e) === 'chan_B'));
    await rest(base, 'POST', `/bridges/brg_A/addChannel?channel=${call.channelId},em_A`);
    await rest(base, 'POST', '/bridges/brg_B/addChannel?channel=chan_B,em_B');
    await until(() => sim!.heard('chan_B').length >= 25 && sim!.heard(call.channelId).length >= 25);

    // Every datagram came from one of the two channels' own ports, each carrying its own party.
    expect(new Set(bySource.keys())).toEqual(new Set([local.A, local.B]));
    const tail = (port: number): { sampleRate: number; samples: Int16Array }[] =>
      (bySource.get(port) ?? []).slice(-10).map((r) => ({ sampleRate: 8000, samples: decodePayload('ulaw', rtpPayload(r.msg)!) }));
    expect(Math.abs(dominantFrequency(tail(local.A)) - 440)).toBeLessThan(25);
    expect(Math.abs(dominantFrequency(tail(local.B)) - 880)).toBeLessThan(25);
    // And what the one socket sent back to each channel's port reached that channel's bridge only.
    expect(Math.abs(dominantFrequency(sim.heard('chan_B')) - 440)).toBeLessThan(25);
    expect(Math.abs(dominantFrequency(sim.heard(call.channelId)) - 880)).toBeLessThan(25);
  });

  it('slin16 is capture-only: Asterisk sends PT 118 big-endian, takes in the mirrored packets, and no phone hears them', async () => {
    // Observed with Tandem (docs/asterisk-facts.md): not even Asterisk's own slin16 packets echoed back are played.
    const { sim, a, b, callerId } = await pairWithMedia('slin16');
    await until(() => a.packets.length >= 25 && b.packets.length >= 25 && (sim.mediaStats('em_A')?.received ?? 0) >= 25);

    const first = a.packets[0]!;
    expect(first.msg[1]).toBe(118);
    expect(rtpPayload(first.msg)?.length).toBe(640);
    expect(first.from.port).toBe(a.forwardTo);
    const captured = a.packets.slice(-10).map((r) => ({ sampleRate: 16000, samples: decodePayload('slin16', rtpPayload(r.msg)!) }));
    expect(Math.abs(dominantFrequency(captured) - 440)).toBeLessThan(15);

    // The mirror injected B's audio into em_A and A's into em_B: received, and all of it dropped.
    const statsA = sim.mediaStats('em_A')!;
    expect(statsA.received).toBeGreaterThan(0);
    expect(statsA.dropped).toBe(statsA.received);
    await sleep(200);
    expect(sim.heard(callerId)).toEqual([]);
    expect(sim.heard('chan_B')).toEqual([]);
  });

  it('mute in on the caller stops what its externalMedia receives; unmute resumes with the sequence advanced', async () => {
    const { a, callerId } = await pairWithMedia('ulaw');
    await until(() => a.packets.length >= 5);
    const seq = (r: Received): number => r.msg.readUInt16BE(2);
    expect((await rest(sim!.ariUrl, 'POST', `/channels/${callerId}/mute?direction=in`)).status).toBe(204);
    await sleep(60);
    const during = a.packets.length;
    await sleep(300);
    expect(a.packets.length).toBe(during);
    const lastBefore = a.packets.at(-1)!;
    expect((await rest(sim!.ariUrl, 'DELETE', `/channels/${callerId}/mute?direction=in`)).status).toBe(204);
    await until(() => a.packets.length > during);
    const firstAfter = a.packets[during]!;
    expect(((seq(firstAfter) - seq(lastBefore)) & 0xffff) > 5).toBe(true);
    expect(firstAfter.msg.readUInt32BE(8)).toBe(lastBefore.msg.readUInt32BE(8));
  });

  it('mute out on the caller stops what the caller hears, while its leg keeps capturing', async () => {
    const { sim, a, callerId } = await pairWithMedia('ulaw');
    await until(() => sim.heard(callerId).length >= 5);
    await rest(sim.ariUrl, 'POST', `/channels/${callerId}/mute?direction=out`);
    await sleep(60);
    const heard = sim.heard(callerId).length;
    const captured = a.packets.length;
    // The leg keeps capturing (more than 100 ms of it, however late this process runs) ...
    await until(() => a.packets.length > captured + 5);
    // ... while the caller heard nothing more all that time.
    expect(sim.heard(callerId).length).toBe(heard);
  });

  it('sends nothing while the leg is not bridged with a phone', async () => {
    sim = await AsteriskSimulator.start({ username: 'tnd', password: 'tnd' });
    ws = await EventSocket.open(sim.ariUrl, 'pair_session', 'tnd', 'tnd');
    const leg = await EngineLeg.open();
    legs.push(leg);
    await rest(sim.ariUrl, 'POST', `/channels/externalMedia?app=pair_session&external_host=127.0.0.1:${leg.port}&format=ulaw&channelId=em_X`);
    await sleep(200);
    expect(leg.packets).toEqual([]);
    expect(sim.mediaStats('em_X')).toEqual({ sent: 0, received: 0, dropped: 0 });
  });
});
