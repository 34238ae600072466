import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../../common/src/errors.js';
import { GeneratorCore } from '../../../tools/media-load/generator-core.js';
import type { CoreResult, GeneratorPairSpec } from '../../../tools/media-load/generator-protocol.js';
import { Histogram } from '../../../tools/media-load/histogram.js';
import { mergeCoreResults } from '../../../tools/media-load/result-merge.js';
import { toneSweep } from '../../../tools/media-load/speech.js';

/**
 * A stand-in engine for one pair: what arrives on leg A goes out of leg B to
 * B's peer and vice versa, unchanged, optionally dropping every n-th A→B
 * datagram. Peers latch from the first packet, as an engine leg would.
 */
function mirrorPair(dropEveryAtoB = 0): Promise<{ spec: (index: number) => GeneratorPairSpec; close: () => void }> {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  let peerA: dgram.RemoteInfo | null = null;
  let peerB: dgram.RemoteInfo | null = null;
  let aToB = 0;
  a.on('message', (msg, rinfo) => {
    peerA = rinfo;
    aToB++;
    if (dropEveryAtoB > 0 && aToB % dropEveryAtoB === 0) return;
    if (peerB) b.send(msg, peerB.port, peerB.address);
  });
  b.on('message', (msg, rinfo) => {
    peerB = rinfo;
    if (peerA) a.send(msg, peerA.port, peerA.address);
  });
  const bound = (s: dgram.Socket): Promise<number> => new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
  return Promise.all([bound(a), bound(b)]).then(([portA, portB]) => ({
    spec: (index: number) => ({ index, legA: { address: '127.0.0.1', port: portA }, legB: { address: '127.0.0.1', port: portB } }),
    close: () => {
      a.close();
      b.close();
    },
  }));
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function runCore(dropEveryAtoB: number, pairs: number): Promise<CoreResult> {
  const mirrors = await Promise.all(Array.from({ length: pairs }, () => mirrorPair(dropEveryAtoB)));
  for (const m of mirrors) cleanups.push(m.close);
  let finished: (r: CoreResult) => void = () => {};
  const done = new Promise<CoreResult>((resolve) => (finished = resolve));
  const core = new GeneratorCore({
    pairs: mirrors.map((m, i) => m.spec(i)),
    audio: toneSweep(1),
    socketBufferBytes: 1 << 20,
    onFinished: (r) => finished(r),
  });
  cleanups.push(() => core.close());
  const ports = await core.open();
  expect(ports.map((p) => p.index)).toEqual(mirrors.map((_, i) => i));
  core.start(performance.now() + 20, { warmupMs: 400, measureMs: 1000, drainMs: 400 });
  const result = await done;
  core.close();
  return result;
}

describe('GeneratorCore', () => {
  it('counts every frame through a lossless mirror, both directions, with latency and pacing', async () => {
    const pairs = 3;
    const r = await runCore(0, pairs);
    // 50 frames/s per stream over a 1 s window: 50 per stream, give or take a slot at the edges
    // (a stall over 100 ms on a loaded machine skips sends instead of bursting them).
    const scheduled = r.aToB.sent + r.bToA.sent + r.skippedSends;
    expect(scheduled).toBeGreaterThanOrEqual(2 * pairs * 49);
    expect(scheduled).toBeLessThanOrEqual(2 * pairs * 51);
    for (const d of [r.aToB, r.bToA]) {
      expect(d.sent).toBeGreaterThan(0);
      expect(d.received).toBe(d.sent);
      expect(d.duplicates).toBe(0);
      expect(d.latency.count).toBe(d.received);
      expect(Histogram.fromSnapshot(d.latency).percentile(50)).toBeGreaterThanOrEqual(0);
    }
    expect(r.pacing.count).toBeGreaterThan(0);
    expect(r.untagged).toBe(0);
    expect(r.badPackets).toBe(0);
    expect(r.sentTotal).toBeGreaterThan(r.aToB.sent + r.bToA.sent); // the warm-up was sent but not measured
  }, 30_000);

  it('reports the loss a lossy mirror causes, in the direction it happens', async () => {
    const r = await runCore(10, 2);
    const lostAtoB = r.aToB.sent - r.aToB.received;
    expect(lostAtoB).toBeGreaterThanOrEqual(Math.floor(r.aToB.sent * 0.08));
    expect(lostAtoB).toBeLessThanOrEqual(Math.ceil(r.aToB.sent * 0.12));
    expect(r.bToA.received).toBe(r.bToA.sent);
  }, 30_000);

  it('refuses to start before open() and after close()', async () => {
    const mirror = await mirrorPair();
    cleanups.push(mirror.close);
    const core = new GeneratorCore({ pairs: [mirror.spec(0)], audio: toneSweep(1), socketBufferBytes: 1 << 16, onFinished: () => {} });
    expect(() => core.start(performance.now(), { warmupMs: 0, measureMs: 100, drainMs: 0 })).toThrow(InvalidStateError);
    core.close();
    core.close();
    expect(core.closed).toBe(true);
    await expect(core.open()).rejects.toThrow(InvalidStateError);
  });
});

describe('mergeCoreResults', () => {
  it('sums counters and merges histograms', async () => {
    const h = (values: number[]): Histogram => {
      const x = new Histogram(0.05, 40_000);
      for (const v of values) x.record(v);
      return x;
    };
    const part = (sent: number, values: number[]): CoreResult => ({
      aToB: { sent, received: values.length, duplicates: 1, latency: h(values).snapshot(), impairmentDropped: 2 },
      bToA: { sent, received: values.length, duplicates: 0, latency: h(values).snapshot(), impairmentDropped: 0 },
      pacing: h(values).snapshot(),
      sendLateness: h([]).snapshot(),
      sentTotal: sent * 2,
      receivedTotal: values.length * 2,
      badPackets: 1,
      untagged: 2,
      stale: 0,
      skippedSends: 0,
      socketErrors: 0,
      reordered: 1,
      delayed: 3,
      delayOverflow: 0,
      windows: [
        { index: 0, pairs: 1, packets: sent, sent, received: values.length, dropped: 1, arrivals: values.length, latency: h(values).snapshot() },
      ],
    });
    const merged = mergeCoreResults([part(10, [1, 2, 3]), part(5, [40, 50])]);
    expect(merged.aToB.sent).toBe(15);
    expect(merged.aToB.received).toBe(5);
    expect(merged.aToB.duplicates).toBe(2);
    expect(merged.aToB.latency.count).toBe(5);
    expect(merged.aToB.latency.max).toBe(50);
    expect(merged.sentTotal).toBe(30);
    expect(merged.untagged).toBe(4);
    expect(merged.aToB.impairmentDropped).toBe(4);
    expect(merged.reordered).toBe(2);
    expect(merged.delayed).toBe(6);
    expect(merged.windows).toHaveLength(1);
    expect(merged.windows[0]).toMatchObject({ index: 0, pairs: 2, sent: 15, received: 5, dropped: 2, arrivals: 5 });
    expect(merged.windows[0]?.latency.count).toBe(5);
    expect(Histogram.fromSnapshot(merged.pacing).percentile(100)).toBe(50);
    expect(() => mergeCoreResults([])).toThrow(RangeError);
  });
});
