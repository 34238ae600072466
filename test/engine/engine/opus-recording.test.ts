import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine, type RecordingSummary } from '../../../engine/src/index.js';
import { encodeUlaw } from '../../../engine/src/codec/index.js';
import { oggCrc } from '../../../engine/src/pipeline/recording/ogg-opus.js';
import { RtpPeer, paced } from '../../support/rtp-peer.js';
import { channelDbfs, decodeOggOpusStream, oggStreams } from '../../support/ogg-opus-decode.js';

function toneFrame(index: number, amplitude: number): Buffer {
  const pcm = new Int16Array(160);
  for (let i = 0; i < 160; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * (index * 160 + i)) / 8000));
  const out = Buffer.alloc(160);
  encodeUlaw(pcm, 160, out, 0);
  return out;
}

describe('Ogg/Opus recordings (prism-media, opusscript)', () => {
  let engine: MediaEngine;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-opus-rec-'));
    engine = await MediaEngine.start({ workers: 1, portRange: { min: 22500, max: 22599 }, io: 'dgram', requestTimeoutMs: 30_000, recording: { dir, format: 'opus' } });
  });

  afterAll(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores a mirrored call as one Ogg/Opus file (originals and what each leg heard), the WAV removed, decodable with the caller's tone on its channel only", async () => {
    const opened = await engine.openPair({ pairId: 'rec_1', extA: '7200', extB: '7201', record: true });
    expect(opened.recordingPath).toMatch(/rec_1-.*\.wav$/);
    const done = new Promise<RecordingSummary>((resolve) => engine.on('recording', (pairId, summary) => pairId === 'rec_1' && resolve(summary)));
    const asteriskA = await RtpPeer.open();
    const asteriskB = await RtpPeer.open();
    try {
      await engine.setRemote('rec_1', 'A', asteriskA.endpoint);
      await engine.setRemote('rec_1', 'B', asteriskB.endpoint);
      await paced(100, async (i) => {
        await asteriskA.sendRtp(opened.legA, toneFrame(i, 8000));
        await asteriskB.sendRtp(opened.legB, toneFrame(i, 0));
      });
    } finally {
      asteriskA.close();
      asteriskB.close();
      await engine.closePair('rec_1');
    }
    const summary = await done;
    expect(summary.error).toBeNull();
    expect(summary.path).toMatch(/rec_1-.*\.opus$/);
    expect(await readdir(dir)).toEqual([summary.path.split('/').pop()]);
    const file = await readFile(summary.path);
    expect(summary.bytes).toBe(file.length);
    // Much smaller than the WAV it replaced (4 channels × 8 kHz × 16 bit).
    expect(file.length).toBeLessThan((summary.durationMs / 1000) * 8000 * 8 * 0.3);

    // Every page's CRC holds; two logical streams, each starting with OpusHead (BOS) then OpusTags.
    const streams = oggStreams(file);
    expect(streams.size).toBe(2);
    for (const pages of streams.values()) {
      for (const page of pages) {
        const copy = Buffer.from(page);
        const crc = copy.readUInt32LE(22);
        copy.writeUInt32LE(0, 22);
        expect(oggCrc(copy)).toBe(crc);
      }
      expect(pages[0]![5]! & 0x02).toBe(0x02);
      expect(pages[0]!.toString('latin1').includes('OpusHead')).toBe(true);
      expect(pages.at(-1)![5]! & 0x04).toBe(0x04);
    }
    const [said, heard] = [...streams.values()];
    const saidPcm = await decodeOggOpusStream(said!, 8000);
    const heardPcm = await decodeOggOpusStream(heard!, 8000);
    // Duration: the WAV's, within a frame of padding.
    for (const pcm of [saidPcm, heardPcm]) {
      expect(Math.abs((pcm.length / 2 / 8000) * 1000 - summary.durationMs)).toBeLessThanOrEqual(40);
      expect(summary.durationMs).toBeGreaterThanOrEqual(1800);
    }
    // Originals: leg A's tone (≈ −15 dBFS RMS) on the left, B's silence on the right; the middle second, away from the edges.
    const mid = [4000, 12_000] as const;
    // At 24 kb/s Opus codes the pair jointly, so a little of the tone leaks across: the silent side stays
    // at least 20 dB below the tone's.
    const levels = [channelDbfs(saidPcm, 0, ...mid), channelDbfs(saidPcm, 1, ...mid), channelDbfs(heardPcm, 0, ...mid), channelDbfs(heardPcm, 1, ...mid)];
    console.log('opus recording channel levels (dBFS): said A, said B, heard by A, heard by B', levels.map((l) => l.toFixed(1)).join(', '));
    expect(levels[0]).toBeGreaterThan(-22);
    expect(levels[1]).toBeLessThan(levels[0]! - 20);
    // Heard: A heard B's silence (left), B heard A's tone (right), mirrored.
    expect(levels[3]).toBeGreaterThan(-22);
    expect(levels[2]).toBeLessThan(levels[3]! - 20);
  }, 60_000);
});
