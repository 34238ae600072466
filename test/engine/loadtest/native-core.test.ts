import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFrameTag, readFrameTagL16 } from '../../../tools/media-load/frame-tag.js';
import type { CoreResult, FromCore, GeneratorPairPorts, GeneratorPairSpec, Impairment, ToCore } from '../../../tools/media-load/generator-protocol.js';
import { Histogram, jitterHistogram, latencyHistogram } from '../../../tools/media-load/histogram.js';
import { audioForCodec, type LoadCodecName } from '../../../tools/media-load/load-codec.js';
import { NativeCore, coreProcessDelta, coreProcessTimes, nativeCoreBinary } from '../../../tools/media-load/native-core.js';
import { mergeCoreResults } from '../../../tools/media-load/result-merge.js';
import { toneSweep } from '../../../tools/media-load/speech.js';
import { inversions } from '../../support/rtp-sequence.js';

/**
 * A stand-in engine for one pair, like a mirror engine: what arrives on leg A
 * goes out of leg B to B's peer `delayMs` later, and vice versa. Peers latch
 * from the first packet. It also reads every frame tag with frame-tag.ts, so
 * the C core's tags are checked against the TypeScript reader.
 */
interface Reflector {
  spec: GeneratorPairSpec;
  /** Datagrams that arrived, and of those the ones whose tag frame-tag.ts could not read. */
  arrived: number;
  badTags: number;
  /** RTP sequence numbers as they arrived on leg A. */
  seqsA: number[];
  close: () => void;
}

function reflector(index: number, delayMs: number, wide: boolean): Promise<Reflector> {
  const legs = [dgram.createSocket('udp4'), dgram.createSocket('udp4')] as const;
  const peers: Array<dgram.RemoteInfo | null> = [null, null];
  const timers = new Set<NodeJS.Timeout>();
  const r: Reflector = {
    spec: { index, legA: { address: '127.0.0.1', port: 0 }, legB: { address: '127.0.0.1', port: 0 } },
    arrived: 0,
    badTags: 0,
    seqsA: [],
    close: () => {
      for (const t of timers) clearTimeout(t);
      for (const s of legs) s.close();
    },
  };
  legs.forEach((socket, leg) => {
    socket.on('message', (msg, rinfo) => {
      peers[leg] = rinfo;
      r.arrived++;
      if (leg === 0) r.seqsA.push(msg.readUInt16BE(2));
      const stream = 2 * index + leg;
      const tag = wide ? readFrameTagL16(msg, 12, stream) : readFrameTag(msg, 12, stream);
      if (tag < 0) r.badTags++;
      const timer = setTimeout(() => {
        timers.delete(timer);
        const peer = peers[1 - leg];
        if (peer) legs[1 - leg]!.send(msg, peer.port, peer.address);
      }, delayMs);
      timers.add(timer);
    });
  });
  const bound = (s: dgram.Socket): Promise<number> => new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
  return Promise.all(legs.map(bound)).then(([portA, portB]) => {
    r.spec.legA.port = portA!;
    r.spec.legB.port = portB!;
    return r;
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let binary = '';
beforeAll(async () => {
  binary = await nativeCoreBinary();
}, 120_000);

/** The next message of `type` from the core; an error message fails the wait. */
function next<T extends FromCore['type']>(core: NativeCore, type: T, timeoutMs = 10_000): Promise<Extract<FromCore, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const listener = (m: FromCore): void => {
      if (m.type !== type && m.type !== 'error') return;
      clearTimeout(timer);
      core.off('message', listener);
      if (m.type === 'error') reject(new Error(m.message));
      else resolve(m as Extract<FromCore, { type: T }>);
    };
    core.on('message', listener);
  });
}

interface RunOptions {
  pairs?: number;
  codec?: LoadCodecName;
  impairment?: Impairment;
  delayMs?: number;
  warmupMs?: number;
  measureMs?: number;
}

interface Run {
  result: CoreResult;
  ports: GeneratorPairPorts[];
  reflectors: Reflector[];
  progress: Extract<FromCore, { type: 'progress' }>;
  cpuRunNs: number;
}

async function runNative(o: RunOptions = {}): Promise<Run> {
  const pairs = o.pairs ?? 10;
  const codec = o.codec ?? 'ulaw';
  const reflectors = await Promise.all(Array.from({ length: pairs }, (_, i) => reflector(i, o.delayMs ?? 5, codec === 'slin16')));
  for (const r of reflectors) cleanups.push(r.close);
  const core = new NativeCore(binary);
  cleanups.push(() => core.terminate());
  const ready = next(core, 'ready');
  core.postMessage({
    type: 'setup',
    pairs: reflectors.map((r) => r.spec),
    socketBufferBytes: 1 << 20,
    audio: new Uint8Array(audioForCodec(toneSweep(1), codec)),
    codec,
    impairment: o.impairment ?? { jitterMs: 0, lossPct: 0, reorderPct: 0 },
    capacityPairs: pairs,
  });
  const { ports } = await ready;
  const schedule = { warmupMs: o.warmupMs ?? 1000, measureMs: o.measureMs ?? 2500, drainMs: 600 };
  const result = next(core, 'result', 30_000);
  core.postMessage({ type: 'start', startAtEpochMs: performance.timeOrigin + performance.now() + 100, schedule } satisfies ToCore);
  // Mid-run: progress totals and the windows settled so far.
  await new Promise((resolve) => setTimeout(resolve, 100 + schedule.warmupMs + 1000));
  const cpu0 = coreProcessTimes([core]);
  const progressing = next(core, 'progress');
  core.postMessage({ type: 'progress' });
  const progress = await progressing;
  const { result: r } = await result;
  const cpu = coreProcessDelta(cpu0, coreProcessTimes([core]));
  return { result: r, ports, reflectors, progress, cpuRunNs: cpu.runNs };
}

function p50(snapshot: CoreResult['pacing']): number {
  return Histogram.fromSnapshot(snapshot).percentile(50);
}

describe('NativeCore (native-bench/loadgen)', () => {
  it('paces 50 frames/s per stream through a delaying mirror and measures its delay, both directions', async () => {
    const pairs = 10;
    const delayMs = 5;
    const { result: r, ports, reflectors, progress, cpuRunNs } = await runNative({ pairs, delayMs, measureMs: 2500 });
    expect(ports.map((p) => p.index)).toEqual(reflectors.map((_, i) => i));
    expect(new Set(ports.flatMap((p) => [p.portA, p.portB])).size).toBe(2 * pairs);
    for (const d of [r.aToB, r.bToA]) {
      // 2.5 s at 50 frames/s per stream, give or take a slot at the edges (a stall skips, never bursts).
      const scheduled = d.sent + r.skippedSends / 2;
      expect(scheduled).toBeGreaterThanOrEqual(pairs * 124);
      expect(scheduled).toBeLessThanOrEqual(pairs * 126);
      expect(d.received).toBe(d.sent);
      expect(d.duplicates).toBe(0);
      expect(d.impairmentDropped).toBe(0);
      expect(d.latency.count).toBe(d.received);
      // Centred on the mirror's delay: a timer in the mirror fires at or a little after it.
      const median = p50(d.latency);
      expect(median).toBeGreaterThanOrEqual(delayMs);
      expect(median).toBeLessThan(delayMs + 5);
    }
    // Arrivals keep the 20 ms rhythm, give or take the mirror's own timer jitter.
    expect(r.pacing.count).toBeGreaterThan(2 * pairs * 100);
    expect(p50(r.pacing)).toBeLessThan(3);
    expect(r.untagged + r.stale + r.badPackets).toBe(0);
    expect(r.sendLateness.count).toBe(r.aToB.sent + r.bToA.sent);
    // Every tag the C core wrote reads back with frame-tag.ts.
    for (const m of reflectors) {
      expect(m.arrived).toBeGreaterThan(2 * 150);
      expect(m.badTags).toBe(0);
    }
    expect(progress.progress.sent).toBeGreaterThan(0);
    expect(progress.progress.received).toBeGreaterThan(0);
    // Warm-up 1 s + 2.5 s: windows 0..2 are whole; progress had settled some of them already.
    expect(r.windows.map((w) => w.index)).toEqual([0, 1, 2]);
    expect(progress.windows.map((w) => w.index)).toEqual(r.windows.slice(0, progress.windows.length).map((w) => w.index));
    for (const w of r.windows.slice(1)) {
      expect(w.pairs).toBe(pairs);
      // A stall over 100 ms (a loaded machine) skips sends rather than bursting them.
      expect(w.sent).toBeGreaterThanOrEqual(2 * pairs * 49 - r.skippedSends);
      expect(w.received).toBe(w.sent);
      expect(w.latency.count).toBe(w.received);
    }
    // Snapshots have the Node core's bucket layout: they merge with its histograms and with each other.
    latencyHistogram().merge(r.aToB.latency);
    jitterHistogram().merge(r.pacing);
    new Histogram(0.5, 2000).merge(r.windows[1]!.latency);
    const merged = mergeCoreResults([r, r]);
    expect(merged.aToB.latency.count).toBe(2 * r.aToB.latency.count);
    expect(merged.windows.map((w) => w.pairs)).toEqual(r.windows.map((w) => 2 * w.pairs));
    // The core's own process accounts for its CPU (what the generator adds to its cpu_pct).
    expect(cpuRunNs).toBeGreaterThan(0);
  }, 30_000);

  it('tags slin16 in the samples\' low bytes, readable by frame-tag.ts', async () => {
    const { result: r, reflectors } = await runNative({ pairs: 2, codec: 'slin16', warmupMs: 500, measureMs: 1000 });
    // How many frames a second of measuring sends depends on the CPU the generator got (a
    // benchmark's business); this proves that what it sent arrived, with readable tags.
    for (const d of [r.aToB, r.bToA]) {
      expect(d.sent).toBeGreaterThan(0);
      expect(d.received).toBe(d.sent);
    }
    for (const m of reflectors) {
      expect(m.arrived).toBeGreaterThan(100);
      expect(m.badTags).toBe(0);
    }
  }, 30_000);

  it('drops the asked share before sending and counts it apart; the rest all arrives', async () => {
    const { result: r } = await runNative({ pairs: 10, impairment: { jitterMs: 0, lossPct: 10, reorderPct: 0 }, measureMs: 2500 });
    for (const d of [r.aToB, r.bToA]) {
      const scheduled = d.sent + d.impairmentDropped;
      expect(scheduled).toBeGreaterThan(1000);
      const share = d.impairmentDropped / scheduled;
      expect(share).toBeGreaterThan(0.07);
      expect(share).toBeLessThan(0.13);
      expect(d.received).toBe(d.sent);
    }
    expect(r.windows.reduce((a, w) => a + w.dropped, 0)).toBeGreaterThan(0);
  }, 30_000);

  it('delays and reorders as asked, and still loses nothing', async () => {
    const { result: r, reflectors } = await runNative({ pairs: 4, impairment: { jitterMs: 40, lossPct: 0, reorderPct: 10 }, warmupMs: 500, measureMs: 1500 });
    expect(r.delayed).toBe(r.sentTotal);
    // A starved generator can fill its delay wheel; such packets go out at once and are counted
    // (delayOverflow), never lost — what the received == sent checks below prove.
    expect(r.reordered / r.sentTotal).toBeGreaterThan(0.05);
    expect(r.reordered / r.sentTotal).toBeLessThan(0.16);
    for (const d of [r.aToB, r.bToA]) {
      expect(d.sent).toBeGreaterThan(0);
      expect(d.received).toBe(d.sent);
    }
    // 40 ms of jitter against a 20 ms period reorders plenty of packets on the wire.
    const seqs = reflectors[0]!.seqsA;
    expect(inversions(seqs)).toBeGreaterThan(seqs.length * 0.05);
  }, 30_000);

  it('adds pairs while running (a ramp) and measures them after their settling second', async () => {
    const base = await reflector(0, 2, false);
    const late = await reflector(1, 2, false);
    cleanups.push(base.close, late.close);
    const core = new NativeCore(binary);
    cleanups.push(() => core.terminate());
    const ready = next(core, 'ready');
    core.postMessage({
      type: 'setup',
      pairs: [base.spec],
      socketBufferBytes: 1 << 20,
      audio: new Uint8Array(toneSweep(1)),
      codec: 'ulaw',
      impairment: { jitterMs: 0, lossPct: 0, reorderPct: 0 },
      capacityPairs: 2,
    });
    await ready;
    core.postMessage({ type: 'start', startAtEpochMs: performance.timeOrigin + performance.now() + 50, schedule: { warmupMs: 200, measureMs: 3000, drainMs: 400 } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const added = next(core, 'pairsAdded');
    core.postMessage({ type: 'addPairs', pairs: [late.spec] });
    expect((await added).ports.map((p) => p.index)).toEqual([1]);
    // Beyond the capacity: refused with a message, nothing else changes.
    const refused = next(core, 'pairsAdded');
    core.postMessage({ type: 'addPairs', pairs: [{ ...late.spec, index: 2 }] });
    await expect(refused).rejects.toThrow(/capacity of 2/);
    // Ending the measured window early: the drain and the result follow at once.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const result = next(core, 'result');
    core.postMessage({ type: 'finish' });
    const { result: r } = await result;
    expect(late.arrived).toBeGreaterThan(50);
    // The added pair's streams were measured from a second after they joined; the first pair's throughout.
    for (const d of [r.aToB, r.bToA]) {
      expect(d.received).toBe(d.sent);
      expect(d.sent).toBeGreaterThan(100 + 20);
      expect(d.sent).toBeLessThan(2 * 120);
    }
    expect(r.windows.at(-1)!.pairs).toBe(2);
  }, 30_000);

  it('reports malformed input as error messages and keeps going; exits when stdin closes', async () => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      waiters.splice(0).forEach((w) => w());
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => child.kill('SIGKILL'));
    const until = async (n: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (lines.length < n && Date.now() < deadline) await new Promise<void>((resolve) => (waiters.push(resolve), setTimeout(resolve, 200)));
    };
    const bad = [
      'hello',
      'setup ulaw',
      'setup opus 1 65536 0 0 0 /nonexistent',
      'setup ulaw -5 65536 0 0 0 /nonexistent',
      'setup ulaw 1 65536 nan 0 0 /nonexistent',
      'setup ulaw 1 65536 0 0 0 /nonexistent/audio.bin',
      'pair 0 127.0.0.1 5000 127.0.0.1 5001',
      'start 1 0 1000 0',
      'x'.repeat(10_000),
      'open extra',
      '\u0001\u00ff binary "quoted" \\',
    ];
    child.stdin.write(bad.join('\n') + '\n');
    await until(bad.length);
    expect(lines).toHaveLength(bad.length);
    const messages = lines.map((l) => JSON.parse(l) as { type: string; message: string });
    for (const m of messages) expect(m.type).toBe('error');
    expect(messages[0]!.message).toMatch(/unknown command/);
    expect(messages[5]!.message).toMatch(/cannot read audio/);
    expect(messages[8]!.message).toMatch(/longer than 4096/);
    // Still alive and answering.
    child.stdin.write('progress\n');
    await until(bad.length + 1);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'progress', progress: { sent: 0 } });
    expect(child.exitCode).toBeNull();
    child.stdin.end();
    expect(await exited).toBe(0);
  }, 20_000);

  it('refuses what it cannot encode as an error message, through NativeCore', async () => {
    const core = new NativeCore(binary);
    cleanups.push(() => core.terminate());
    const error = next(core, 'ready');
    core.postMessage({ type: 'addPairs', pairs: [{ index: 0, legA: { address: 'localhost', port: 5000 }, legB: { address: '127.0.0.1', port: 5001 } }] });
    await expect(error).rejects.toThrow(/IPv4/);
    expect(await core.terminate()).toBe(0);
    expect(core.exitCode).toBe(0);
  });

  it('stops by itself: after the result plus its margin, and without a start after its idle limit', async () => {
    const mirror = await reflector(0, 1, false);
    cleanups.push(mirror.close);
    const core = new NativeCore(binary, { marginSeconds: 0.5 });
    cleanups.push(() => core.terminate());
    const exited = new Promise<number>((resolve) => core.once('exit', resolve));
    const ready = next(core, 'ready');
    core.postMessage({
      type: 'setup',
      pairs: [mirror.spec],
      socketBufferBytes: 65536,
      audio: new Uint8Array(toneSweep(1)),
      codec: 'alaw',
      impairment: { jitterMs: 0, lossPct: 0, reorderPct: 0 },
      capacityPairs: 1,
    });
    await ready;
    const result = next(core, 'result');
    core.postMessage({ type: 'start', startAtEpochMs: performance.timeOrigin + performance.now(), schedule: { warmupMs: 0, measureMs: 300, drainMs: 100 } });
    await result;
    // stdin stays open: only the deadline ends it.
    expect(await exited).toBe(0);

    const idle = new NativeCore(binary, { idleSeconds: 0.3 });
    cleanups.push(() => idle.terminate());
    const idleExit = new Promise<number>((resolve) => idle.once('exit', resolve));
    const idleError = next(idle, 'ready');
    await expect(idleError).rejects.toThrow(/hard deadline/);
    expect(await idleExit).toBe(3);
  }, 20_000);
});
