import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine, TAP_SAMPLE_RATE, type PairTapHandle } from '../../../engine/src/index.js';
import { encodeUlaw } from '../../../engine/src/codec/index.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';

/** One 20 ms µ-law frame of a 440 Hz tone at about −12 dBFS (continuing phase), or digital silence. */
function toneFrame(index: number, amplitude: number): Buffer {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * (index * 160 + i)) / 8000));
  const out = Buffer.alloc(160);
  encodeUlaw(pcm, 160, out, 0);
  return out;
}

function rmsDbfs(samples: number[]): number {
  if (samples.length === 0) return -Infinity;
  const ms = samples.reduce((s, x) => s + x * x, 0) / samples.length;
  return ms > 0 ? 10 * Math.log10(ms / 32768 ** 2) : -Infinity;
}

describe('listener taps and leg levels', () => {
  let engine: MediaEngine;

  beforeAll(async () => {
    engine = await MediaEngine.start({ workers: 1, portRange: { min: 22400, max: 22499 }, io: 'dgram', requestTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    await engine.close();
  });

  it("copies leg A's audio, leg B's and both mixed into bounded rings, measures each leg's level, and ends the taps with the pair", async () => {
    const opened = await engine.openPair({ pairId: 'tap_1', extA: '7100', extB: '7101' });
    const asteriskA = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    const taps: PairTapHandle[] = [];
    try {
      await engine.setRemote('tap_1', 'A', asteriskA.endpoint);
      await engine.setRemote('tap_1', 'B', asteriskB.endpoint);
      const tapA = await engine.tapPair('tap_1', 'A');
      const tapB = await engine.tapPair('tap_1', 'B');
      const tapMix = await engine.tapPair('tap_1', 'mix');
      taps.push(tapA, tapB, tapMix);
      const heard = { A: [] as number[], B: [] as number[], mix: [] as number[] };
      const drain = (): void => {
        tapA.reader.drain((pcm) => heard.A.push(...pcm));
        tapB.reader.drain((pcm) => heard.B.push(...pcm));
        tapMix.reader.drain((pcm) => heard.mix.push(...pcm));
      };
      await paced(60, async (i) => {
        await asteriskA.sendRtp(opened.legA, toneFrame(i, 8000));
        await asteriskB.sendRtp(opened.legB, toneFrame(i, 0));
        drain();
      });
      drain();
      expect(tapA.reader.frameSamples).toBe(TAP_SAMPLE_RATE / 50);
      // A spoke a −12 dBFS tone (≈ −15 dBFS RMS); B sent digital silence (µ-law's zero decodes to ±0..8).
      expect(heard.A.length).toBeGreaterThanOrEqual(40 * 320);
      expect(rmsDbfs(heard.A.slice(-20 * 320))).toBeGreaterThan(-20);
      expect(rmsDbfs(heard.B.slice(-20 * 320))).toBeLessThan(-60);
      expect(rmsDbfs(heard.mix.slice(-20 * 320))).toBeGreaterThan(-20);
      expect(tapA.reader.dropped).toBe(0);

      const pair = (await engine.stats()).shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'tap_1');
      expect(pair?.legA.level?.rmsDbfs).toBeGreaterThan(-20);
      expect(pair?.legA.level?.rmsDbfs).toBeLessThan(-10);
      expect(pair?.legB.level?.rmsDbfs).toBeLessThan(-60);
      expect(pair?.legA.level?.clippedSamples).toBe(0);
      expect(pair?.legA.level?.frames).toBeGreaterThanOrEqual(40);

      // A reader that stops draining costs the worker nothing but dropped frames: the ring holds 1 s.
      await waitFor(() => tapB.reader.dropped > 0, 30_000);
      expect(tapA.reader.closed).toBe(false);
      await tapA.close();
      expect(tapA.reader.closed).toBe(true);
      await engine.closePair('tap_1');
      expect(tapB.reader.closed).toBe(true);
      expect(tapMix.reader.closed).toBe(true);
    } finally {
      for (const tap of taps) await tap.close();
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('tap_1');
    }
  });

  it('refuses an unknown source and an unknown pair', async () => {
    await expect(engine.tapPair('no_such_pair', 'A')).rejects.toMatchObject({ code: 'UNKNOWN_PAIR' });
    await engine.openPair({ pairId: 'tap_2', extA: '7102', extB: '7103' });
    try {
      await expect(engine.tapPair('tap_2', 'C' as 'A')).rejects.toThrow(/tap source/);
    } finally {
      await engine.closePair('tap_2');
    }
  });
});
