import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SourceLearner, type SourceVerdict } from '../../../engine/src/session/source-learner.js';

const PEER = { address: '10.0.0.5', port: 14000 };
const OTHER = { address: '10.0.0.9', port: 15000 };

/** A learner with the defaults (4 packets, as Asterisk; 8 ms between them). */
function learner(trustFirst: boolean, packets = 4): SourceLearner {
  return new SourceLearner({ packets }, trustFirst);
}

function feed(l: SourceLearner, ssrc: number, firstSeq: number, count: number, startMs: number, stepMs: number, from = PEER): SourceVerdict[] {
  return Array.from({ length: count }, (_, i) => l.observe(ssrc, (firstSeq + i) & 0xffff, startMs + i * stepMs, from.address, from.port));
}

describe('SourceLearner (strict RTP per leg)', () => {
  it('takes 4 packets at least 8 ms apart by default, and rejects nonsense settings', () => {
    const l = learner(false);
    expect(l.packets).toBe(4);
    expect(l.minGapMs).toBe(8);
    expect(() => new SourceLearner({ packets: 0 })).toThrow(RangeError);
    expect(() => new SourceLearner({ packets: 1.5 })).toThrow(RangeError);
    expect(() => new SourceLearner({ packets: 4, minGapMs: -1 })).toThrow(RangeError);
  });

  it('accepts the first source at once when its address was given, and only that source after it', () => {
    const l = learner(true);
    expect(l.ssrc).toBeNull();
    expect(feed(l, 0xaaaa, 100, 3, 0, 20)).toEqual(['accept', 'accept', 'accept']);
    expect(l.ssrc).toBe(0xaaaa);
    expect(l.observe(0xbbbb, 5, 60, PEER.address, PEER.port)).toBe('probation');
    expect(l.switches).toBe(0);
  });

  it('holds a source it was not told about on probation for 4 consecutive packets (latching)', () => {
    const l = learner(false);
    expect(feed(l, 0xaaaa, 65534, 4, 0, 20)).toEqual(['probation', 'probation', 'probation', 'switch']);
    // ...across the sequence wrap 65535 -> 0 -> 1.
    expect(l.ssrc).toBe(0xaaaa);
    expect(l.switches).toBe(0);
    expect(l.observe(0xaaaa, 2, 80, PEER.address, PEER.port)).toBe('accept');
  });

  it('restarts the count at a break in the sequence', () => {
    const l = learner(false);
    expect(feed(l, 0xaaaa, 10, 3, 0, 20)).toEqual(['probation', 'probation', 'probation']);
    expect(l.observe(0xaaaa, 20, 60, PEER.address, PEER.port)).toBe('probation'); // gap: first of a new run
    expect(feed(l, 0xaaaa, 21, 3, 80, 20)).toEqual(['probation', 'probation', 'switch']);
  });

  it('switches to a new SSRC from the same peer once the old one has been silent for 100 ms (a masquerade)', () => {
    const l = learner(true);
    feed(l, 0xaaaa, 1000, 10, 0, 20); // the old stream's last packet at 180 ms
    // The 4th packet (260 ms) has counted out, but the old stream spoke 80 ms ago; the 5th (280 ms) takes over.
    expect(feed(l, 0xbbbb, 7, 6, 200, 20)).toEqual(['probation', 'probation', 'probation', 'probation', 'switch', 'accept']);
    expect(l.ssrc).toBe(0xbbbb);
    expect(l.switches).toBe(1);
    // The old SSRC is now the stranger.
    expect(l.observe(0xaaaa, 1010, 300, PEER.address, PEER.port)).toBe('probation');
  });

  it('never takes a consecutive run faster than a real stream (a flood)', () => {
    const l = learner(false);
    // Consecutive packets 5 ms apart (200 packets/s), and 1 ms apart: each one starts the count again.
    expect(feed(l, 0xaaaa, 0, 500, 0, 5).every((v) => v === 'probation')).toBe(true);
    expect(feed(l, 0xaaaa, 500, 500, 2500, 1).every((v) => v === 'probation')).toBe(true);
    // One gap stretched by a stall of the receiving thread is not enough: the packets behind it come bunched.
    expect([0, 30, 30.1, 30.2, 30.3, 60].map((t, i) => l.observe(0xaaaa, 1000 + i, 3000 + t, PEER.address, PEER.port))).toEqual(Array(6).fill('probation'));
    // A new run at 10 ms (the fastest real packetization) passes.
    expect(feed(l, 0xaaaa, 5000, 4, 2000, 10)).toEqual(['probation', 'probation', 'probation', 'switch']);
  });

  it('lets no paced spoofer take over through the holes jitter leaves in the real stream, only once it stops', () => {
    const l = learner(true);
    // The real stream with up to 40 ms between packets; a spoofer at exactly the gap (8 ms), consecutive.
    const real = [0, 20, 60, 80, 120, 140, 180];
    let spoofSeq = 0;
    for (let t = 1; t < 180; t += 8) {
      for (const r of real.filter((x) => x < t && x >= t - 8)) expect(l.observe(0xaaaa, 100 + real.indexOf(r), r, PEER.address, PEER.port)).toBe('accept');
      expect(l.observe(0xbad, spoofSeq++, t, PEER.address, PEER.port)).toBe('probation');
    }
    expect(l.observe(0xaaaa, 100 + real.length - 1, 180, PEER.address, PEER.port)).toBe('accept');
    // The real stream stops (hold, mute): 100 ms later the spoofer has it. Strict RTP cannot tell; SRTP could.
    const after = Array.from({ length: 20 }, (_, i) => l.observe(0xbad, spoofSeq++, 188 + i * 8, PEER.address, PEER.port));
    expect(after.indexOf('switch')).toBe(after.findIndex((_, i) => 188 + i * 8 >= 280));
  });

  it('tells sources apart by address as well as SSRC', () => {
    const l = learner(true);
    feed(l, 0xaaaa, 1, 3, 0, 20);
    expect(l.observe(0xaaaa, 4, 60, OTHER.address, OTHER.port)).toBe('probation');
    expect(l.observe(0xaaaa, 4, 60, PEER.address, OTHER.port)).toBe('probation');
    expect(l.observe(0xaaaa, 4, 60, PEER.address, PEER.port)).toBe('accept');
  });

  it('trusts the first source again after restart(true), and only after restart(false) holds it on probation', () => {
    const l = learner(true);
    feed(l, 0xaaaa, 1, 3, 0, 20);
    l.restart(true);
    expect(l.ssrc).toBeNull();
    expect(l.observe(0xcccc, 9, 100, OTHER.address, OTHER.port)).toBe('accept');
    l.restart(false);
    expect(l.observe(0xcccc, 10, 120, OTHER.address, OTHER.port)).toBe('probation');
  });

  it('latches onto the real stream although other addresses spray random packets in between', () => {
    const l = learner(false);
    const verdicts: SourceVerdict[] = [];
    for (let i = 0; i < 4; i++) {
      verdicts.push(l.observe(0xaaaa, 500 + i, i * 20, PEER.address, PEER.port));
      // 6 spraying addresses, 3 packets each per real packet, random sequence numbers: each is its own candidate.
      for (let k = 0; k < 18; k++) l.observe(0x5000 + (k % 6), (k * 7919 + i * 104729) & 0xffff, i * 20 + 1 + k * 0.5, `10.9.9.${k % 6}`, 20000 + (k % 6));
    }
    expect(verdicts).toEqual(['probation', 'probation', 'probation', 'switch']);
    expect(l.ssrc).toBe(0xaaaa);
  });

  it('keeps a candidate that is counting down when more new sources arrive than it can track', () => {
    const l = learner(false);
    expect(feed(l, 0xaaaa, 500, 2, 0, 20)).toEqual(['probation', 'probation']);
    for (let k = 0; k < 40; k++) expect(l.observe(0x5000 + k, k * 31, 21 + k * 0.25, `10.9.8.${k}`, 20000 + k)).toBe('probation');
    expect(feed(l, 0xaaaa, 502, 2, 40, 20)).toEqual(['probation', 'switch']);
  });

  it('property: while the real stream keeps its 20 ms pace, no spoofed packet is ever accepted', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            atMs: fc.double({ min: 0, max: 2000, noNaN: true }),
            ssrc: fc.integer({ min: 1, max: 3 }),
            // Consecutive sequence numbers are the strongest spoof: make them likely.
            seqStep: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 65535 })),
            fromPeer: fc.boolean(),
          }),
          { maxLength: 400 },
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (spoofs, packets, trustFirst) => {
          const l = new SourceLearner({ packets }, trustFirst);
          // A run that cannot fit between two packets of the stream: (packets - 1) gaps of minGapMs span more than 20 ms.
          fc.pre((packets - 1) * l.minGapMs > 20);
          const events: { atMs: number; real: boolean; ssrc: number; seq: number; address: string; port: number }[] = [];
          for (let i = 0; i <= 100; i++) events.push({ atMs: i * 20, real: true, ssrc: 0xaaaa, seq: (4000 + i) & 0xffff, address: PEER.address, port: PEER.port });
          const seqs = new Map<number, number>();
          for (const s of [...spoofs].sort((a, b) => a.atMs - b.atMs)) {
            const seq = ((seqs.get(s.ssrc) ?? 0) + s.seqStep) & 0xffff;
            seqs.set(s.ssrc, seq);
            const from = s.fromPeer ? PEER : OTHER;
            // Spoofs start once the real stream is current (latching, the first to pass wins: that is what latching is),
            // and never share its SSRC and address (that would be the stream).
            events.push({ atMs: Math.max((packets - 1) * 20 + 0.5, s.atMs), real: false, ssrc: 0xf000 + s.ssrc, seq, address: from.address, port: from.port });
          }
          events.sort((a, b) => a.atMs - b.atMs || Number(b.real) - Number(a.real));
          let realStarted = false;
          for (const e of events) {
            const v = l.observe(e.ssrc, e.seq, e.atMs, e.address, e.port);
            if (e.real) {
              // Latching, the stream itself passes probation first; after that every packet is accepted.
              if (realStarted || trustFirst) expect(v).toBe('accept');
              if (v !== 'probation') realStarted = true;
            } else if (realStarted) {
              expect(v).toBe('probation');
            }
          }
          expect(l.ssrc).toBe(0xaaaa);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a stream alone, at any pace of 10 ms or more, is accepted after exactly `packets` packets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 65535 }), fc.double({ min: 10, max: 200, noNaN: true }), (packets, firstSeq, stepMs) => {
        const l = new SourceLearner({ packets }, false);
        const verdicts = feed(l, 0x1234, firstSeq, packets + 2, 0, stepMs);
        expect(verdicts).toEqual([...Array<SourceVerdict>(packets - 1).fill('probation'), 'switch', 'accept', 'accept']);
      }),
      { numRuns: 300 },
    );
  });
});
