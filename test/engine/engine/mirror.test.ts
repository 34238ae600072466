import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, MediaEngine } from '../../../engine/src/index.js';
import { InvalidStateError } from '../../../common/src/errors.js';
import { writeRtpHeader } from '../../../engine/src/rtp/index.js';
import { ENGINE_IO } from './engine-io.js';
import { RtpPeer, exactFrameIndexes, paced, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';
import { freePortRange, type PortRange } from '../../support/ports.js';

// Both socket layouts run the same tests: a batched port per worker (native) and a dgram socket per leg.
describe.each(ENGINE_IO)('mirrored injection through the engine (io %s)', (io) => {
  let engine: MediaEngine;
  let ports: PortRange;

  beforeAll(async () => {
    ports = await freePortRange(400);
    engine = await MediaEngine.start({ workers: 2, portRange: ports, io, requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it("carries A's audio into leg B and B's into leg A, re-packetized, and nothing else", async () => {
    const opened = await engine.openPair({ pairId: 'pair_001', extA: '7000', extB: '7001' });
    expect(opened.legA.address).toBe('127.0.0.1');
    expect(opened.legA.port).toBeGreaterThanOrEqual(ports.min);
    expect(opened.legA.port).toBeLessThanOrEqual(ports.max);
    // native: the legs share their worker's port, told apart by Asterisk's source; dgram: a socket each.
    if (io === 'native') expect(opened.legB).toEqual(opened.legA);
    else expect(opened.legB.port).not.toBe(opened.legA.port);
    const asteriskA = await RtpPeer.open(0xaaaa0001);
    const asteriskB = await RtpPeer.open(0xbbbb0001);
    try {
      // Each resolves once the leg's socket is connected to its peer.
      await engine.setRemote('pair_001', 'A', asteriskA.endpoint);
      await engine.setRemote('pair_001', 'B', asteriskB.endpoint);
      const frames = 40;
      await paced(frames, async (i) => {
        await asteriskA.sendRtp(opened.legA, taggedUlawFrame(i));
        await asteriskB.sendRtp(opened.legB, taggedUlawFrame(1000 + i));
      });
      await waitFor(() => exactFrameIndexes(asteriskB.received).length >= frames - 1 && exactFrameIndexes(asteriskA.received).length >= frames - 1);
      await sleep(100);

      // What A said reached B in order, byte for byte (µ-law survives decode→encode), and B's reached A.
      const atB = exactFrameIndexes(asteriskB.received);
      const atA = exactFrameIndexes(asteriskA.received);
      expect(atB.every((n) => n >= 0 && n < frames)).toBe(true);
      expect(atA.every((n) => n >= 1000)).toBe(true);
      expect(atB.length).toBeGreaterThanOrEqual(frames - 1);
      expect(atA.length).toBeGreaterThanOrEqual(frames - 1);
      for (let i = 1; i < atB.length; i++) expect(atB[i]!).toBeGreaterThan(atB[i - 1]!);
      // From the start of the stream (a tick that concealed a frame on a busy box may cost one, never the order).
      expect(atB[0]).toBeLessThanOrEqual(1);

      // Re-packetized by the engine: its own SSRC, PT 0, consecutive seq, +160 timestamps, marker first.
      const out = asteriskB.received;
      expect(out[0]?.ssrc).not.toBe(asteriskA.ssrc);
      expect(new Set(out.map((p) => p.ssrc)).size).toBe(1);
      expect(out.every((p) => p.payloadType === 0)).toBe(true);
      expect(out[0]?.marker).toBe(true);
      expect(out.slice(1).some((p) => p.marker)).toBe(false);
      for (let i = 1; i < out.length; i++) {
        expect(out[i]?.sequenceNumber).toBe(((out[i - 1]?.sequenceNumber ?? 0) + 1) & 0xffff);
        expect(out[i]?.timestamp).toBe(((out[i - 1]?.timestamp ?? 0) + 160) >>> 0);
      }
      // Sent from where the leg receives (symmetric RTP).
      expect(out.every((p) => p.from.port === opened.legB.port)).toBe(true);
      expect(asteriskA.received.every((p) => p.from.port === opened.legA.port)).toBe(true);

      const stats = await engine.stats();
      const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_001');
      expect(pair?.legA.rxPackets).toBe(frames);
      // After the last real frame B keeps getting concealment, then silence, until A's stream counts as idle.
      expect(pair?.legB.txPackets).toBeGreaterThanOrEqual(frames);
      expect(pair?.legA.jitter.duplicate).toBe(0);
      const shard = stats.shards.find((s) => s.pairStats.some((p) => p.pairId === 'pair_001'));
      expect(shard?.io).toBe(io);
      if (io === 'native') {
        // One sendmmsg carries a slot's datagrams; here they are few, but never more calls than datagrams.
        expect(shard?.sharedPort).toMatchObject({ io: 'native', local: opened.legA, rxForeign: 0 });
        expect(shard?.sharedPort?.txBatches).toBeLessThanOrEqual(shard?.sharedPort?.txPackets ?? 0);
      } else {
        expect(shard?.sharedPort).toBeNull();
      }
    } finally {
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('pair_001');
    }
  });

  it('latches a leg, when allowed, onto the first source to pass probation and ignores every other sender', async () => {
    const opened = await engine.openPair({ pairId: 'pair_latch', extA: '7002', extB: '7003', latch: true });
    const asteriskA = await RtpPeer.open();
    const intruder = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    const latched = new Promise<{ remote: { address: string; port: number }; latched: boolean }>((resolve) => {
      const listener = (pairId: string, leg: 'A' | 'B', remote: { address: string; port: number }, byLatch: boolean): void => {
        if (pairId !== 'pair_latch' || leg !== 'A') return;
        engine.off('legconnected', listener);
        resolve({ remote, latched: byLatch });
      };
      engine.on('legconnected', listener);
    });
    try {
      await engine.setRemote('pair_latch', 'B', asteriskB.endpoint);
      // The intruder sprays valid packets (random sequence numbers) between A's: it never passes probation,
      // nor keeps A from passing it.
      await paced(30, async (i) => {
        await asteriskA.sendRtp(opened.legA, taggedUlawFrame(i + 1));
        const spray = Buffer.alloc(172);
        writeRtpHeader(spray, 0, false, 0, (i * 7919) & 0xffff, i * 160, 0x1badd00d);
        taggedUlawFrame(3000 + i).copy(spray, 12);
        await intruder.sendRaw(opened.legA, spray);
      });
      expect(await latched).toEqual({ remote: asteriskA.endpoint, latched: true });
      await waitFor(() => exactFrameIndexes(asteriskB.received).some((n) => n >= 25));
      const heard = exactFrameIndexes(asteriskB.received);
      expect(heard.length).toBeGreaterThan(20);
      expect(heard.every((n) => n < 3000)).toBe(true);
      const stats = await engine.stats();
      const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_latch');
      expect(pair?.legA).toMatchObject({ remote: asteriskA.endpoint, connected: true, latch: true, ssrc: asteriskA.ssrc });
      expect(pair?.legA.rxDropped.LATCH_PROBATION).toBeGreaterThanOrEqual(3);
      expect(intruder.received).toEqual([]);
    } finally {
      asteriskA.close();
      intruder.close();
      asteriskB.close();
      await engine.closePair('pair_latch');
    }
  });

  it('counts and drops malformed datagrams without disturbing the stream', async () => {
    const opened = await engine.openPair({ pairId: 'pair_bad', extA: '7004', extB: '7005' });
    const asteriskA = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    try {
      await engine.setRemote('pair_bad', 'A', asteriskA.endpoint);
      await engine.setRemote('pair_bad', 'B', asteriskB.endpoint);
      const rtcpReceiverReport = Buffer.from('81c90007aaaaaaaabbbbbbbb00000000000000000000000000000000000000000000', 'hex');
      await asteriskA.sendRaw(opened.legA, Buffer.from([0x80, 0x00])); // truncated
      await asteriskA.sendRaw(opened.legA, Buffer.alloc(172, 0x40)); // version 1
      await asteriskA.sendRaw(opened.legA, rtcpReceiverReport);
      await asteriskA.sendRtp(opened.legA, taggedUlawFrame(1), 18); // G.729 is not this leg's format
      await paced(10, (i) => asteriskA.sendRtp(opened.legA, taggedUlawFrame(i)));
      await waitFor(() => exactFrameIndexes(asteriskB.received).length >= 9);
      const stats = await engine.stats();
      const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_bad');
      expect(pair?.legA.rxDropped).toEqual({ TOO_SHORT: 1, BAD_VERSION: 1, RTCP: 1, PAYLOAD_TYPE: 1 });
      expect(pair?.legA.jitter.received).toBe(10);
    } finally {
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('pair_bad');
    }
  });

  it('reports clear errors for bad requests', async () => {
    await engine.openPair({ pairId: 'pair_dup', extA: '7006', extB: '7007' });
    await expect(engine.openPair({ pairId: 'pair_dup', extA: '7006', extB: '7007' })).rejects.toMatchObject({ code: 'PAIR_EXISTS' });
    await expect(engine.openPair({ pairId: 'bad id!', extA: '1', extB: '2' })).rejects.toMatchObject({ code: 'INVALID_PAIR' });
    await expect(engine.openPair({ pairId: 'p', extA: '', extB: '2' })).rejects.toBeInstanceOf(EngineError);
    await expect(engine.setRemote('pair_nope', 'A', { address: '127.0.0.1', port: 5000 })).rejects.toMatchObject({ code: 'UNKNOWN_PAIR' });
    await expect(engine.setRemote('pair_dup', 'A', { address: '127.0.0.1', port: 70000 })).rejects.toBeInstanceOf(TypeError);
    await expect(engine.setRemote('pair_dup', 'A', { address: 'asterisk.example', port: 4000 })).rejects.toThrow(/IP address/);
    await expect(engine.openPair({ pairId: 'p_latch', extA: '1', extB: '2', latch: 'yes' as unknown as boolean })).rejects.toThrow(/latch/);
    expect(await engine.closePair('pair_dup')).toMatchObject({ pairId: 'pair_dup', extA: '7006', extB: '7007' });
    expect(await engine.closePair('pair_dup')).toBeNull();
    expect(await engine.closePair('pair_never')).toBeNull();
  });
});

describe('engine lifecycle errors', () => {
  it('rejects use after close and closes idempotently', async () => {
    const engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(100) });
    await engine.close();
    await engine.close();
    expect(engine.closed).toBe(true);
    await expect(engine.openPair({ pairId: 'p1', extA: '1', extB: '2' })).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('rejects a bad configuration by key', async () => {
    await expect(MediaEngine.start({ portRange: { min: 5000, max: 4000 } })).rejects.toThrow(/portRange/);
    await expect(MediaEngine.start({ workers: 0 })).rejects.toThrow(/workers/);
  });

  it('reports an exhausted port range (dgram: a port per leg)', async () => {
    const engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(3), io: 'dgram' });
    try {
      await engine.openPair({ pairId: 'p1', extA: '1', extB: '2' });
      await expect(engine.openPair({ pairId: 'p2', extA: '3', extB: '4' })).rejects.toMatchObject({ code: 'PORT_RANGE_EXHAUSTED' });
      expect(engine.hasPair('p2')).toBe(false);
    } finally {
      await engine.close();
    }
  });
});

describe("native I/O: a worker's legs on one port", () => {
  it('serves many pairs from a range that holds one port per worker, and refuses a source two legs name', async () => {
    const engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(2), io: 'native', requestTimeoutMs: 30_000 });
    try {
      const first = await engine.openPair({ pairId: 'n1', extA: '1', extB: '2' });
      const second = await engine.openPair({ pairId: 'n2', extA: '3', extB: '4' });
      const third = await engine.openPair({ pairId: 'n3', extA: '5', extB: '6' });
      expect(new Set([first, second, third].flatMap((p) => [p.legA.port, p.legB.port]))).toEqual(new Set([first.legA.port]));
      await engine.setRemote('n1', 'A', { address: '127.0.0.1', port: 41000 });
      await expect(engine.setRemote('n2', 'B', { address: '127.0.0.1', port: 41000 })).rejects.toMatchObject({ code: 'REMOTE_IN_USE' });
      // The same leg told the same source again is a no-op; once n1 closes, its source is free.
      await engine.setRemote('n1', 'A', { address: '127.0.0.1', port: 41000 });
      await engine.closePair('n1');
      await engine.setRemote('n2', 'B', { address: '127.0.0.1', port: 41000 });
    } finally {
      await engine.close();
    }
  });

  it('refuses to start when native I/O is asked for on an IPv6 address (the addon is IPv4 only)', async () => {
    await expect(MediaEngine.start({ workers: 1, bindAddress: '::1', io: 'native' })).rejects.toThrow(/io: native \(batched\) socket I\/O is IPv4 only/);
  });
});
