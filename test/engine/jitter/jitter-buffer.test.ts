import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterBufferOptions, type PopResult } from '../../../engine/src/jitter/index.js';
import { seqAdd, tsAdd } from '../../../engine/src/rtp/wrap.js';
import { FRAME_SAMPLES, FRAME_UNITS, TONE_LEVEL, newOut, packet, seqOf, taggedDecoder } from './helpers.js';

const BASE: JitterBufferOptions = { clockRate: 8000, frameSamples: 160 };

function make(options: Partial<JitterBufferOptions> = {}): JitterBuffer {
  return new JitterBuffer(taggedDecoder, { ...BASE, ...options });
}

/** Pops once and returns the result plus, for audio, the sequence number that came out. */
function popSeq(jb: JitterBuffer, nowMs: number, out = newOut()): { result: PopResult; seq: number | null } {
  const result = jb.pop(nowMs, out);
  return { result, seq: result === 'audio' ? seqOf(out) : null };
}

/** A steady stream: packet i sent at i*20 ms arrives at i*20 + delay(i); one pop per tick at i*20 + phase. */
function runSteady(
  jb: JitterBuffer,
  count: number,
  delay: (i: number) => number,
  options: { seq0?: number; ts0?: number; startMs?: number; phaseMs?: number; tailMs?: number } = {},
): PopResult[] {
  const seq0 = options.seq0 ?? 1000;
  const ts0 = options.ts0 ?? 50_000;
  const start = options.startMs ?? 0;
  const phase = options.phaseMs ?? 10;
  const arrivals = Array.from({ length: count }, (_, i) => ({ i, at: start + i * 20 + delay(i) })).sort((a, b) => a.at - b.at);
  const results: PopResult[] = [];
  const out = newOut();
  let next = 0;
  // Ticks run on past the last arrival; a long tail ends in an underrun (which, by design, grows the target).
  const lastTick = Math.max(...arrivals.map((a) => a.at)) + (options.tailMs ?? 200);
  for (let tick = start + phase; tick <= lastTick; tick += 20) {
    while (next < arrivals.length && (arrivals[next]?.at ?? Infinity) <= tick) {
      const a = arrivals[next++];
      if (a) jb.push(packet(seqAdd(seq0, a.i), tsAdd(ts0, a.i * FRAME_UNITS)), a.at);
    }
    results.push(jb.pop(tick, out));
  }
  return results;
}

describe('JitterBuffer playout', () => {
  it('starts with one frame at the default 20 ms target and plays in sequence order', () => {
    const jb = make();
    expect(jb.pop(0, newOut())).toBe('waiting');
    expect(jb.push(packet(100, 16_000), 1)).toBe('accepted');
    const out = newOut();
    expect(jb.pop(5, out)).toBe('audio');
    expect(seqOf(out)).toBe(100);
    expect(out[2]).toBe(TONE_LEVEL);
    expect(jb.lastPlayedTimestamp).toBe(16_000);
    expect(jb.talkspurtStart).toBe(true);
    jb.push(packet(101, 16_160), 21);
    expect(popSeq(jb, 25)).toEqual({ result: 'audio', seq: 101 });
    expect(jb.talkspurtStart).toBe(false);
    expect(jb.lastPlayedTimestamp).toBe(16_160);
    expect(jb.stats.played).toBe(2);
    expect(jb.stats.received).toBe(2);
  });

  it('prefills to minDepthMs, counting the frame about to be played', () => {
    const jb = make({ minDepthMs: 60 });
    jb.push(packet(1, 160), 0);
    expect(jb.pop(5, newOut())).toBe('waiting');
    jb.push(packet(2, 320), 20);
    expect(jb.pop(25, newOut())).toBe('waiting');
    jb.push(packet(3, 480), 40);
    expect(jb.stats.depthMs).toBe(60);
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 1 });
    expect(jb.stats.depthMs).toBe(40);
  });

  it('starts anyway once the first frame has waited the target (a sparse stream is not held forever)', () => {
    const jb = make({ minDepthMs: 60 });
    jb.push(packet(1, 160), 0);
    expect(jb.pop(20, newOut())).toBe('waiting');
    expect(jb.pop(40, newOut())).toBe('waiting');
    expect(popSeq(jb, 60)).toEqual({ result: 'audio', seq: 1 });
  });

  it('marks a talkspurt on the marker bit', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    jb.push(packet(2, 320), 20);
    jb.pop(25, newOut());
    expect(jb.talkspurtStart).toBe(false);
    jb.push(packet(3, 480, { marker: true }), 40);
    expect(popSeq(jb, 45).seq).toBe(3);
    expect(jb.talkspurtStart).toBe(true);
  });

  it('reorders across the 65535 -> 0 sequence wrap and the 2^32 timestamp wrap', () => {
    const jb = make({ minDepthMs: 100 });
    const seqs = [65_533, 65_532, 65_535, 65_534, 1, 0];
    const ts = (seq: number): number => tsAdd(2 ** 32 - 3 * FRAME_UNITS, ((seq - 65_532 + 65_536) % 65_536) * FRAME_UNITS);
    seqs.forEach((seq, i) => jb.push(packet(seq, ts(seq)), i));
    const played: number[] = [];
    const stamps: number[] = [];
    for (let t = 10; t < 200; t += 20) {
      const { result, seq } = popSeq(jb, t);
      if (result === 'audio' && seq !== null) {
        played.push(seq);
        stamps.push(jb.lastPlayedTimestamp);
      }
    }
    expect(played).toEqual([65_532, 65_533, 65_534, 65_535, 0, 1]);
    expect(stamps).toEqual([2 ** 32 - 480, 2 ** 32 - 320, 2 ** 32 - 160, 0, 160, 320]);
    expect(jb.stats.reordered).toBe(3);
    expect(jb.stats.lost).toBe(0);
  });

  it('rejects an output buffer shorter than a frame', () => {
    const jb = make();
    expect(() => jb.pop(0, new Int16Array(FRAME_SAMPLES - 1))).toThrow(RangeError);
  });
});

describe('JitterBuffer counters', () => {
  it('received counts every push, whatever its outcome', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    jb.push(packet(1, 160), 1); // duplicate
    jb.pop(5, newOut());
    jb.push(packet(1, 160), 6); // late
    jb.push(packet(2, 320), 20);
    expect(jb.stats.received).toBe(4);
  });

  it('duplicate: the same sequence twice while buffered', () => {
    const jb = make({ minDepthMs: 40 });
    expect(jb.push(packet(7, 160), 0)).toBe('accepted');
    expect(jb.push(packet(7, 160), 1)).toBe('duplicate');
    expect(jb.stats.duplicate).toBe(1);
    expect(jb.bufferedFrames).toBe(1);
  });

  it('late: at or behind the play head once playing', () => {
    const jb = make();
    jb.push(packet(10, 1600), 0);
    jb.pop(5, newOut());
    expect(jb.push(packet(10, 1600), 6)).toBe('late');
    expect(jb.push(packet(9, 1440), 7)).toBe('late');
    expect(jb.stats.late).toBe(2);
    expect(jb.stats.duplicate).toBe(0);
  });

  it('reordered: stored after a newer one arrived; before playout the start moves back to the earlier frame', () => {
    const jb = make({ minDepthMs: 80 });
    jb.push(packet(11, 1760), 0);
    jb.push(packet(13, 2080), 1);
    expect(jb.push(packet(12, 1920), 2)).toBe('accepted');
    expect(jb.push(packet(10, 1600), 3)).toBe('accepted');
    expect(jb.stats.reordered).toBe(2);
    const played: Array<number | null> = [];
    for (let t = 10; t < 100; t += 20) played.push(popSeq(jb, t).seq);
    expect(played).toEqual([10, 11, 12, 13, null]);
  });

  it('lost and concealed: a missing frame with later ones present is concealed once and counted lost once', () => {
    const jb = make({ minDepthMs: 40 });
    jb.push(packet(1, 160), 0);
    jb.push(packet(3, 480), 1);
    expect(popSeq(jb, 5)).toEqual({ result: 'audio', seq: 1 });
    expect(popSeq(jb, 25)).toEqual({ result: 'concealed', seq: null });
    expect(jb.lastPlayedTimestamp).toBe(320);
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 3 });
    expect(jb.stats.lost).toBe(1);
    expect(jb.stats.concealed).toBe(1);
    // The lost frame turning up now is late, not played.
    expect(jb.push(packet(2, 320), 46)).toBe('late');
    expect(jb.stats.lost).toBe(1);
  });

  it('overflow: beyond maxDepthMs the oldest frames are dropped and depth stays bounded', () => {
    const jb = make({ maxDepthMs: 100 });
    const outcomes = Array.from({ length: 8 }, (_, i) => jb.push(packet(i, i * 160), 0));
    expect(outcomes).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'overflow', 'overflow', 'overflow']);
    expect(jb.stats.overflow).toBe(3);
    expect(jb.stats.depthMs).toBe(100);
    expect(jb.bufferedFrames).toBe(5);
    expect(popSeq(jb, 5).seq).toBe(3);
  });

  it('overflow skips a gap to the oldest frame kept instead of concealing frames that cannot come in time', () => {
    const jb = make({ maxDepthMs: 100 });
    jb.push(packet(0, 0), 0);
    expect(jb.push(packet(9, 9 * 160), 1)).toBe('overflow');
    expect(jb.stats.overflow).toBe(1);
    expect(jb.stats.lost).toBe(8);
    expect(jb.stats.depthMs).toBe(20);
    // (The 179 ms transit step raised the target, so the lone frame starts once it has waited that long.)
    expect(popSeq(jb, 100).seq).toBe(9);
  });

  it('played and accounting: every push ends up played, late, duplicate, dropped or buffered', () => {
    const jb = make({ minDepthMs: 40, maxDepthMs: 100 });
    const results = runSteady(jb, 200, (i) => (i % 7 === 0 ? 70 : i % 3) + (i % 11 === 0 ? 150 : 0));
    const s = jb.stats;
    expect(s.received).toBe(200);
    expect(s.played).toBe(results.filter((r) => r === 'audio').length);
    expect(s.played + s.late + s.duplicate + s.overflow + s.accelerated + s.flushed + s.decodeErrors + jb.bufferedFrames).toBe(200);
    expect(s.late).toBeGreaterThan(0);
  });

  it('resyncs: counted once per new stream', () => {
    const jb = make();
    jb.push(packet(1, 160, { ssrc: 1 }), 0);
    expect(jb.push(packet(500, 9_000, { ssrc: 2 }), 20)).toBe('resync');
    expect(jb.push(packet(501, 9_160, { ssrc: 2 }), 40)).toBe('accepted');
    expect(jb.stats.resyncs).toBe(1);
  });

  it('decode errors are concealed and counted, never thrown', () => {
    const jb = make({ minDepthMs: 60 });
    jb.push(packet(1, 160), 0);
    const bad = { ...packet(2, 320), payloadLength: 3 }; // the tagged decoder throws on anything but 4 bytes
    jb.push(bad, 1);
    jb.push(packet(3, 480), 2);
    expect(popSeq(jb, 5).seq).toBe(1);
    expect(popSeq(jb, 25).result).toBe('concealed');
    expect(popSeq(jb, 45).seq).toBe(3);
    expect(jb.stats.decodeErrors).toBe(1);
    expect(jb.stats.lost).toBe(0);
  });

  it('a decoder returning fewer samples leaves zeros, not stale samples, in the rest of the frame', () => {
    const out = newOut().fill(123);
    const jb = new JitterBuffer((_src, _off, _len, dst) => {
      dst.fill(5, 0, 10);
      return 10;
    }, BASE);
    jb.push(packet(1, 160), 0);
    expect(jb.pop(5, out)).toBe('audio');
    expect(out.slice(0, 10).every((v) => v === 5)).toBe(true);
    expect(out.slice(10).every((v) => v === 0)).toBe(true);
  });
});

describe('JitterBuffer concealment and idle', () => {
  it('repeats the last frame with decreasing gain for concealFrames frames, then exact silence', () => {
    const jb = make({ concealFrames: 3 });
    jb.push(packet(1, 160, { level: 9000 }), 0);
    expect(jb.pop(5, newOut())).toBe('audio');
    const frames: Int16Array[] = [];
    const results: PopResult[] = [];
    for (let t = 25; t <= 105; t += 20) {
      const out = newOut().fill(777);
      results.push(jb.pop(t, out));
      frames.push(out);
    }
    expect(results).toEqual(['concealed', 'concealed', 'concealed', 'silence', 'silence']);
    expect(jb.stats.concealed).toBe(3);
    // The body of the frame (past the two tag samples) was 9000: concealment fades it.
    const mean = (f: Int16Array): number => f.slice(2).reduce((a, b) => a + Math.abs(b), 0) / (f.length - 2);
    const [c1, c2, c3, s1, s2] = frames as [Int16Array, Int16Array, Int16Array, Int16Array, Int16Array];
    expect(mean(c1)).toBeGreaterThan(mean(c2));
    expect(mean(c2)).toBeGreaterThan(mean(c3));
    expect(mean(c3)).toBeGreaterThan(0);
    expect(c1[2]).toBeLessThanOrEqual(9000);
    expect(c1[2]).toBeGreaterThan(8900); // starts at (nearly) full gain: no step at the start of the gap
    for (const f of [c1, c2, c3]) {
      for (let i = 3; i < f.length; i++) expect(f[i]).toBeLessThanOrEqual(f[i - 1] as number); // gain only falls
    }
    expect(c3[FRAME_SAMPLES - 1]).toBeLessThan(100); // ends near zero: no step into the silence
    expect(s1.every((v) => v === 0)).toBe(true);
    expect(s2.every((v) => v === 0)).toBe(true);
    // An underrun waits for the frame (it may only be delayed): nothing is counted lost.
    expect(jb.stats.lost).toBe(0);
  });

  it('concealFrames 0 goes straight to silence', () => {
    const jb = make({ concealFrames: 0 });
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    const out = newOut().fill(1);
    expect(jb.pop(25, out)).toBe('silence');
    expect(out.every((v) => v === 0)).toBe(true);
    expect(jb.stats.concealed).toBe(0);
  });

  it('goes idle after idleAfterMs without packets, then restarts with a fresh prefill and a talkspurt', () => {
    const jb = make({ idleAfterMs: 500 });
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    jb.push(packet(2, 320), 20);
    jb.pop(25, newOut());
    expect(jb.talkspurtStart).toBe(false);
    let t = 45;
    for (; t < 500; t += 20) expect(jb.pop(t, newOut())).not.toBe('waiting');
    expect(jb.pop(525, newOut())).toBe('waiting');
    expect(jb.pop(545, newOut())).toBe('waiting');
    // Asterisk after unmute: same SSRC, sequence +101, timestamp +16160 (docs/asterisk-facts.md, Mute). A fresh stream, not a resync.
    expect(jb.push(packet(103, 320 + 101 * 160), 2000)).toBe('accepted');
    jb.push(packet(104, 320 + 102 * 160), 2020);
    expect(popSeq(jb, 2025)).toEqual({ result: 'audio', seq: 103 });
    expect(jb.talkspurtStart).toBe(true);
    expect(jb.stats.resyncs).toBe(0);
  });

  it('flushes frames still buffered when a stream goes idle', () => {
    const jb = make({ minDepthMs: 100, idleAfterMs: 300 });
    jb.push(packet(1, 160), 0);
    jb.push(packet(2, 320), 1);
    // The worker stalled: no pops until long after the stream stopped.
    expect(jb.pop(400, newOut())).toBe('waiting');
    expect(jb.stats.flushed).toBe(2);
    expect(jb.bufferedFrames).toBe(0);
  });

  it('a delayed (not lost) burst after an underrun is played in full: rebuffering waits rather than skipping', () => {
    const jb = make();
    // Frames 5..9 are held up 100 ms and arrive together.
    const results = runSteady(jb, 30, (i) => (i >= 5 && i < 10 ? 100 - (i - 5) * 20 : 0));
    expect(jb.stats.lost).toBe(0);
    expect(jb.stats.late).toBe(0);
    expect(jb.stats.played).toBe(30);
    expect(results.filter((r) => r === 'concealed' || r === 'silence').length).toBeGreaterThan(0);
  });
});

describe('JitterBuffer resync', () => {
  it('an SSRC change flushes the old stream and never plays its frames', () => {
    const jb = make({ minDepthMs: 60 });
    for (let i = 0; i < 5; i++) jb.push(packet(i, i * 160, { ssrc: 0xa, level: 1111 }), i * 20);
    const out = newOut();
    expect(jb.pop(85, out)).toBe('audio');
    expect(out[2]).toBe(1111);
    const buffered = jb.bufferedFrames;
    expect(buffered).toBeGreaterThan(0);
    expect(jb.push(packet(3000, 777_000, { ssrc: 0xb, level: 2222 }), 90)).toBe('resync');
    expect(jb.stats.resyncs).toBe(1);
    expect(jb.stats.flushed).toBe(buffered);
    // A straggler of the old stream is late, not a resync back.
    expect(jb.push(packet(5, 800, { ssrc: 0xa, level: 1111 }), 91)).toBe('late');
    for (let i = 1; i < 4; i++) jb.push(packet(3000 + i, 777_000 + i * 160, { ssrc: 0xb, level: 2222 }), 90 + i * 20);
    const seqs: number[] = [];
    let first = true;
    for (let t = 105; t < 400; t += 20) {
      const result = jb.pop(t, out);
      if (result !== 'audio') continue;
      expect(out[2]).toBe(2222);
      seqs.push(seqOf(out));
      if (first) expect(jb.talkspurtStart).toBe(true);
      first = false;
    }
    expect(seqs).toEqual([3000, 3001, 3002, 3003]);
    expect(jb.stats.resyncs).toBe(1);
  });

  it('a timestamp jump beyond resyncJumpMs with contiguous sequence numbers resyncs', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    expect(jb.push(packet(2, 320 + 8000 * 2), 20)).toBe('resync');
    expect(popSeq(jb, 25)).toEqual({ result: 'audio', seq: 2 });
    expect(jb.talkspurtStart).toBe(true);
  });

  it('a sequence jump beyond resyncJumpMs resyncs; one within it does not', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    expect(jb.push(packet(40, 40 * 160), 20)).not.toBe('resync'); // 780 ms: a loss burst, within the limit
    expect(jb.stats.resyncs).toBe(0);
    // 1200 ms away: a lone packet that far is a stray (RFC 3550 A.1 probation)...
    expect(jb.push(packet(40 + 60, 100 * 160), 40)).toBe('late');
    expect(jb.stats.resyncs).toBe(0);
    // ...and the next one in sequence with it makes it a new stream.
    expect(jb.push(packet(40 + 61, 101 * 160), 41)).toBe('resync');
    expect(jb.stats.resyncs).toBe(1);
    expect(jb.bufferedFrames).toBe(1);
    let first: number | null = null;
    for (let t = 45; t < 400 && first === null; t += 20) first = popSeq(jb, t).seq;
    expect(first).toBe(101);
  });

  it('a lone stale duplicate far behind the stream is dropped, never replayed', () => {
    const jb = make();
    jb.push(packet(65400, 0), 0);
    expect(popSeq(jb, 5).seq).toBe(65400);
    for (let i = 1; i <= 60; i++) {
      jb.push(packet((65400 + i) & 0xffff, i * 160), i * 20);
      popSeq(jb, i * 20 + 5);
    }
    const resyncs = jb.stats.resyncs;
    expect(jb.push(packet(65400, 0), 1300)).toBe('late');
    expect(jb.stats.resyncs).toBe(resyncs);
    for (let t = 1305; t < 1400; t += 20) expect(popSeq(jb, t).seq).not.toBe(65400);
  });

  it('a timestamp wrap is not a jump', () => {
    const jb = make();
    jb.push(packet(1, 2 ** 32 - 160), 0);
    jb.pop(5, newOut());
    expect(jb.push(packet(2, 0), 20)).toBe('accepted');
    expect(jb.push(packet(3, 160), 40)).toBe('accepted');
    expect(jb.stats.resyncs).toBe(0);
  });
});

describe('JitterBuffer adaptive depth', () => {
  it('jitterMs is 0 for a constant delay (across the timestamp wrap)', () => {
    const jb = make();
    runSteady(jb, 100, () => 37, { ts0: 2 ** 32 - 50 * FRAME_UNITS, tailMs: 20 });
    expect(jb.stats.jitterMs).toBe(0);
    expect(jb.stats.targetMs).toBe(20);
    expect(jb.stats.lost + jb.stats.late + jb.stats.concealed).toBe(0);
  });

  it('jitterMs follows the RFC 3550 estimator for alternating ±10 ms delay and converges to 20 ms', () => {
    const jb = make();
    const delay = (i: number): number => 50 + (i % 2 === 0 ? 10 : -10);
    runSteady(jb, 150, delay, { tailMs: 20 });
    // Independent reference: J += (|D| - J) / 16 over the arrival order (in-order here), in ms.
    let j = 0;
    for (let i = 1; i < 150; i++) j += (Math.abs(delay(i) - delay(i - 1)) - j) / 16;
    expect(jb.stats.jitterMs).toBeCloseTo(j, 6);
    expect(jb.stats.jitterMs).toBeGreaterThan(19.9);
    expect(jb.stats.jitterMs).toBeLessThanOrEqual(20);
    // target = whole frames of (20 + 3 J) = 80 ms
    expect(jb.stats.targetMs).toBe(80);
  });

  it('targetMs grows promptly under jitter and shrinks back slowly, one frame at a time, within [min, max]', () => {
    const jb = make({ minDepthMs: 20, maxDepthMs: 200 });
    const jitterUntil = 100; // packets 0..99 jittery, then constant delay
    const delay = (i: number): number => (i < jitterUntil ? 40 + (i % 2 === 0 ? 30 : -30) : 40);
    const count = 1500; // 30 s: from 200 ms the target needs 9 steps of 2 s
    const arrivals = Array.from({ length: count }, (_, i) => ({ i, at: i * 20 + delay(i) })).sort((a, b) => a.at - b.at);
    const targets: Array<{ t: number; target: number }> = [];
    let next = 0;
    const out = newOut();
    for (let t = 5; t < count * 20; t += 20) {
      while (next < arrivals.length && (arrivals[next]?.at ?? Infinity) <= t) {
        const a = arrivals[next++];
        if (a) jb.push(packet(a.i, a.i * FRAME_UNITS), a.at);
      }
      jb.pop(t, out);
      targets.push({ t, target: jb.stats.targetMs });
    }
    const peak = Math.max(...targets.map((x) => x.target));
    expect(peak).toBeGreaterThanOrEqual(120);
    // It got there within the jittery second.
    expect(targets.find((x) => x.target === peak)?.t ?? Infinity).toBeLessThan(jitterUntil * 20 + 100);
    for (const x of targets) {
      expect(x.target).toBeGreaterThanOrEqual(20);
      expect(x.target).toBeLessThanOrEqual(200);
    }
    // Shrinking: never more than one frame per step, and steps at least 2 s apart.
    let lastDropAt = -Infinity;
    for (let k = 1; k < targets.length; k++) {
      const prev = targets[k - 1] as { t: number; target: number };
      const cur = targets[k] as { t: number; target: number };
      if (cur.target < prev.target) {
        expect(prev.target - cur.target).toBe(20);
        expect(cur.t - lastDropAt).toBeGreaterThanOrEqual(2000);
        lastDropAt = cur.t;
      }
    }
    expect(targets[targets.length - 1]?.target).toBe(20);
  });

  it('a playout slack (the tick comes that long after arrivals) is subtracted from the jitter-driven target', () => {
    // Arrivals alternate 0 and 2 ms late: an RFC 3550 jitter of 2 ms (3·J = 6 ms), all within a 6 ms slack.
    const lateness = (i: number): number => (i % 2) * 2;
    const plain = make();
    runSteady(plain, 200, lateness, { tailMs: 0 });
    const slack = make({ playoutSlackMs: 6 });
    runSteady(slack, 200, lateness, { tailMs: 0 });
    expect(plain.stats.jitterMs).toBeGreaterThan(1.8);
    expect(slack.stats.jitterMs).toBeCloseTo(plain.stats.jitterMs, 6);
    expect(plain.stats.targetMs).toBe(40);
    expect(slack.stats.targetMs).toBe(20);
  });

  it('latency first: sheds the one-frame surplus a single late packet leaves, so latency does not stay 20 ms higher', () => {
    const jb = make();
    jb.setLatencyFirst(true);
    expect(jb.latencyFirst).toBe(true);
    // Packet 50 is 30 ms late: its tick underruns, then it and 51 are both buffered.
    runSteady(jb, 400, (i) => (i === 50 ? 30 : 0), { tailMs: 0 });
    expect(jb.stats.concealed).toBeGreaterThan(0);
    expect(jb.stats.accelerated).toBe(1);
    expect(jb.stats.targetMs).toBe(20);
    // Back to nothing waiting after the pop: the next frame arrives before its tick.
    expect(jb.bufferedFrames).toBe(0);
  });

  it('continuity first (the default): keeps that frame and plays every packet', () => {
    const jb = make();
    expect(jb.latencyFirst).toBe(false);
    runSteady(jb, 400, (i) => (i === 50 ? 30 : 0), { tailMs: 0 });
    expect(jb.stats.accelerated).toBe(0);
    // Every packet is played or still waiting its turn: none shed, none lost ...
    expect(jb.stats.played + jb.bufferedFrames).toBe(jb.stats.received);
    expect(jb.stats.lost).toBe(0);
    // ... and the frame the late packet pushed back still waits after each pop: 20 ms more for the rest of the stream.
    expect(jb.bufferedFrames).toBe(1);
  });

  it('latency first: a lone underrun conceals without raising the target', () => {
    const jb = make();
    jb.setLatencyFirst(true);
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    expect(jb.pop(25, newOut())).toBe('concealed');
    expect(jb.stats.targetMs).toBe(20);
    // The late frame arrives and is played on the next tick: nothing lost.
    jb.push(packet(2, 320), 30);
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 2 });
    expect(jb.stats.lost).toBe(0);
  });

  it('an underrun grows the target by a frame at once', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    expect(jb.stats.targetMs).toBe(20);
    expect(jb.pop(25, newOut())).toBe('concealed');
    expect(jb.stats.targetMs).toBe(40);
  });

  it('surplus depth is shed one frame at a time (accelerated), not dropped at once', () => {
    const jb = make({ maxDepthMs: 200 });
    // A 160 ms backlog arrives at once, then the stream flows steadily with no jitter.
    for (let i = 0; i < 8; i++) jb.push(packet(i, i * 160), 0);
    const out = newOut();
    const depths: number[] = [];
    const played: number[] = [];
    for (let k = 0; k < 300; k++) {
      const t = 5 + k * 20;
      jb.push(packet(8 + k, (8 + k) * 160), t - 5);
      if (jb.pop(t, out) === 'audio') played.push(seqOf(out));
      depths.push(jb.stats.depthMs);
    }
    expect(jb.stats.accelerated).toBeGreaterThanOrEqual(4);
    expect(jb.stats.overflow).toBe(0);
    expect(depths[depths.length - 1]).toBeLessThanOrEqual(jb.stats.targetMs + 20);
    for (let k = 1; k < depths.length; k++) expect((depths[k - 1] as number) - (depths[k] as number)).toBeLessThanOrEqual(20);
    for (let k = 1; k < played.length; k++) expect(played[k] as number).toBeGreaterThan(played[k - 1] as number);
  });

  it('depthMs never exceeds maxDepthMs, whatever arrives', () => {
    const jb = make({ maxDepthMs: 60 });
    for (let i = 0; i < 50; i++) {
      jb.push(packet((i * 7) % 40, ((i * 7) % 40) * 160), i);
      expect(jb.stats.depthMs).toBeLessThanOrEqual(60);
      if (i % 3 === 0) jb.pop(i, newOut());
      expect(jb.stats.depthMs).toBeLessThanOrEqual(60);
    }
  });
});

describe('JitterBuffer call-long summaries (for call records)', () => {
  it('jitterMeanMs / jitterMaxMs: mean and peak of the RFC 3550 estimate over every arrival', () => {
    const jb = make();
    // 50 steady packets, 50 with ±10 ms delay, 50 steady again: the estimate climbs, then decays.
    const delay = (i: number): number => 50 + (i >= 50 && i < 100 ? (i % 2 === 0 ? 10 : -10) : 0);
    runSteady(jb, 150, delay, { tailMs: 20 });
    // Independent reference over the arrival order (delays never exceed 20 ms apart, so in order).
    let j = 0;
    let sum = 0;
    let max = 0;
    for (let i = 0; i < 150; i++) {
      if (i > 0) j += (Math.abs(delay(i) - delay(i - 1)) - j) / 16;
      sum += j;
      max = Math.max(max, j);
    }
    expect(jb.stats.jitterMaxMs).toBeCloseTo(max, 6);
    expect(jb.stats.jitterMeanMs).toBeCloseTo(sum / 150, 6);
    expect(jb.stats.jitterMaxMs).toBeGreaterThan(jb.stats.jitterMs); // it decayed after the jittery stretch
    expect(jb.stats.jitterMeanMs).toBeLessThan(jb.stats.jitterMaxMs);
  });

  it('depthMeanMs / depthMaxMs: audio waiting at each tick that plays, not while waiting for a stream', () => {
    const jb = make();
    const out = newOut();
    for (let t = 0; t < 100; t += 20) expect(jb.pop(t, out)).toBe('waiting');
    expect(jb.stats.depthMeanMs).toBe(0);
    // Three frames arrive at once, then one per tick: depth 60, 60, 60 … while the burst drains behind new arrivals.
    jb.push(packet(1, 160), 100);
    jb.push(packet(2, 320), 100);
    jb.push(packet(3, 480), 100);
    expect(jb.pop(105, out)).toBe('audio'); // depth 60 before the pop
    jb.push(packet(4, 640), 120);
    expect(jb.pop(125, out)).toBe('audio'); // 2, 3, 4 waiting: 60
    expect(jb.pop(145, out)).toBe('audio'); // 3, 4: 40
    expect(jb.pop(165, out)).toBe('audio'); // 4: 20
    expect(jb.stats.depthMaxMs).toBe(60);
    expect(jb.stats.depthMeanMs).toBeCloseTo((60 + 60 + 40 + 20) / 4, 9);
    expect(jb.pop(185, out)).toBe('concealed'); // underrun: 0 waiting, still a tick of the call
    expect(jb.stats.depthMeanMs).toBeCloseTo((60 + 60 + 40 + 20 + 0) / 5, 9);
  });

  it('reset zeroes the summaries with the counters', () => {
    const jb = make();
    runSteady(jb, 20, (i) => (i % 2 === 0 ? 30 : 10));
    expect(jb.stats.jitterMaxMs).toBeGreaterThan(0);
    expect(jb.stats.depthMaxMs).toBeGreaterThan(0);
    jb.reset();
    expect(jb.stats).toMatchObject({ jitterMeanMs: 0, jitterMaxMs: 0, depthMeanMs: 0, depthMaxMs: 0 });
    jb.push(packet(7, 160), 0);
    jb.pop(5, newOut());
    expect(jb.stats.depthMeanMs).toBe(20); // a fresh mean, not diluted by the old samples
  });
});

describe('JitterBuffer reset and stats object', () => {
  it('stats is a live object; reset zeroes it in place and forgets the stream', () => {
    const jb = make();
    const stats = jb.stats;
    jb.push(packet(1, 160), 0);
    jb.pop(5, newOut());
    jb.push(packet(2, 320), 10);
    expect(stats.received).toBe(2);
    expect(stats.played).toBe(1);
    jb.reset();
    expect(jb.stats).toBe(stats);
    expect(stats.received).toBe(0);
    expect(stats.played).toBe(0);
    expect(stats.depthMs).toBe(0);
    expect(stats.targetMs).toBe(20);
    expect(jb.bufferedFrames).toBe(0);
    expect(jb.pop(15, newOut())).toBe('waiting');
    // A different SSRC after reset is a first stream, not a resync.
    expect(jb.push(packet(9, 1440, { ssrc: 99 }), 20)).toBe('accepted');
    expect(stats.resyncs).toBe(0);
  });
});

describe('JitterBuffer rebuffering after a sender gap', () => {
  it('frames the sender skipped during a short pause are not concealed again once it resumes', () => {
    const jb = make();
    const out = newOut();
    for (let i = 0; i < 5; i++) {
      jb.push(packet(i, i * 160), i * 20);
      expect(jb.pop(i * 20 + 5, out)).toBe('audio');
    }
    // 100 ms with nothing (ticks keep running), then the sender resumes 5 frames on, as Asterisk does after a mute.
    const during: PopResult[] = [];
    for (let t = 105; t < 205; t += 20) during.push(jb.pop(t, out));
    expect(during.every((r) => r === 'concealed' || r === 'silence')).toBe(true);
    const after: Array<number | null> = [];
    for (let k = 0; k < 6; k++) {
      jb.push(packet(10 + k, (10 + k) * 160), 200 + k * 20);
      after.push(popSeq(jb, 205 + k * 20).seq);
    }
    // One tick of prefill (the underrun raised the target to 40 ms), then frame 10: the five frames the sender
    // skipped were already covered by the gap's ticks, so they are counted lost but not concealed a second time.
    expect(after).toEqual([null, 10, 11, 12, 13, 14]);
    expect(jb.stats.lost).toBe(5);
    expect(jb.stats.overflow).toBe(0);
  });
});

describe('JitterBuffer early reading (frames for recognition, ahead of playout)', () => {
  /** Every frame readEarly hands over now, by sequence number. */
  function readAll(jb: JitterBuffer): number[] {
    const out = newOut();
    const seqs: number[] = [];
    while (jb.readEarly(out)) seqs.push(seqOf(out));
    return seqs;
  }

  it('is off by default: readEarly hands over nothing and playout never says a frame was read', () => {
    const jb = make();
    jb.push(packet(1, 160), 0);
    expect(jb.earlyReading).toBe(false);
    expect(readAll(jb)).toEqual([]);
    expect(popSeq(jb, 5)).toEqual({ result: 'audio', seq: 1 });
    expect(jb.lastPopReadEarly).toBe(false);
  });

  it('hands over each frame on arrival, in order, once; playout still plays it and says it was read', () => {
    const jb = make({ minDepthMs: 60 });
    jb.setEarlyReading(true);
    jb.push(packet(1, 160), 0);
    expect(readAll(jb)).toEqual([1]);
    expect(jb.lastEarlyArrivalMs).toBe(0);
    expect(jb.lastEarlyTimestamp).toBe(160);
    jb.push(packet(2, 320), 20);
    jb.push(packet(3, 480), 40);
    expect(readAll(jb)).toEqual([2, 3]);
    expect(readAll(jb)).toEqual([]);
    // Playout waited for its 60 ms prefill regardless, and plays every frame.
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 1 });
    expect(jb.lastPopReadEarly).toBe(true);
    expect(popSeq(jb, 65)).toEqual({ result: 'audio', seq: 2 });
    expect(jb.lastPopReadEarly).toBe(true);
  });

  it('a gap holds later frames until the missing one arrives (reordered) and then hands both over in order', () => {
    const jb = make({ minDepthMs: 60 });
    jb.setEarlyReading(true);
    jb.push(packet(1, 160), 0);
    jb.push(packet(3, 480), 40);
    expect(readAll(jb)).toEqual([1]);
    jb.push(packet(2, 320), 45);
    expect(readAll(jb)).toEqual([2, 3]);
  });

  it('a frame that never comes is concealed by playout, which reports it unread; then the frames behind it flow', () => {
    const jb = make({ minDepthMs: 40 });
    jb.setEarlyReading(true);
    jb.push(packet(1, 160), 0);
    jb.push(packet(3, 480), 40);
    jb.push(packet(4, 640), 60);
    expect(readAll(jb)).toEqual([1]);
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 1 });
    expect(jb.lastPopReadEarly).toBe(true);
    // Seq 2's turn: playout conceals it, and the early reader must take that concealment from playout.
    expect(jb.pop(65, newOut())).toBe('concealed');
    expect(jb.lastPopReadEarly).toBe(false);
    expect(readAll(jb)).toEqual([3, 4]);
    expect(popSeq(jb, 85)).toEqual({ result: 'audio', seq: 3 });
    expect(jb.lastPopReadEarly).toBe(true);
  });

  it('an underrun conceals time that passed without audio: reported unread, and the late frame is still read when it comes', () => {
    const jb = make();
    jb.setEarlyReading(true);
    jb.push(packet(1, 160), 0);
    expect(readAll(jb)).toEqual([1]);
    expect(popSeq(jb, 5)).toEqual({ result: 'audio', seq: 1 });
    expect(jb.pop(25, newOut())).toBe('concealed');
    expect(jb.lastPopReadEarly).toBe(false);
    jb.push(packet(2, 320), 30);
    expect(readAll(jb)).toEqual([2]);
  });

  it('never goes back: a frame that arrives behind one already handed over is skipped, and playout says so', () => {
    const jb = make({ minDepthMs: 60 });
    jb.setEarlyReading(true);
    jb.push(packet(5, 800), 0);
    expect(readAll(jb)).toEqual([5]);
    // Before playout starts the buffer takes the earlier frame (it will be played) ...
    jb.push(packet(4, 640), 5);
    expect(readAll(jb)).toEqual([]);
    jb.push(packet(6, 960), 20);
    expect(readAll(jb)).toEqual([6]);
    expect(popSeq(jb, 45)).toEqual({ result: 'audio', seq: 4 });
    // ... but the early reader has passed it, so it must not get it out of order at its tick either.
    expect(jb.lastPopReadEarly).toBe(true);
    expect(popSeq(jb, 65)).toEqual({ result: 'audio', seq: 5 });
    expect(jb.lastPopReadEarly).toBe(true);
  });

  it('a new stream (SSRC change) starts reading from its own first frame', () => {
    const jb = make();
    jb.setEarlyReading(true);
    jb.push(packet(100, 160), 0);
    expect(readAll(jb)).toEqual([100]);
    jb.push(packet(7, 999_000, { ssrc: 0xabcd }), 20);
    expect(readAll(jb)).toEqual([7]);
  });

  it('an undecodable frame is read as silence (playout counts the error once)', () => {
    const jb = make();
    jb.setEarlyReading(true);
    const bad = { ...packet(1, 160), payloadLength: 3 };
    jb.push(bad, 0);
    const out = newOut().fill(99);
    expect(jb.readEarly(out)).toBe(true);
    expect(out.every((s) => s === 0)).toBe(true);
    expect(jb.stats.decodeErrors).toBe(0);
    jb.pop(5, newOut());
    expect(jb.stats.decodeErrors).toBe(1);
  });
});
