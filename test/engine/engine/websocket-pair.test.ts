/**
 * A pair whose legs are chan_websocket connections, run by the engine's worker
 * shards: mirrored 16 kHz both ways through the same jitter buffer and pacing
 * as RTP, and a connection lost on Asterisk's side closing the pair.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError, MediaEngine } from '../../../engine/src/index.js';
import { ChanWebSocketPeer, frequencyLE, sineFramesLE } from '../../support/chan-websocket-peer.js';
import { sleep, waitFor } from '../../support/rtp-peer.js';
import { freePortRange } from '../../support/ports.js';

describe('a WebSocket pair in the engine', () => {
  let engine: MediaEngine;
  let peer: ChanWebSocketPeer;

  beforeAll(async () => {
    engine = await MediaEngine.start({ workers: 2, portRange: await freePortRange(100), mediaConnectTimeoutMs: 2000, requestTimeoutMs: 30_000 });
    peer = await ChanWebSocketPeer.start();
  });

  afterAll(async () => {
    await engine.close();
    await peer.close();
  });

  it("mirrors A's 16 kHz audio into B's connection and B's into A's, paced one 640-byte frame per 20 ms", async () => {
    const opened = await engine.openPair({ pairId: 'pair_ws1', extA: '7000', extB: '7001', codec: 'slin16', transport: 'websocket' });
    expect(opened).toMatchObject({ pairId: 'pair_ws1', transport: 'websocket' });
    const a = peer.channel('slin16');
    const b = peer.channel('slin16');
    const [infoA, infoB] = await Promise.all([engine.connectMedia('pair_ws1', 'A', peer.url(a)), engine.connectMedia('pair_ws1', 'B', peer.url(b))]);
    expect(infoA.connectionId).toBe(a.connectionId);
    expect(infoB.optimalFrameSize).toBe(640);

    // 441 and 883 Hz repeat only after a second at 16 kHz: within 50 frames, each frame is unique.
    const fromA = sineFramesLE(441, 16000, 320, 50);
    const fromB = sineFramesLE(883, 16000, 320, 50);
    for (let i = 0; i < 50; i++) {
      a.send(fromA[i]!);
      b.send(fromB[i]!);
      await sleep(20);
    }
    // Each side receives the other side's frames, byte for byte (the mirror relays samples unchanged),
    // in order; a busy box may conceal or shed a few, never reorder them or echo a side's own audio.
    const indexesIn = (received: readonly Buffer[], sent: readonly Buffer[]): number[] => {
      const at = new Map(sent.map((f, i) => [f.toString('hex'), i]));
      return received.map((f) => at.get(f.toString('hex')) ?? -1).filter((i) => i >= 0);
    };
    await waitFor(() => indexesIn(b.frames, fromA).length >= 40 && indexesIn(a.frames, fromB).length >= 40);
    expect(b.frames.every((f) => f.length === 640)).toBe(true);
    for (const indexes of [indexesIn(b.frames, fromA), indexesIn(a.frames, fromB)]) {
      for (let i = 1; i < indexes.length; i++) expect(indexes[i]!).toBeGreaterThan(indexes[i - 1]!);
    }
    expect(indexesIn(a.frames, fromA)).toEqual([]);
    expect(indexesIn(b.frames, fromB)).toEqual([]);
    expect(Math.abs(frequencyLE(b.frames.filter((f) => indexesIn([f], fromA).length === 1), 16000) - 441)).toBeLessThan(10);

    const stats = await engine.stats();
    const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_ws1');
    expect(pair?.legA).toMatchObject({ transport: 'websocket', connected: true, rxPackets: 50 });
    expect(pair?.legB.txPackets).toBeGreaterThanOrEqual(40);
    expect(stats.sockets).toBe(2);
    expect(await engine.closePair('pair_ws1')).not.toBeNull();
    await waitFor(() => a.closeCode !== null && b.closeCode !== null);
    expect([a.closeCode, b.closeCode]).toEqual([1000, 1000]);
    expect((await engine.stats()).sockets).toBe(0);
  });

  it('closes the pair when Asterisk ends a leg\'s connection (pairclosed media-connection-lost)', async () => {
    await engine.openPair({ pairId: 'pair_ws2', extA: '7002', extB: '7003', codec: 'ulaw', transport: 'websocket' });
    const a = peer.channel('ulaw');
    const b = peer.channel('ulaw');
    await engine.connectMedia('pair_ws2', 'A', peer.url(a));
    await engine.connectMedia('pair_ws2', 'B', peer.url(b));
    const closed = new Promise<[string, string]>((resolve) => engine.once('pairclosed', (pairId, reason) => resolve([pairId, reason])));
    a.ws?.close(1000);
    expect(await closed).toEqual(['pair_ws2', 'media-connection-lost']);
    expect(engine.hasPair('pair_ws2')).toBe(false);
    // The other leg's connection is closed with the pair.
    await waitFor(() => b.closeCode !== null);
    expect(b.closeCode).toBe(1000);
  });

  it('keeps each transport to its own operations, and reports a refused connection', async () => {
    await engine.openPair({ pairId: 'pair_ws3', extA: '7004', extB: '7005', transport: 'websocket' });
    await expect(engine.setRemote('pair_ws3', 'A', { address: '127.0.0.1', port: 9 })).rejects.toMatchObject({ code: 'WRONG_TRANSPORT' });
    await expect(engine.connectMedia('pair_ws3', 'A', peer.url('unknown'))).rejects.toMatchObject({ code: 'MEDIA_CONNECT_FAILED' });
    await expect(engine.connectMedia('pair_ws3', 'A', 'http://127.0.0.1/media/x')).rejects.toBeInstanceOf(TypeError);
    await engine.openPair({ pairId: 'pair_rtp', extA: '7006', extB: '7007' });
    await expect(engine.connectMedia('pair_rtp', 'A', peer.url('x'))).rejects.toBeInstanceOf(EngineError);
    await expect(engine.openPair({ pairId: 'pair_bad', extA: '7008', extB: '7009', transport: 'websocket', remoteA: { address: '127.0.0.1', port: 9 } })).rejects.toMatchObject({ code: 'INVALID_PAIR' });
    await engine.closePair('pair_ws3');
    await engine.closePair('pair_rtp');
  });
});
