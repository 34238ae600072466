import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine, type LegStats } from '../../../engine/src/index.js';
import { writeRtpHeader } from '../../../engine/src/rtp/index.js';
import { ENGINE_IO } from './engine-io.js';
import { RtpPeer, exactFrameIndexes, paced, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

/** A valid RTP header with someone else's SSRC and sequence, µ-law payload tagged `index`. */
function spoofed(seq: number, ssrc: number, index: number): Buffer {
  const payload = taggedUlawFrame(index);
  const packet = Buffer.alloc(12 + payload.length);
  writeRtpHeader(packet, 0, false, 0, seq & 0xffff, (seq * 160) >>> 0, ssrc);
  payload.copy(packet, 12);
  return packet;
}

async function legStats(engine: MediaEngine, pairId: string): Promise<{ legA: LegStats; legB: LegStats }> {
  const stats = await engine.stats();
  const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === pairId);
  if (!pair) throw new Error(`no stats for ${pairId}`);
  return pair;
}

/** Polls `read` until `done` holds (a deadline only ends a stuck test); returns the last value read. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(20);
  }
}

/** Datagrams the shard's shared port dropped for a source no leg was told about (0 without one). */
async function foreignOnSharedPort(engine: MediaEngine): Promise<number> {
  const stats = await engine.stats();
  return stats.shards.reduce((n, s) => n + (s.sharedPort?.rxForeign ?? 0), 0);
}

describe.each(ENGINE_IO)("a leg's source: strict RTP, no latching unless asked (io %s)", (io) => {
  let engine: MediaEngine;

  beforeAll(async () => {
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(100), io, requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it("keeps the call audible while a spoofer on Asterisk's own address sends 200 valid packets/s with another SSRC", async () => {
    // The trace: 200 packets/s with valid headers from Asterisk's own address silenced the call for 10 s.
    const asteriskA = await RtpPeer.open(0xaaaa0001);
    const asteriskB = await RtpPeer.open(0xbbbb0001);
    const opened = await engine.openPair({ pairId: 'pair_spoof', extA: '7000', extB: '7001', remoteA: asteriskA.endpoint, remoteB: asteriskB.endpoint });
    try {
      const frames = 100; // 2 s of the caller's speech
      let spoofs = 0;
      await paced(frames, async (i) => {
        await asteriskA.sendRtp(opened.legA, taggedUlawFrame(i));
        // From asteriskA's own socket: on loopback that is the exact 5-tuple a spoofer on the path would forge.
        // Four per 20 ms with consecutive sequence numbers, right behind each real packet (sent together, so a
        // stall of this busy test process cannot space them out into something that looks like a real stream).
        const burst: Promise<void>[] = [];
        for (let k = 0; k < 4; k++) burst.push(asteriskA.sendRaw(opened.legA, spoofed(40000 + spoofs + k, 0x5bad0bad, 3000 + ((spoofs + k) % 64))));
        spoofs += 4;
        await Promise.all(burst);
      });
      const heard = (): Set<number> => new Set(exactFrameIndexes(asteriskB.received).filter((n) => n < frames));
      // Every real frame reached leg A's jitter buffer, none was thrown away for a spoofed stream.
      const { legA } = await until(
        () => legStats(engine, 'pair_spoof'),
        (s) => s.legA.jitter.played + s.legA.jitter.late + s.legA.jitter.accelerated + s.legA.jitter.overflow + s.legA.jitter.lost >= frames,
      );
      expect(legA.ssrc).toBe(0xaaaa0001);
      expect(legA.rxDropped).toEqual({ SSRC_PROBATION: spoofs });
      expect(legA.sourceSwitches).toBe(0);
      expect(legA.jitter).toMatchObject({ received: frames, resyncs: 0, flushed: 0, duplicate: 0 });
      // Leg B's party heard the caller throughout: every frame, but for any the jitter buffer itself let go on
      // this busy machine (late, or shed to bring its depth back), and nothing the spoofer sent.
      const letGo = legA.jitter.late + legA.jitter.accelerated + legA.jitter.overflow + legA.jitter.lost;
      await waitFor(() => heard().size >= frames - letGo);
      expect(frames - heard().size).toBeLessThanOrEqual(letGo);
      expect(exactFrameIndexes(asteriskB.received).some((n) => n >= 3000)).toBe(false);
    } finally {
      await engine.closePair('pair_spoof');
      asteriskA.close();
      asteriskB.close();
    }
  });

  it('answers nobody on a leg whose peer is not known yet, however many packets arrive', async () => {
    const opened = await engine.openPair({ pairId: 'pair_spray', extA: '7002', extB: '7003' });
    const asteriskB = await RtpPeer.open();
    const attacker = await RtpPeer.open();
    try {
      await engine.setRemote('pair_spray', 'B', asteriskB.endpoint);
      const foreignBefore = await foreignOnSharedPort(engine);
      // B's party speaks (audio for leg A to send) while an attacker sprays leg A's port.
      const frames = 50;
      await paced(frames, async (i) => {
        await asteriskB.sendRtp(opened.legB, taggedUlawFrame(i));
        await attacker.sendRtp(opened.legA, taggedUlawFrame(2000 + i));
      });
      // Once B's speech has been played out towards leg A, a latched leg would have sent it to the attacker.
      const { legA, legB } = await until(() => legStats(engine, 'pair_spray'), (s) => s.legB.jitter.played >= frames - 1);
      expect(legB.jitter.played).toBeGreaterThanOrEqual(frames - 1);
      expect(legA).toMatchObject({ remote: null, connected: false, latch: false, ssrc: null, txPackets: 0 });
      expect(legA.txSkippedNotConnected).toBeGreaterThanOrEqual(frames - 1);
      if (io === 'native') {
        // A shared port routes only sources a leg was told about: the spray never reaches leg A, and is counted on the port.
        expect(legA.rxDropped).toEqual({});
        expect(legA.rxPackets).toBe(0);
        expect((await foreignOnSharedPort(engine)) - foreignBefore).toBeGreaterThanOrEqual(frames);
      } else {
        expect(legA.rxDropped).toEqual({ NO_REMOTE: frames });
      }
      expect(attacker.received).toEqual([]);
    } finally {
      await engine.closePair('pair_spray');
      asteriskB.close();
      attacker.close();
    }
  });
});
