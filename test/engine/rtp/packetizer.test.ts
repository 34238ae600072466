import { describe, expect, it } from 'vitest';
import { RtpPacketView, RtpPacketizer } from '../../../engine/src/rtp/index.js';

/** Writes one packet and parses it back, so the tests check the bytes, not the getters. */
function emit(p: RtpPacketizer, samples = 160): RtpPacketView {
  const out = new Uint8Array(12);
  expect(p.writeHeader(out, samples)).toBe(12);
  return RtpPacketView.parse(out);
}

/** A deterministic [0,1) source returning the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('RtpPacketizer', () => {
  it('draws random SSRC, initial sequence and timestamp that differ across instances (crypto source)', () => {
    const many = Array.from({ length: 8 }, () => new RtpPacketizer({ payloadType: 0 }));
    // 8 draws from 2^32 (2^16 for seq) colliding all-equal has probability ~0; "differ" means not all the same.
    expect(new Set(many.map((p) => p.ssrc)).size).toBeGreaterThan(1);
    expect(new Set(many.map((p) => p.nextSequence)).size).toBeGreaterThan(1);
    expect(new Set(many.map((p) => p.nextTimestamp)).size).toBeGreaterThan(1);
    for (const p of many) {
      expect(Number.isInteger(p.ssrc) && p.ssrc >= 0 && p.ssrc <= 0xffff_ffff).toBe(true);
      expect(Number.isInteger(p.nextSequence) && p.nextSequence >= 0 && p.nextSequence <= 0xffff).toBe(true);
      expect(Number.isInteger(p.nextTimestamp) && p.nextTimestamp >= 0 && p.nextTimestamp <= 0xffff_ffff).toBe(true);
    }
  });

  it('uses the injected random source, scaled to the full 32/16/32-bit ranges', () => {
    // Order of draws: SSRC, sequence, timestamp.
    const p = new RtpPacketizer({ payloadType: 8, random: sequence(0.5, 0.25, 0.999999999999) });
    expect(p.ssrc).toBe(0x8000_0000);
    expect(p.nextSequence).toBe(0x4000);
    expect(p.nextTimestamp).toBe(0xffff_ffff);
    expect(() => new RtpPacketizer({ payloadType: 0, random: () => 1 })).toThrow(RangeError);
    expect(() => new RtpPacketizer({ payloadType: 0, random: () => Number.NaN })).toThrow(RangeError);
  });

  it('keeps a fixed SSRC and given initial values', () => {
    const p = new RtpPacketizer({ payloadType: 0, ssrc: 0x0a0a0a0a, initialSequence: 9120, initialTimestamp: 0x17da4f66 });
    const first = emit(p);
    // The same header Tandem's predecessor injected in the real recording (s1, socket A tx_first3_hex[0]).
    expect(Buffer.from(first.buffer).toString('hex')).toBe('808023a017da4f660a0a0a0a');
    expect(emit(p)).toMatchObject({ ssrc: 0x0a0a0a0a, sequenceNumber: 9121, timestamp: 0x17da4f66 + 160, marker: false, payloadType: 0 });
    expect(p.packetsWritten).toBe(2);
  });

  it('sets the marker on the first packet and after startTalkspurt() or skip() only', () => {
    const p = new RtpPacketizer({ payloadType: 0, initialSequence: 10, initialTimestamp: 1000, ssrc: 1 });
    const markers: boolean[] = [];
    markers.push(emit(p).marker, emit(p).marker, emit(p).marker);
    p.startTalkspurt();
    markers.push(emit(p).marker, emit(p).marker);
    p.skip(1600);
    markers.push(emit(p).marker, emit(p).marker);
    expect(markers).toEqual([true, false, false, true, false, true, false]);
  });

  it('skip() advances the timestamp but not the sequence (no false loss at the receiver)', () => {
    const p = new RtpPacketizer({ payloadType: 0, initialSequence: 100, initialTimestamp: 0, ssrc: 1 });
    emit(p);
    p.skip(16160);
    const next = emit(p);
    expect(next.sequenceNumber).toBe(101);
    expect(next.timestamp).toBe(160 + 16160);
    expect(p.packetsWritten).toBe(2);
  });

  it('wraps sequence 65535 → 0 and timestamp 2^32−1 → 0', () => {
    const p = new RtpPacketizer({ payloadType: 118, initialSequence: 65534, initialTimestamp: 0xffff_ffff - 320, ssrc: 5 });
    const seen = [emit(p, 320), emit(p, 320), emit(p, 320)].map((v) => [v.sequenceNumber, v.timestamp]);
    expect(seen).toEqual([
      [65534, 0xffff_ffff - 320],
      [65535, 0xffff_ffff],
      [0, 319],
    ]);
    expect(p.nextSequence).toBe(1);
    expect(p.nextTimestamp).toBe(639);
    p.skip(0xffff_ffff);
    expect(p.nextTimestamp).toBe(638);
  });

  it('writes at an offset and rejects bad arguments with RangeError', () => {
    const p = new RtpPacketizer({ payloadType: 0, ssrc: 7, initialSequence: 1, initialTimestamp: 2 });
    const out = new Uint8Array(20);
    expect(p.writeHeader(out, 160, 4)).toBe(12);
    expect(RtpPacketView.parse(out.subarray(4, 16))).toMatchObject({ ssrc: 7, sequenceNumber: 1, timestamp: 2, marker: true });
    expect(() => p.writeHeader(new Uint8Array(11), 160)).toThrow(RangeError);
    expect(() => p.writeHeader(out, -1)).toThrow(RangeError);
    expect(() => p.writeHeader(out, 1.5)).toThrow(RangeError);
    expect(() => p.skip(-160)).toThrow(RangeError);
    expect(p.packetsWritten).toBe(1); // failed writes do not advance the stream
    expect(p.nextSequence).toBe(2);
    expect(() => new RtpPacketizer({ payloadType: 128 })).toThrow(RangeError);
    expect(() => new RtpPacketizer({ payloadType: 0, ssrc: 2 ** 32 })).toThrow(RangeError);
    expect(() => new RtpPacketizer({ payloadType: 0, initialSequence: 65536 })).toThrow(RangeError);
    expect(() => new RtpPacketizer({ payloadType: 0, initialTimestamp: -1 })).toThrow(RangeError);
  });
});
