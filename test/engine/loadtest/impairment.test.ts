import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { GeneratorCore } from '../../../tools/media-load/generator-core.js';
import type { CoreResult, GeneratorPairSpec, Impairment } from '../../../tools/media-load/generator-protocol.js';
import { audioForCodec } from '../../../tools/media-load/load-codec.js';
import { toneSweep } from '../../../tools/media-load/speech.js';
import { seededRandom } from '../../support/random.js';
import { inversions } from '../../support/rtp-sequence.js';


interface Mirror {
  spec: (index: number) => GeneratorPairSpec;
  /** Sequence numbers and arrival times of what arrived on leg A, in arrival order. */
  arrivalsA: Array<{ seq: number; at: number; pt: number; length: number }>;
  close: () => void;
}

/** A lossless stand-in engine for one pair that also records what leg A received. */
async function mirrorPair(): Promise<Mirror> {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  let peerA: dgram.RemoteInfo | null = null;
  let peerB: dgram.RemoteInfo | null = null;
  const arrivalsA: Mirror['arrivalsA'] = [];
  a.on('message', (msg, rinfo) => {
    peerA = rinfo;
    arrivalsA.push({ seq: msg.readUInt16BE(2), at: performance.now(), pt: msg[1]! & 0x7f, length: msg.length });
    if (peerB) b.send(msg, peerB.port, peerB.address);
  });
  b.on('message', (msg, rinfo) => {
    peerB = rinfo;
    if (peerA) a.send(msg, peerA.port, peerA.address);
  });
  const bound = (s: dgram.Socket): Promise<number> => new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
  const [portA, portB] = await Promise.all([bound(a), bound(b)]);
  return {
    spec: (index) => ({ index, legA: { address: '127.0.0.1', port: portA }, legB: { address: '127.0.0.1', port: portB } }),
    arrivalsA,
    close: () => {
      a.close();
      b.close();
    },
  };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function run(impairment: Impairment, options: { pairs?: number; measureMs?: number; codec?: 'ulaw' | 'slin16' } = {}): Promise<{ r: CoreResult; mirrors: Mirror[] }> {
  const pairs = options.pairs ?? 2;
  const mirrors = await Promise.all(Array.from({ length: pairs }, () => mirrorPair()));
  for (const m of mirrors) cleanups.push(m.close);
  let finished: (r: CoreResult) => void = () => {};
  const done = new Promise<CoreResult>((resolve) => (finished = resolve));
  const codec = options.codec ?? 'ulaw';
  const core = new GeneratorCore({
    pairs: mirrors.map((m, i) => m.spec(i)),
    audio: audioForCodec(toneSweep(1), codec),
    codec,
    impairment,
    random: seededRandom(42),
    socketBufferBytes: 1 << 20,
    onFinished: (r) => finished(r),
  });
  cleanups.push(() => core.close());
  await core.open();
  core.start(performance.now() + 20, { warmupMs: 200, measureMs: options.measureMs ?? 2000, drainMs: 500 });
  const r = await done;
  core.close();
  return { r, mirrors };
}

describe('generator impairment', () => {
  it('drops the asked share before sending, counts it apart from loss, and the rest all arrives', async () => {
    const { r, mirrors } = await run({ jitterMs: 0, lossPct: 20, reorderPct: 0 });
    for (const d of [r.aToB, r.bToA]) {
      const scheduled = d.sent + d.impairmentDropped;
      expect(scheduled).toBeGreaterThan(150);
      const share = d.impairmentDropped / scheduled;
      expect(share).toBeGreaterThan(0.13);
      expect(share).toBeLessThan(0.27);
      // Frames that went out all came back: the impairment is not the engine's loss.
      expect(d.received).toBe(d.sent);
    }
    // Dropped frames leave gaps in the sequence the engine sees.
    const seqs = (mirrors[0] as Mirror).arrivalsA.map((a) => a.seq);
    let gaps = 0;
    for (let i = 1; i < seqs.length; i++) if (((seqs[i]! - seqs[i - 1]! + 0x10000) & 0xffff) > 1) gaps++;
    expect(gaps).toBeGreaterThan(seqs.length * 0.1);
    expect(r.windows.reduce((a, w) => a + w.dropped, 0)).toBeGreaterThan(0);
  }, 30_000);

  it('swaps the asked share of packets with their successor', async () => {
    const { r, mirrors } = await run({ jitterMs: 0, lossPct: 0, reorderPct: 10 });
    const totalSent = r.sentTotal;
    expect(r.reordered / totalSent).toBeGreaterThan(0.05);
    expect(r.reordered / totalSent).toBeLessThan(0.16);
    const seqs = (mirrors[0] as Mirror).arrivalsA.map((a) => a.seq);
    const inv = inversions(seqs);
    // Each swap puts one packet behind its successor.
    expect(inv).toBeGreaterThan(seqs.length * 0.04);
    expect(inv).toBeLessThan(seqs.length * 0.2);
    for (const d of [r.aToB, r.bToA]) {
      expect(d.received).toBe(d.sent);
      expect(d.impairmentDropped).toBe(0);
    }
  }, 30_000);

  it('delays every packet by 0..jitter ms: arrivals spread out and reorder, nothing is lost', async () => {
    const jitterMs = 60;
    const { r, mirrors } = await run({ jitterMs, lossPct: 0, reorderPct: 0 }, { codec: 'slin16' });
    expect(r.delayed).toBe(r.sentTotal);
    expect(r.delayOverflow).toBe(0);
    const arrivals = (mirrors[0] as Mirror).arrivalsA;
    expect(arrivals.every((a) => a.pt === 118 && a.length === 12 + 640)).toBe(true);
    // 60 ms of jitter against a 20 ms period reorders plenty of packets.
    expect(inversions(arrivals.map((a) => a.seq))).toBeGreaterThan(arrivals.length * 0.1);
    // Interarrival times spread far beyond the 20 ms pacing.
    const gaps = arrivals.slice(1).map((a, i) => a.at - arrivals[i]!.at);
    const spread = Math.max(...gaps) - Math.min(...gaps);
    expect(spread).toBeGreaterThan(30);
    for (const d of [r.aToB, r.bToA]) {
      expect(d.sent).toBeGreaterThan(150);
      expect(d.received).toBe(d.sent);
    }
    expect(r.untagged).toBe(0);
  }, 30_000);

  it('reports per-second windows that add up', async () => {
    const { r } = await run({ jitterMs: 0, lossPct: 10, reorderPct: 0 }, { pairs: 2, measureMs: 2800 });
    // 200 ms warm-up + 2.8 s: windows 0, 1 and 2 are whole.
    expect(r.windows.map((w) => w.index)).toEqual([0, 1, 2]);
    for (const w of r.windows) {
      expect(w.pairs).toBe(2);
      // At most 4 streams × 50 frames, give or take a slot at the edges; fewer when a starved
      // generator skips the slots it missed (on purpose: it never bursts to catch up).
      expect(w.sent + w.dropped).toBeGreaterThan(0);
      expect(w.sent + w.dropped).toBeLessThanOrEqual(210);
      // Window 0 holds the very first frames, sent before the mirror has seen both peers.
      if (w.index > 0) expect(w.received).toBe(w.sent);
      else expect(w.received).toBeGreaterThanOrEqual(w.sent - 4);
      expect(w.latency.count).toBe(w.received);
      expect(w.arrivals).toBeGreaterThan(0);
    }
  }, 30_000);
});
