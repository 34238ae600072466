import { describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/index.js';
import { udpSocketFds } from '../transport/datagram-helpers.js';
import { ENGINE_IO } from './engine-io.js';
import { RtpPeer, boundUdpPorts, exactFrameIndexes, sleep, taggedUlawFrame, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

describe.each(ENGINE_IO)('engine resource lifecycle (io %s)', (io) => {
  it('returns registries and sockets to zero after 1,000 open/close cycles, and leaves no UDP fd once closed', async () => {
    const fdsBefore = udpSocketFds();
    const engine = await MediaEngine.start({ workers: 2, portRange: await freePortRange(1000), io, requestTimeoutMs: 30_000 });
    const used = new Set<number>();
    try {
      for (let round = 0; round < 50; round++) {
        const opened = await Promise.all(
          Array.from({ length: 20 }, (_, i) => engine.openPair({ pairId: `cyc_${round}_${i}`, extA: '7000', extB: '7001' })),
        );
        for (const o of opened) {
          used.add(o.legA.port);
          used.add(o.legB.port);
        }
        const closed = await Promise.all(opened.map((o) => engine.closePair(o.pairId)));
        expect(closed.every(Boolean)).toBe(true);
      }
      const stats = await engine.stats();
      expect(engine.pairCount).toBe(0);
      expect(stats.pairs).toBe(0);
      expect(stats.sockets).toBe(0);
      const bound = await boundUdpPorts();
      expect([...used].filter((p) => bound.has(p))).toEqual([]);
      if (io === 'native') {
        // A shared port per shard while it has pairs, closed with its last leg: both shards took part.
        expect(used.size).toBeGreaterThanOrEqual(2);
        expect(stats.shards.map((s) => s.sharedPort)).toEqual([null, null]);
      } else {
        // Both shards took part.
        expect(used.size).toBeGreaterThan(40);
      }
    } finally {
      await engine.close();
    }
    // The workers share this process's descriptor table: every socket they bound is closed, none leaked.
    expect(udpSocketFds()).toEqual(fdsBefore);
    const bound = await boundUdpPorts();
    expect([...used].filter((p) => bound.has(p))).toEqual([]);
  });

  it('closes the pairs of a crashed worker, frees their sockets, and keeps serving', async () => {
    const engine = await MediaEngine.start({ workers: 2, portRange: await freePortRange(200), io, requestTimeoutMs: 30_000 });
    const closedByEngine: string[] = [];
    engine.on('pairclosed', (pairId, reason) => {
      if (reason === 'worker-crash') closedByEngine.push(pairId);
    });
    try {
      const opened = await Promise.all(
        Array.from({ length: 10 }, (_, i) => engine.openPair({ pairId: `crash_${i}`, extA: '7000', extB: '7001' })),
      );
      const victimShard = engine.shardOf('crash_0');
      expect(victimShard).toBeDefined();
      const victims = opened.filter((o) => o.shard === victimShard);
      const survivors = opened.filter((o) => o.shard !== victimShard);
      expect(victims.length).toBeGreaterThan(0);
      expect(survivors.length).toBeGreaterThan(0);

      const before = await boundUdpPorts();
      expect(before.has(victims[0]!.legA.port)).toBe(true);
      const stats = await engine.stats();
      const owner = stats.shards.find((s) => s.shard === victimShard)!.threadId;
      const thread = engine.threads.find((t) => t.threadId === owner);
      expect(thread).toBeDefined();
      const readyAgain = new Promise<void>((resolve) => engine.on('shardready', (shard) => shard === victimShard && resolve()));
      await thread!.terminate();
      await waitFor(() => closedByEngine.length === victims.length);
      expect(closedByEngine.sort()).toEqual(victims.map((v) => v.pairId).sort());
      const after = await boundUdpPorts();
      for (const v of victims) {
        expect(after.has(v.legA.port)).toBe(false);
        expect(after.has(v.legB.port)).toBe(false);
      }
      for (const s of survivors) expect(engine.hasPair(s.pairId)).toBe(true);
      expect(engine.pairCount).toBe(survivors.length);

      // The shard is restarted and the engine keeps opening pairs on it.
      await waitFor(() => engine.threads.length === 2);
      const reopened = await Promise.all(
        Array.from({ length: 4 }, (_, i) => engine.openPair({ pairId: `after_${i}`, extA: '7000', extB: '7001' })),
      );
      // ... and says it is ready (its thread start may take seconds on a busy box: the engine's start deadline, 30 s, covers it).
      await readyAgain;
      // The restarted shard is the least loaded one, so it takes them.
      expect(reopened.every((r) => r.shard === victimShard)).toBe(true);
      for (const s of survivors) await engine.closePair(s.pairId);
      for (const r of reopened) await engine.closePair(r.pairId);
      const finalStats = await engine.stats();
      expect(finalStats.sockets).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('keeps receiving with no loss while its worker gets no control messages', async () => {
    // The piscina worker runs one long task and sits idle between control
    // messages; its sockets must keep being served the whole time.
    // What is proven is that the idle worker keeps serving its sockets, not that it keeps
    // time: on a busy box this test's own sender and the worker's ticks both run late, so
    // the jitter buffer is deep enough (1 s) that a stall is neither a late frame nor an overflow.
    const engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(100), io, requestTimeoutMs: 30_000, jitter: { minDepthMs: 1000, maxDepthMs: 2000 } });
    const a = await RtpPeer.open();
    const b = await RtpPeer.open();
    try {
      // Resolves with both legs connected to their peers.
      const opened = await engine.openPair({ pairId: 'idle_1', extA: '7000', extB: '7001', remoteA: a.endpoint, remoteB: b.endpoint });
      const frames = 150; // 3 s of audio per direction, not one control message meanwhile
      const start = performance.now();
      for (let i = 0; i < frames; i++) {
        await a.sendRtp(opened.legA, taggedUlawFrame(i));
        await b.sendRtp(opened.legB, taggedUlawFrame(2000 + i));
        const next = start + (i + 1) * 20;
        await sleep(Math.max(0, next - performance.now()));
      }
      // Wait for the last frame of each direction, not for a packet count: a
      // late tick may add concealment frames, which count as packets but are
      // not the frames we sent.
      const heard = (peer: RtpPeer, first: number): number =>
        new Set(exactFrameIndexes(peer.received).filter((i) => i >= first && i < first + frames)).size;
      // The deadline only ends a stuck wait: on a loaded host the last frames can take seconds to be played out.
      await waitFor(() => heard(b, 0) === frames && heard(a, 2000) === frames, 30_000).catch(() => undefined);
      const stats = await engine.stats();
      const pair = stats.shards[0]!.pairStats[0]!;
      expect(pair.legA.rxPackets).toBe(frames);
      expect(pair.legB.rxPackets).toBe(frames);
      expect(pair.legA.jitter.lost + pair.legB.jitter.lost).toBe(0);
      // Every frame sent arrived on the other side, unless the source leg's jitter buffer shed it on purpose,
      // counted: a stall of this busy process bursts its sends, and a buffer past its target sheds the surplus.
      // (A late tick may add a concealment frame, never lose one.) Idle, nothing is shed and all arrive.
      const shed = (leg: typeof pair.legA): number => leg.jitter.accelerated + leg.jitter.flushed + leg.jitter.overflow + leg.jitter.late;
      expect(frames - heard(b, 0)).toBeLessThanOrEqual(shed(pair.legA));
      expect(frames - heard(a, 2000)).toBeLessThanOrEqual(shed(pair.legB));
      expect(heard(b, 0)).toBeGreaterThan(0);
      expect(heard(a, 2000)).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
      await engine.close();
    }
  });
});
