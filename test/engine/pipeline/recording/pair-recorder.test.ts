import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../common/src/errors.js';
import type { Direction, MediaFrame } from '../../../../engine/src/pipeline/stage.js';
import {
  MAX_WAV_DATA_BYTES,
  PairRecorder,
  WAV_HEADER_BYTES,
  openFileSink,
  type RecordingSink,
  type RecordingSinkOpener,
} from '../../../../engine/src/pipeline/recording/index.js';

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-recording-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Channel frequencies: 1 = A original, 2 = B original, 3 = heard by B, 4 = heard by A. */
const TONES = [300, 500, 700, 900] as const;

function frameOf(sampleRate: number, direction: Direction): MediaFrame {
  const samples = sampleRate / 50;
  return { pcm: new Int16Array(samples), samples, sampleRate, pairId: 'p', srcExt: '1', direction, rtpTimestamp: 0, status: 'audio' };
}

/** Fills a reused frame with tick `t` of a continuous tone. */
function tone(frame: MediaFrame, hz: number, t: number, amplitude = 8000): MediaFrame {
  const n = frame.samples;
  for (let i = 0; i < n; i++) frame.pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * (t * n + i)) / frame.sampleRate));
  return frame;
}

interface ParsedWav {
  channels: number;
  sampleRate: number;
  riffSize: number;
  dataSize: number;
  /** De-interleaved samples per channel. */
  data: Int16Array[];
}

function parseWav(buf: Buffer): ParsedWav {
  expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
  expect(buf.toString('ascii', 8, 16)).toBe('WAVEfmt ');
  const channels = buf.readUInt16LE(22);
  const sampleRate = buf.readUInt32LE(24);
  expect(buf.readUInt16LE(34)).toBe(16);
  expect(buf.toString('ascii', 60, 64)).toBe('data');
  const dataSize = buf.readUInt32LE(64);
  const frames = Math.floor(Math.min(dataSize, buf.length - WAV_HEADER_BYTES) / (2 * channels));
  const data = Array.from({ length: channels }, () => new Int16Array(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) data[c]![f] = buf.readInt16LE(WAV_HEADER_BYTES + 2 * (f * channels + c));
  }
  return { channels, sampleRate, riffSize: buf.readUInt32LE(4), dataSize, data };
}

/** Frequency from upward zero crossings. */
function zeroCrossingHz(x: Int16Array, sampleRate: number, from = 0, to = x.length): number {
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if (x[i - 1]! < 0 && x[i]! >= 0) crossings++;
  return (crossings * sampleRate) / (to - from);
}

function peak(x: Int16Array, from = 0, to = x.length): number {
  let p = 0;
  for (let i = from; i < to; i++) p = Math.max(p, Math.abs(x[i]!));
  return p;
}

async function soxInfo(path: string): Promise<{ channels: number; rate: number; samples: number }> {
  const info = async (flag: string): Promise<number> => Number((await run('sox', ['--i', flag, path])).stdout.trim());
  return { channels: await info('-c'), rate: await info('-r'), samples: await info('-s') };
}

/** sox's own frequency estimate of one channel (`stat` prints to stderr). */
async function soxRoughFrequency(path: string, channel: number): Promise<number> {
  const { stderr } = await run('sox', [path, '-n', 'remix', String(channel), 'stat']);
  const m = /Rough\s+frequency:\s+(\d+)/.exec(stderr);
  if (!m) throw new Error(`no frequency in sox stat output: ${stderr}`);
  return Number(m[1]);
}

/** One tick in which only A speaks: nothing translated, nothing from B. */
function onlyA(recorder: PairRecorder, frame: MediaFrame, t: number): void {
  recorder.frame('A->B', tone(frame, TONES[0], t), null);
  recorder.frame('B->A', null, null);
}

async function waitUntil(cond: () => boolean, maxMs = 5000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A real file behind a gate: writes of audio blocks wait until `release()`. */
function gatedSink(): { open: RecordingSinkOpener; release: () => void; pending: () => number; maxPending: () => number } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let pending = 0;
  let maxPending = 0;
  const open: RecordingSinkOpener = async (path) => {
    const file = await openFileSink(path);
    return {
      async write(data, position) {
        if (position >= WAV_HEADER_BYTES) {
          pending++;
          maxPending = Math.max(maxPending, pending);
          await gate;
          pending--;
        }
        await file.write(data, position);
      },
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
  };
  return { open, release: () => release(), pending: () => pending, maxPending: () => maxPending };
}

describe('PairRecorder', () => {
  it.each([8000, 16000] as const)('records 2 s of four tones at %i Hz as a valid 4-channel WAV, one tone per channel', async (sampleRate) => {
    const recorder = await PairRecorder.open({ dir, pairId: `tones_${sampleRate}`, sampleRate });
    const aIn = frameOf(sampleRate, 'A->B');
    const aOut = frameOf(sampleRate, 'A->B');
    const bIn = frameOf(sampleRate, 'B->A');
    const bOut = frameOf(sampleRate, 'B->A');
    for (let t = 0; t < 100; t++) {
      recorder.frame('A->B', tone(aIn, TONES[0], t), tone(aOut, TONES[2], t));
      recorder.frame('B->A', tone(bIn, TONES[1], t), tone(bOut, TONES[3], t));
    }
    const summary = await recorder.close();
    expect(summary).toEqual({ path: recorder.path, format: 'wav', durationMs: 2000, bytes: WAV_HEADER_BYTES + 2 * sampleRate * 8, droppedMs: 0, paddedMs: 0, error: null });
    expect((await stat(summary.path)).size).toBe(summary.bytes);

    expect(await soxInfo(summary.path)).toEqual({ channels: 4, rate: sampleRate, samples: 2 * sampleRate });
    for (let c = 0; c < 4; c++) {
      const hz = await soxRoughFrequency(summary.path, c + 1);
      expect(Math.abs(hz - TONES[c]!) / TONES[c]!).toBeLessThan(0.05);
    }
    const wav = parseWav(await readFile(summary.path));
    expect(wav.riffSize).toBe(WAV_HEADER_BYTES - 8 + wav.dataSize);
    for (let c = 0; c < 4; c++) {
      expect(Math.abs(zeroCrossingHz(wav.data[c]!, sampleRate) - TONES[c]!)).toBeLessThanOrEqual(2);
    }
  });

  it('names the file <dir>/<pairId>-<ISO time>.wav, creates the directory, mode 0640', async () => {
    const nested = join(dir, 'new', 'deeper');
    const recorder = await PairRecorder.open(
      { dir: nested, pairId: 'Pair-1.x_y', sampleRate: 8000 },
      { now: () => new Date('2025-03-04T05:06:07.089Z') },
    );
    expect(recorder.path).toBe(join(nested, 'Pair-1.x_y-20250304T050607.089Z.wav'));
    const summary = await recorder.close();
    expect((await stat(summary.path)).mode & 0o777).toBe(0o640);
    // Empty but valid.
    expect(summary.durationMs).toBe(0);
    expect(await soxInfo(summary.path)).toEqual({ channels: 4, rate: 8000, samples: 0 });
  });

  it('refuses a pairId that is not a safe file name, before touching the disk', async () => {
    const target = join(dir, 'refused');
    for (const pairId of ['../escape', 'a/b', '', 'with space', 'x'.repeat(129), 'semi;colon']) {
      expect(() => new PairRecorder({ dir: target, pairId, sampleRate: 8000 })).toThrow(ConfigError);
    }
    try {
      new PairRecorder({ dir: target, pairId: '../x', sampleRate: 8000 });
    } catch (err) {
      expect((err as ConfigError).key).toBe('pairId');
    }
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('records a missing side as silence, so all four channels stay sample aligned', async () => {
    const recorder = await PairRecorder.open({ dir, pairId: 'aligned', sampleRate: 8000 });
    const aIn = frameOf(8000, 'A->B');
    const aOut = frameOf(8000, 'A->B');
    const bIn = frameOf(8000, 'B->A');
    const bOut = frameOf(8000, 'B->A');
    // Ticks 0-49: only A speaks, and its translation reaches B from tick 20; B's stream has not started.
    // Tick 50: a 20 ms burst on every channel. Ticks 51-99: nothing at all, except A's original.
    for (let t = 0; t < 100; t++) {
      const burst = t === 50;
      recorder.frame('A->B', tone(aIn, TONES[0], t, burst ? 20000 : 3000), t >= 20 && t <= 50 ? tone(aOut, TONES[2], t, burst ? 20000 : 3000) : null);
      recorder.frame('B->A', burst ? tone(bIn, TONES[1], t, 20000) : null, burst ? tone(bOut, TONES[3], t, 20000) : null);
    }
    const summary = await recorder.close();
    expect(summary.durationMs).toBe(2000);
    const wav = parseWav(await readFile(summary.path));
    expect(wav.data.every((ch) => ch.length === 16000)).toBe(true);
    // The burst sits at 1.00 s on every channel.
    for (let c = 0; c < 4; c++) {
      const ch = wav.data[c]!;
      const first = ch.findIndex((v) => Math.abs(v) > 10000);
      expect(first).toBeGreaterThanOrEqual(8000);
      expect(first).toBeLessThan(8010);
      expect(peak(ch, 8000, 8160)).toBeGreaterThan(15000);
    }
    // Silence where a side had nothing.
    expect(peak(wav.data[2]!, 0, 20 * 160)).toBe(0);
    expect(peak(wav.data[2]!, 20 * 160, 50 * 160)).toBeGreaterThan(2000);
    expect(peak(wav.data[1]!, 0, 8000)).toBe(0);
    expect(peak(wav.data[3]!, 8160)).toBe(0);
    expect(peak(wav.data[0]!, 8160)).toBeGreaterThan(2000);
  });

  it('resamples frames at the other rate (a 16 kHz stage output into an 8 kHz recording) without losing alignment', async () => {
    const recorder = await PairRecorder.open({ dir, pairId: 'mixed_rates', sampleRate: 8000 });
    const aIn = frameOf(8000, 'A->B');
    const aOut = frameOf(16000, 'A->B');
    for (let t = 0; t < 50; t++) recorder.frame('A->B', tone(aIn, TONES[0], t), tone(aOut, TONES[2], t));
    for (let t = 0; t < 50; t++) recorder.frame('B->A', null, null);
    const summary = await recorder.close();
    expect(summary.durationMs).toBe(1000);
    const wav = parseWav(await readFile(summary.path));
    expect(Math.abs(zeroCrossingHz(wav.data[2]!, 8000, 800) - TONES[2])).toBeLessThanOrEqual(3);
    expect(recorder.stats().rateErrors).toBe(0);
  });

  it('pads a channel that falls more than a block behind, and lines the late one up after it', async () => {
    const recorder = await PairRecorder.open({ dir, pairId: 'skew', sampleRate: 8000, blockMs: 100 });
    const pcm = new Int16Array(160).fill(1000);
    // Channel 1 runs 1 s ahead; the others write nothing.
    for (let t = 0; t < 50; t++) recorder.write(1, pcm, 160);
    const padded = recorder.stats().paddedMs;
    // Each lagging channel is held at most one block (100 ms) behind: 900 ms padded on each of three.
    expect(padded).toBe(3 * 900);
    recorder.writeSilence(2, 800);
    recorder.write(4, pcm, 160);
    const summary = await recorder.close();
    expect(summary.durationMs).toBe(1000);
    const wav = parseWav(await readFile(summary.path));
    expect(peak(wav.data[0]!)).toBe(1000);
    // Channel 4's late frame landed right after its padding (900 ms), not at the start.
    expect(peak(wav.data[3]!, 0, 7200)).toBe(0);
    expect(peak(wav.data[3]!, 7200, 7360)).toBe(1000);
  });

  it('drops blocks (counted, memory bounded) while the writer is stalled; the file stays valid with silence in the holes', async () => {
    const sink = gatedSink();
    const recorder = await PairRecorder.open({ dir, pairId: 'stalled', sampleRate: 8000, blockMs: 100, maxInFlightBlocks: 2 }, { openSink: sink.open });
    const blockBytes = 800 * 8;
    const aIn = frameOf(8000, 'A->B');
    const bIn = frameOf(8000, 'B->A');
    let maxBufferBytes = 0;
    for (let t = 0; t < 250; t++) {
      recorder.frame('A->B', tone(aIn, TONES[0], t), null);
      recorder.frame('B->A', tone(bIn, TONES[1], t), null);
      maxBufferBytes = Math.max(maxBufferBytes, recorder.stats().bufferBytes);
    }
    // 5 s = 50 blocks: 2 in flight, 48 dropped.
    const during = recorder.stats();
    expect(during.inFlightBlocks).toBe(2);
    expect(during.droppedMs).toBe(4800);
    expect(during.droppedByReason.backpressure).toBe(48 * 800);
    await waitUntil(() => sink.pending() === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.maxPending()).toBe(2);
    // Ring (2 blocks) + at most 2 pooled block buffers, however long the stall.
    expect(maxBufferBytes).toBe(4 * blockBytes);

    sink.release();
    const summary = await recorder.close();
    expect(summary).toMatchObject({ durationMs: 5000, droppedMs: 4800, error: null });
    expect(await soxInfo(summary.path)).toEqual({ channels: 4, rate: 8000, samples: 40000 });
    const wav = parseWav(await readFile(summary.path));
    expect(peak(wav.data[0]!, 0, 1600)).toBeGreaterThan(7000);
    expect(peak(wav.data[0]!, 1600, 40000)).toBe(0);
  });

  it('writes the blocks again once a stalled writer recovers, and logs the drop streak as ended', async () => {
    const sink = gatedSink();
    const recorder = await PairRecorder.open({ dir, pairId: 'recovers', sampleRate: 8000, blockMs: 100, maxInFlightBlocks: 1 }, { openSink: sink.open });
    const aIn = frameOf(8000, 'A->B');
    for (let t = 0; t < 20; t++) onlyA(recorder, aIn, t);
    expect(recorder.stats().droppedMs).toBe(300);
    sink.release();
    await waitUntil(() => recorder.stats().inFlightBlocks === 0);
    // A disk that keeps up: one block (5 ticks) at a time, each written before the next.
    for (let t = 20; t < 40; t++) {
      onlyA(recorder, aIn, t);
      if (t % 5 === 4) await waitUntil(() => recorder.stats().inFlightBlocks === 0);
    }
    const summary = await recorder.close();
    expect(summary.droppedMs).toBe(300);
    const wav = parseWav(await readFile(summary.path));
    expect(peak(wav.data[0]!, 400 * 8, 800 * 8)).toBeGreaterThan(7000);
    expect(recorder.stats().blocksWritten).toBe(5);
  });

  it('stops at the size limit instead of writing a header that lies', async () => {
    const recorder = await PairRecorder.open({ dir, pairId: 'capped', sampleRate: 8000, blockMs: 100, maxInFlightBlocks: 32, maxDataBytes: 8000 * 8 });
    const aIn = frameOf(8000, 'A->B');
    for (let t = 0; t < 150; t++) onlyA(recorder, aIn, t);
    const summary = await recorder.close();
    expect(summary).toMatchObject({ durationMs: 1000, droppedMs: 2000, bytes: WAV_HEADER_BYTES + 64000 });
    expect(recorder.stats().droppedByReason.size_limit).toBe(16000);
    expect(await soxInfo(summary.path)).toEqual({ channels: 4, rate: 8000, samples: 8000 });
    expect(() => new PairRecorder({ dir, pairId: 'too_big', sampleRate: 8000, maxDataBytes: MAX_WAV_DATA_BYTES + 8 })).toThrow(ConfigError);
  });

  it('says "unknown size" in the header while recording, so a crashed recording still reads', async () => {
    const sink = gatedSink();
    sink.release();
    const recorder = await PairRecorder.open({ dir, pairId: 'in_progress', sampleRate: 8000, blockMs: 100 }, { openSink: sink.open });
    const aIn = frameOf(8000, 'A->B');
    for (let t = 0; t < 10; t++) onlyA(recorder, aIn, t);
    await waitUntil(() => recorder.stats().blocksWritten === 2);
    const live = await readFile(recorder.path);
    expect(live.readUInt32LE(4)).toBe(0xffffffff);
    expect(live.readUInt32LE(64)).toBe(0xffffffff);
    expect(live.length).toBe(WAV_HEADER_BYTES + 2 * 800 * 8);
    await recorder.close();
    const done = await readFile(recorder.path);
    expect(done.readUInt32LE(64)).toBe(2 * 800 * 8);
  });

  it('close() is idempotent and later frames are ignored', async () => {
    const recorder = await PairRecorder.open({ dir, pairId: 'idempotent', sampleRate: 16000 });
    const aIn = frameOf(16000, 'A->B');
    for (let t = 0; t < 10; t++) onlyA(recorder, aIn, t);
    const first = recorder.close();
    const second = recorder.close();
    expect(second).toBe(first);
    const summary = await first;
    recorder.frame('A->B', aIn, aIn);
    recorder.write(1, aIn.pcm, aIn.samples);
    expect(await recorder.close()).toEqual(summary);
    expect(summary.durationMs).toBe(200);
    expect((await stat(summary.path)).size).toBe(summary.bytes);
    expect(recorder.closed).toBe(true);
  });

  it('reports a directory it cannot create (open rejects; a constructed recorder drops and says why)', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await expect(PairRecorder.open({ dir: join(blocker, 'sub'), pairId: 'nope', sampleRate: 8000 })).rejects.toThrow();

    const recorder = new PairRecorder({ dir: join(blocker, 'sub'), pairId: 'nope', sampleRate: 8000, blockMs: 100 });
    await expect(recorder.ready).rejects.toThrow();
    const aIn = frameOf(8000, 'A->B');
    for (let t = 0; t < 10; t++) onlyA(recorder, aIn, t);
    const summary = await recorder.close();
    expect(summary.bytes).toBe(0);
    expect(summary.droppedMs).toBe(200);
    expect(summary.error).toMatch(/cannot create/);
    expect(recorder.stats().droppedByReason.open_failed).toBe(1600);
  });

  it('counts a failing write as dropped and reports it in the summary', async () => {
    let writes = 0;
    const failing: RecordingSinkOpener = async (path) => {
      const file = await openFileSink(path);
      return {
        async write(data, position) {
          if (position >= WAV_HEADER_BYTES && ++writes === 1) throw new Error('ENOSPC: no space left on device');
          await file.write(data, position);
        },
        truncate: (length) => file.truncate(length),
        close: () => file.close(),
      } satisfies RecordingSink;
    };
    const recorder = await PairRecorder.open({ dir, pairId: 'failing', sampleRate: 8000, blockMs: 100 }, { openSink: failing });
    const aIn = frameOf(8000, 'A->B');
    for (let t = 0; t < 5; t++) onlyA(recorder, aIn, t);
    await waitUntil(() => recorder.stats().error !== null);
    for (let t = 5; t < 20; t++) onlyA(recorder, aIn, t);
    const summary = await recorder.close();
    expect(summary.error).toMatch(/ENOSPC/);
    expect(recorder.stats().droppedByReason.write_failed).toBeGreaterThan(0);
    // The first block failed; the file is not written to again after a failure.
    expect(summary.droppedMs).toBe(400);
    expect(writes).toBe(1);
    // Still a readable file with the header fixed.
    expect(await soxInfo(summary.path)).toMatchObject({ channels: 4, samples: 3200 });
  });

  it('leaves no stray files behind for refused pairs', async () => {
    const names = await readdir(dir);
    expect(names.some((n) => n.includes('escape'))).toBe(false);
  });
});
