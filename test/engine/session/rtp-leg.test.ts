import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { getCodec } from '../../../engine/src/codec/index.js';
import { writeRtpHeader } from '../../../engine/src/rtp/index.js';
import { DgramLegSocket } from '../../../engine/src/session/leg-socket.js';
import { RtpLeg, type RtpLegOptions } from '../../../engine/src/session/rtp-leg.js';
import type { UdpEndpoint } from '../../../engine/src/worker/protocol.js';
import { RtpPeer, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

async function newLeg(options: Partial<Pick<RtpLegOptions, 'latch' | 'probationPackets'>> = {}): Promise<{ leg: RtpLeg; socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const leg = new RtpLeg({
    pairId: 'pair_test',
    name: 'A',
    ext: '7000',
    codec: getCodec('ulaw'),
    socket: new DgramLegSocket(socket),
    jitter: { minDepthMs: 20, maxDepthMs: 200, playoutSlackMs: 6 },
    log: logger('test.rtp-leg'),
    ...options,
  });
  open.push(leg);
  return { leg, socket };
}

async function peer(ssrc?: number): Promise<RtpPeer> {
  const p = await RtpPeer.open(ssrc);
  open.push(p);
  return p;
}

/** Resolves once the leg has handled `count` more datagrams (its own listener runs first: it was added first). */
function handled(socket: dgram.Socket, count: number): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    const onMessage = (): void => {
      if (--left > 0) return;
      socket.off('message', onMessage);
      resolve();
    };
    socket.on('message', onMessage);
  });
}

function connectedEvents(leg: RtpLeg): Array<{ remote: UdpEndpoint; latched: boolean }> {
  const events: Array<{ remote: UdpEndpoint; latched: boolean }> = [];
  leg.on('connected', (remote, latched) => events.push({ remote, latched }));
  return events;
}

const PCM = new Int16Array(160).fill(1000);

/** An RTP packet with any header, sent from `from`'s own socket (the same 5-tuple as its real stream). */
function rtp(seq: number, ssrc: number, payload: Buffer): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  writeRtpHeader(packet, 0, false, 0, seq & 0xffff, (seq * 160) >>> 0, ssrc);
  payload.copy(packet, 12);
  return packet;
}

describe('RtpLeg: where it listens and sends', () => {
  it('takes a second setRemote while the first connect is still pending, and ends connected to the last one', async () => {
    const { leg } = await newLeg();
    const first = await peer();
    const second = await peer();
    const events = connectedEvents(leg);
    // Both before the event loop turns: dgram's connect() is still pending when the second comes.
    const a = leg.setRemote(first.endpoint);
    const b = leg.setRemote(second.endpoint);
    await Promise.all([a, b]);
    expect(leg.stats()).toMatchObject({ remote: second.endpoint, connected: true });
    expect(events).toEqual([{ remote: second.endpoint, latched: false }]);
    leg.sendPcm(PCM, 160, 8000);
    await waitFor(() => second.received.length === 1);
    expect(first.received).toEqual([]);
  });

  it('moves a connected socket to a new remote, and treats the same remote again as a no-op', async () => {
    const { leg } = await newLeg();
    const first = await peer();
    const second = await peer();
    const events = connectedEvents(leg);
    await leg.setRemote(first.endpoint);
    await leg.setRemote({ ...first.endpoint });
    expect(events).toHaveLength(1);
    leg.sendPcm(PCM, 160, 8000);
    await waitFor(() => first.received.length === 1);
    await leg.setRemote(second.endpoint);
    expect(events.map((e) => e.remote)).toEqual([first.endpoint, second.endpoint]);
    leg.sendPcm(PCM, 160, 8000);
    await waitFor(() => second.received.length === 1);
    expect(first.received).toHaveLength(1);
  });

  it('rejects a pending setRemote when the leg closes, and any setRemote after', async () => {
    const { leg } = await newLeg();
    const p = await peer();
    const pending = leg.setRemote(p.endpoint);
    leg.close();
    await expect(pending).rejects.toBeInstanceOf(InvalidStateError);
    await expect(leg.setRemote(p.endpoint)).rejects.toBeInstanceOf(InvalidStateError);
    expect(leg.closed).toBe(true);
  });

  it('reports a connect the socket refuses, and connects on the next setRemote', async () => {
    const { leg } = await newLeg();
    // An IPv6 peer for an IPv4 socket: dgram refuses it.
    await expect(leg.setRemote({ address: '::1', port: 4000 })).rejects.toThrow();
    expect(leg.connected).toBe(false);
    const p = await peer();
    await leg.setRemote(p.endpoint);
    expect(leg.stats()).toMatchObject({ remote: p.endpoint, connected: true });
  });
});

describe('RtpLeg: no latching', () => {
  it('hears nobody and answers nobody before the control plane names its peer', async () => {
    const { leg, socket } = await newLeg();
    const stranger = await peer();
    const arrived = handled(socket, 10);
    for (let i = 0; i < 10; i++) await stranger.sendRtp(leg.local, taggedUlawFrame(i));
    await arrived;
    leg.sendPcm(PCM, 160, 8000);
    const stats = leg.stats();
    expect(stats).toMatchObject({ remote: null, connected: false, latch: false, ssrc: null, rxPackets: 10, txPackets: 0, txSkippedNotConnected: 1 });
    expect(stats.rxDropped).toEqual({ NO_REMOTE: 10 });
    expect(stats.jitter.received).toBe(0);
  });

  it("accepts the first stream from the named peer at once, and a spoofed SSRC from that peer's own socket never", async () => {
    const { leg, socket } = await newLeg();
    const asterisk = await peer(0xaaaa0001);
    await leg.setRemote(asterisk.endpoint);
    // Each real packet followed by 3 spoofed ones with another SSRC and consecutive sequence numbers,
    // sent from the very socket the real stream comes from: the kernel cannot tell them apart.
    const rounds = 50;
    const arrived = handled(socket, rounds * 4);
    for (let i = 0; i < rounds; i++) {
      await asterisk.sendRtp(leg.local, taggedUlawFrame(i));
      for (let k = 0; k < 3; k++) await asterisk.sendRaw(leg.local, rtp(30000 + i * 3 + k, 0x5bad, taggedUlawFrame(3000 + k)));
    }
    await arrived;
    const stats = leg.stats();
    expect(stats.ssrc).toBe(0xaaaa0001);
    expect(stats.rxDropped).toEqual({ SSRC_PROBATION: rounds * 3 });
    expect(stats.jitter.received).toBe(rounds);
    expect(stats.jitter.resyncs).toBe(0);
    expect(stats.sourceSwitches).toBe(0);
  });

  it('switches to a new SSRC from the peer after probation once the old one has stopped (a masquerade)', async () => {
    const { leg, socket } = await newLeg();
    const asterisk = await peer(0xaaaa0001);
    await leg.setRemote(asterisk.endpoint);
    let arrived = handled(socket, 5);
    for (let i = 0; i < 5; i++) await asterisk.sendRtp(leg.local, taggedUlawFrame(i));
    await arrived;
    // The new stream, paced like Asterisk's: until it has passed, its packets are dropped; then it is the stream.
    let sent = 0;
    const deadline = Date.now() + 10_000;
    while (leg.stats().ssrc !== 0xbbbb && Date.now() < deadline) {
      arrived = handled(socket, 1);
      await asterisk.sendRaw(leg.local, rtp(100 + sent++, 0xbbbb, taggedUlawFrame(100)));
      await arrived;
      await sleep(20);
    }
    const stats = leg.stats();
    expect(stats.ssrc).toBe(0xbbbb);
    expect(stats.sourceSwitches).toBe(1);
    // At least 3 on probation (more only if a busy machine bunched them), the rest in the jitter buffer.
    expect(stats.rxDropped.SSRC_PROBATION).toBeGreaterThanOrEqual(3);
    expect(stats.rxDropped.SSRC_PROBATION! + stats.jitter.received).toBe(5 + sent);
  });
});

describe('RtpLeg: latching (tandem engine)', () => {
  it('latches onto a source only after probation, says so, and answers it', async () => {
    const { leg, socket } = await newLeg({ latch: true });
    const asterisk = await peer();
    const events = connectedEvents(leg);
    const latched = new Promise<void>((resolve) => leg.once('connected', () => resolve()));
    let sent = 0;
    let done = false;
    void latched.then(() => (done = true));
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) {
      const arrived = handled(socket, 1);
      await asterisk.sendRtp(leg.local, taggedUlawFrame(sent++));
      await arrived;
      await sleep(20);
    }
    await latched;
    const stats = leg.stats();
    expect(events).toEqual([{ remote: asterisk.endpoint, latched: true }]);
    expect(stats).toMatchObject({ remote: asterisk.endpoint, connected: true, latch: true, ssrc: asterisk.ssrc });
    expect(stats.rxDropped.LATCH_PROBATION).toBeGreaterThanOrEqual(3);
    expect(stats.rxDropped.LATCH_PROBATION! + stats.jitter.received).toBe(sent);
    leg.sendPcm(PCM, 160, 8000);
    await waitFor(() => asterisk.received.length === 1);
  });

  it('takes the control plane\'s address while the latch\'s connect is still pending', async () => {
    const { leg, socket } = await newLeg({ latch: true, probationPackets: 1 });
    const sprayer = await peer();
    const asterisk = await peer();
    const events = connectedEvents(leg);
    // Settles when that setRemote does.
    const told = new Promise<void>((resolve, reject) => {
      // Runs right after the leg's own handler latched onto the sprayer: its connect() has not completed.
      socket.once('message', () => {
        expect(leg.stats()).toMatchObject({ remote: sprayer.endpoint, connected: false });
        leg.setRemote(asterisk.endpoint).then(resolve, reject);
      });
    });
    await sprayer.sendRtp(leg.local, taggedUlawFrame(1));
    await told;
    expect(leg.stats()).toMatchObject({ remote: asterisk.endpoint, connected: true });
    expect(events.at(-1)).toEqual({ remote: asterisk.endpoint, latched: false });
    leg.sendPcm(PCM, 160, 8000);
    await waitFor(() => asterisk.received.length === 1);
    expect(sprayer.received).toEqual([]);
  });
});
