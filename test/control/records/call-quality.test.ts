import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/index.js';
import { legRecord } from '../../../control/src/records/index.js';
import { RtpPeer, exactFrameIndexes, paced, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

/**
 * Loss on the way from Asterisk to Tandem shows in the record: the leg's loss
 * and a lower MOS than the clean leg of the same call. The test's RTP peers
 * play Asterisk; the one on leg A loses packets.
 */
describe('impaired media lowers the estimated MOS', () => {
  let engine: MediaEngine;

  beforeAll(async () => {
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it('10 % random loss on leg A: its loss is counted and its MOS drops below 3.45 and below the clean leg B', async () => {
    const opened = await engine.openPair({ pairId: 'pair_q', extA: '7000', extB: '7001' });
    const asteriskA = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    try {
      await engine.setRemote('pair_q', 'A', asteriskA.endpoint);
      await engine.setRemote('pair_q', 'B', asteriskB.endpoint);
      await sleep(50);
      const frames = 150;
      // Every 10th packet, spread so no two losses touch (random loss, BurstR 1); never the last.
      const lost = (i: number): boolean => i % 10 === 3;
      await paced(frames, async (i) => {
        if (lost(i)) asteriskA.skip();
        else await asteriskA.sendRtp(opened.legA, taggedUlawFrame(i));
        await asteriskB.sendRtp(opened.legB, taggedUlawFrame(1000 + i));
      });
      await waitFor(() => exactFrameIndexes(asteriskB.received).includes(frames - 1) && exactFrameIndexes(asteriskA.received).includes(1000 + frames - 1), 10_000);
      const final = await engine.closePair('pair_q');
      const a = legRecord('7000', final!.legA, 'ulaw');
      const b = legRecord('7001', final!.legB, 'ulaw');

      expect(a.rxPackets).toBe(frames - 15);
      expect(a.lost).toBeGreaterThanOrEqual(15);
      expect(a.lossPct).toBeGreaterThanOrEqual(10 - 0.5);
      // G.711 with PLC at ≥ 10 % random loss: Ie,eff ≥ 95·10/(10 + 25.1) ≈ 27 → R ≤ 66, MOS ≤ 3.4.
      expect(a.mos).toBeLessThan(3.45);
      // The clean leg loses only what a busy machine makes late (on either leg alike), and rates by that.
      expect(b.lossPct).toBeLessThan(a.lossPct);
      expect(a.mos!).toBeLessThan(b.mos!);
      expect(a.r!).toBeLessThan(b.r!);
    } finally {
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('pair_q');
    }
  });
});
