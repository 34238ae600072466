import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/index.js';
import { RtpPeer, exactFrameIndexes, paced, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

/**
 * closePair returns each leg's counters as they stood when its sockets closed:
 * a call record must count every packet, not what the last periodic stats saw.
 */
describe('final stats from closePair', () => {
  let engine: MediaEngine;

  beforeAll(async () => {
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it('counts every packet up to the close, per leg: packets, bytes, loss, jitter and depth summaries', async () => {
    const opened = await engine.openPair({ pairId: 'pair_final', extA: '7000', extB: '7001' });
    const asteriskA = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    try {
      await engine.setRemote('pair_final', 'A', asteriskA.endpoint);
      await engine.setRemote('pair_final', 'B', asteriskB.endpoint);
      await sleep(50); // connect() completes asynchronously in the worker
      const frames = 100;
      // A's side loses every 10th packet on the way (never the last one); B's loses none.
      const lostOnA = (i: number): boolean => i % 10 === 5;
      let sentA = 0;
      await paced(frames, async (i) => {
        if (lostOnA(i)) {
          asteriskA.skip();
        } else {
          await asteriskA.sendRtp(opened.legA, taggedUlawFrame(i));
          sentA++;
        }
        await asteriskB.sendRtp(opened.legB, taggedUlawFrame(1000 + i));
      });
      // A's last frame came out of leg B: leg A has read every datagram sent to it (loopback keeps order).
      await waitFor(() => exactFrameIndexes(asteriskB.received).includes(frames - 1) && exactFrameIndexes(asteriskA.received).includes(1000 + frames - 1), 10_000);

      const final = await engine.closePair('pair_final');
      expect(final).not.toBeNull();
      const { legA, legB } = final!;
      expect(legA.rxPackets).toBe(sentA);
      expect(legA.rxBytes).toBe(sentA * (12 + 160));
      expect(legB.rxPackets).toBe(frames);
      expect(legB.rxBytes).toBe(frames * (12 + 160));
      // What each leg sent is what its peer received (the socket closed after the counters were taken).
      await waitFor(() => asteriskA.received.length >= legA.txPackets && asteriskB.received.length >= legB.txPackets);
      expect(legA.txPackets).toBe(asteriskA.received.length);
      expect(legB.txPackets).toBe(asteriskB.received.length);
      expect(legA.txBytes).toBe(asteriskA.received.reduce((n, p) => n + 12 + p.payload.length, 0));

      // The play head passed every frame A's network lost; a packet late on a busy box is lost (and late) too.
      expect(legA.jitter.lost).toBeGreaterThanOrEqual(frames - sentA);
      expect(legA.jitter.lost - legA.jitter.late).toBeLessThanOrEqual(frames - sentA);
      expect(legA.jitter.concealed).toBeGreaterThanOrEqual(frames - sentA);
      expect(legB.jitter.lost).toBe(legB.jitter.late);
      for (const leg of [legA, legB]) {
        expect(leg.jitter.jitterMaxMs).toBeGreaterThanOrEqual(leg.jitter.jitterMeanMs);
        expect(leg.jitter.jitterMeanMs).toBeGreaterThanOrEqual(0);
        expect(leg.jitter.depthMaxMs).toBeGreaterThanOrEqual(20);
        expect(leg.jitter.depthMeanMs).toBeGreaterThan(0);
        expect(leg.jitter.depthMeanMs).toBeLessThanOrEqual(leg.jitter.depthMaxMs);
        expect(leg.rxDropped).toEqual({});
      }
      expect(await engine.closePair('pair_final')).toBeNull();
    } finally {
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('pair_final');
    }
  });

  it('counts datagrams dropped before the jitter buffer by reason', async () => {
    const opened = await engine.openPair({ pairId: 'pair_drops', extA: '7002', extB: '7003' });
    const asteriskA = await RtpPeer.open();
    try {
      // The control plane has told the leg where Asterisk is, as `tandem start` does.
      await engine.setRemote('pair_drops', 'A', asteriskA.endpoint);
      await asteriskA.sendRaw(opened.legA, Buffer.from([0x00, 0x01, 0x02])); // not RTP
      await asteriskA.sendRtp(opened.legA, taggedUlawFrame(0), 8); // A-law on a µ-law leg
      await asteriskA.sendRtp(opened.legA, taggedUlawFrame(1));
      let read = 0;
      const poll = setInterval(() => {
        void engine.stats().then((s) => {
          read = s.shards.flatMap((x) => x.pairStats).find((p) => p.pairId === 'pair_drops')?.legA.rxPackets ?? 0;
        }, () => undefined);
      }, 20);
      try {
        await waitFor(() => read === 3, 10_000);
      } finally {
        clearInterval(poll);
      }
      const final = await engine.closePair('pair_drops');
      expect(final!.legA.rxPackets).toBe(3);
      const dropped = final!.legA.rxDropped;
      expect(Object.values(dropped).reduce((a, b) => a + b, 0)).toBe(2);
      expect(dropped['PAYLOAD_TYPE']).toBe(1);
      expect(final!.legA.jitter.received).toBe(1);
    } finally {
      asteriskA.close();
      await engine.closePair('pair_drops');
    }
  });
});
