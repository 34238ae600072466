/**
 * Per-pair call recording: one 4-channel 16-bit PCM WAV per pair, at the
 * pair's codec rate, with both legs' original speech and what each listener
 * heard. WAV while the call is up: uncompressed PCM costs no CPU on the tick (format 'opus'
 * transcodes the finished file off the packet path, opus-transcode.ts).
 *
 *   channel 1  leg A original (what A's party said)
 *   channel 2  leg B original
 *   channel 3  what B hears (the A->B stage's output: translation or ducked mix)
 *   channel 4  what A hears (the B->A stage's output)
 *
 * The 20 ms tick of each direction calls `frame(direction, input, output)` with
 * the frame it popped from the source leg (or null) and the frame the stage
 * returned (or null). Every call advances that direction's two channels by the
 * same amount, writing silence for a missing side, so the file stays sample
 * aligned whatever the stage does. `write()` / `writeSilence()` are the
 * per-channel primitives underneath, for callers that feed channels separately;
 * a channel that falls more than one block behind the others is padded with
 * silence (`paddedMs`), so one stalled direction cannot hold the file back.
 *
 * The tick never waits on the disk. Samples go into a preallocated interleaved
 * ring of two blocks (blockMs each, interleaved-ring.ts); every completed block is copied into a
 * pooled buffer and handed to an async positional write, with at most
 * `maxInFlightBlocks` writes outstanding. A block that finds them all busy is
 * dropped and counted (`droppedMs`, reason logged once per streak). Because
 * every block is written at its own offset, a dropped block leaves a hole that
 * reads as silence: the recording keeps the call's timeline. Memory per pair is
 * bounded by (2 + maxInFlightBlocks) blocks (4 ch · 16 kHz · 1 s = 128 KiB each).
 *
 * close() flushes the tail, rewrites the RIFF and data sizes (so the file is a
 * valid WAV; while recording they say "unknown", so a file left by a crash
 * still reads up to its end), closes the file and resolves a summary for the
 * session record. The WAV size limit (~4 GiB, MAX_WAV_DATA_BYTES) is enforced
 * by dropping audio past it with reason `size_limit`; RF64 is not written.
 */
import { mkdir } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../../../common/src/errors.js';
import { logger, type Logger } from '../../../../common/src/logger.js';
import { parseConfig } from '../../../../common/src/parse-config.js';
import type { Direction, MediaFrame } from '../stage.js';
import { DropTally } from './drop-tally.js';
import { InterleavedRing } from './interleaved-ring.js';
import { ChannelRateConverter } from './rate-converter.js';
import { openFileSink, type RecordingSink, type RecordingSinkOpener } from './sink.js';
import { WAV_HEADER_BYTES, wavHeader } from './wav.js';
import {
  PairRecorderOptionsSchema,
  type PairRecorderDeps,
  type PairRecorderOptions,
  type PairRecorderSettings as Settings,
  type RecordingChannel,
  type RecordingStats,
  type RecordingSummary,
} from './recording-config.js';

export {
  PairRecorderOptionsSchema,
  RecordingConfigSchema,
  RecordingChannels,
  type PairRecorderDeps,
  type PairRecorderOptions,
  type RecordingConfig,
  type RecordingChannel,
  type RecordingDropReason,
  type RecordingStats,
  type RecordingSummary,
} from './recording-config.js';

const CHANNELS = 4;
const BLOCK_ALIGN = CHANNELS * 2;
const BIG_ENDIAN = endianness() === 'BE';

type State = 'opening' | 'open' | 'failed' | 'closing' | 'closed';

/** A compact ISO 8601 (basic format) UTC time: no ':' in file names. */
function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

export class PairRecorder {
  readonly path: string;
  readonly pairId: string;
  readonly sampleRate: 8000 | 16000;
  readonly channels = CHANNELS;

  readonly #settings: Settings;
  readonly #log: Logger;
  readonly #blockFrames: number;
  readonly #ring: InterleavedRing;
  readonly #capFrames: number;
  readonly #tickFrames: number;

  readonly #pool: Buffer[] = [];
  #allocatedBuffers = 0;
  readonly #inFlight = new Set<Promise<void>>();

  readonly #ready: Promise<void>;
  #sink: RecordingSink | null = null;
  #state: State = 'opening';
  #error: string | null = null;
  #closing: Promise<RecordingSummary> | null = null;

  readonly #rates: ChannelRateConverter;
  readonly #drops: DropTally;
  #blocksWritten = 0;
  #rateErrors = 0;

  /**
   * Starts creating the file in the background (see `ready`); frames may be
   * written at once. ConfigError for bad options, naming the key (e.g. pairId).
   */
  constructor(options: PairRecorderOptions, deps: PairRecorderDeps = {}) {
    this.#settings = parseConfig(PairRecorderOptionsSchema, options, 'recording');
    const s = this.#settings;
    this.pairId = s.pairId;
    this.sampleRate = s.sampleRate;
    this.#log = logger('pipeline.recording', { pairId: s.pairId });
    const dir = resolve(s.dir);
    this.path = join(dir, `${s.pairId}-${fileTimestamp((deps.now ?? (() => new Date()))())}.wav`);
    this.#blockFrames = (s.sampleRate * s.blockMs) / 1000;
    this.#ring = new InterleavedRing(CHANNELS, this.#blockFrames, (start, frames) => this.#emit(start, frames));
    this.#capFrames = Math.floor(s.maxDataBytes / BLOCK_ALIGN);
    this.#tickFrames = Math.max(1, Math.round((s.sampleRate * s.tickMs) / 1000));
    this.#rates = new ChannelRateConverter(s.sampleRate, CHANNELS);
    this.#drops = new DropTally(this.#log, { path: this.path, maxInFlightBlocks: s.maxInFlightBlocks }, (frames) => this.#framesToMs(frames));
    this.#ready = this.#open(dir, deps.openSink ?? openFileSink);
    // Awaited by writes and close(); this only keeps an early failure from being "unhandled".
    this.#ready.catch(() => undefined);
  }

  /** Creates the recorder and waits until its file exists; rejects (after cleaning up) if it cannot. */
  static async open(options: PairRecorderOptions, deps: PairRecorderDeps = {}): Promise<PairRecorder> {
    const recorder = new PairRecorder(options, deps);
    try {
      await recorder.ready;
    } catch (err) {
      await recorder.close();
      throw err;
    }
    return recorder;
  }

  /** Resolves once the file is created and its provisional header written; rejects if that failed. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /**
   * One tick of one direction: `input` is what the source leg's party said
   * (null when its jitter buffer had nothing), `output` what the stage sent to
   * the other leg (null when it sent nothing). Both channels of the direction
   * advance by the longer of the two (tickMs when both are null); the shorter
   * is completed with silence. Frames are copied; rates 8000/16000 accepted.
   */
  frame(direction: Direction, input: MediaFrame | null, output: MediaFrame | null): void {
    if (this.#closing !== null) return;
    const inCh: RecordingChannel = direction === 'A->B' ? 1 : 2;
    const outCh: RecordingChannel = direction === 'A->B' ? 3 : 4;
    const inN = input === null ? 0 : this.#rates.convertedLength(input.samples, input.sampleRate);
    const outN = output === null ? 0 : this.#rates.convertedLength(output.samples, output.sampleRate);
    const n = Math.max(inN, outN, 0) || this.#tickFrames;
    this.#writeFrame(inCh, input, inN, n);
    this.#writeFrame(outCh, output, outN, n);
  }

  /** Appends `samples` samples of `pcm` (at `sampleRate`, default the file's) to one channel. Copies. */
  write(channel: RecordingChannel, pcm: Int16Array, samples: number, sampleRate: number = this.sampleRate): void {
    if (this.#closing !== null) return;
    const c = channelIndex(channel);
    const count = Math.max(0, Math.min(samples, pcm.length));
    if (sampleRate === this.sampleRate) {
      this.#ring.put(c, pcm, count);
      return;
    }
    const n = this.#rates.convertedLength(count, sampleRate);
    if (n < 0) {
      this.#rateErrors++;
      return;
    }
    this.#ring.put(c, this.#rates.resample(c, pcm, count, sampleRate), n);
  }

  /** Appends `samples` samples (at the file's rate) of silence to one channel. */
  writeSilence(channel: RecordingChannel, samples: number): void {
    if (this.#closing !== null || samples <= 0) return;
    this.#ring.put(channelIndex(channel), null, Math.floor(samples));
  }

  stats(): RecordingStats {
    return {
      path: this.path,
      durationMs: this.#framesToMs(this.#ring.maxCursor()),
      droppedMs: this.#framesToMs(this.#drops.droppedFrames),
      paddedMs: this.#framesToMs(this.#ring.paddedFrames),
      droppedByReason: { ...this.#drops.droppedByReason },
      blocksWritten: this.#blocksWritten,
      blocksDropped: this.#drops.blocksDropped,
      inFlightBlocks: this.#inFlight.size,
      bufferBytes: this.#ring.byteLength + this.#allocatedBuffers * this.#blockFrames * BLOCK_ALIGN,
      rateErrors: this.#rateErrors,
      error: this.#error,
    };
  }

  /**
   * Stops accepting audio, writes what is buffered, fixes the header's sizes
   * and closes the file. Idempotent: every call gets the same summary.
   */
  close(): Promise<RecordingSummary> {
    this.#closing ??= this.#finish();
    return this.#closing;
  }

  // ---- channels ----

  #writeFrame(c: RecordingChannel, frame: MediaFrame | null, converted: number, total: number): void {
    let written = 0;
    const idx = channelIndex(c);
    if (frame !== null && converted > 0) {
      const pcm = frame.sampleRate === this.sampleRate ? frame.pcm : this.#rates.resample(idx, frame.pcm, frame.samples, frame.sampleRate);
      this.#ring.put(idx, pcm, converted);
      written = converted;
    } else if (frame !== null && converted < 0) {
      this.#rateErrors++;
    }
    if (total > written) this.#ring.put(idx, null, total - written);
  }

  // ---- writes ----

  /** Hands frames [start, start+frames) (within one ring half) to a write, or drops them. */
  #emit(start: number, frames: number): void {
    let n = frames;
    if (start + n > this.#capFrames) {
      const over = Math.min(n, start + n - this.#capFrames);
      this.#drops.drop(over, 'size_limit');
      n -= over;
      if (n === 0) return;
    }
    if (this.#state === 'failed') {
      this.#drops.drop(n, this.#sink === null ? 'open_failed' : 'write_failed');
      return;
    }
    if (this.#inFlight.size >= this.#settings.maxInFlightBlocks) {
      this.#drops.drop(n, 'backpressure');
      return;
    }
    const buf = this.#takeBuffer();
    this.#ring.bytesAt(start, n).copy(buf, 0);
    const data = buf.subarray(0, n * BLOCK_ALIGN);
    if (BIG_ENDIAN) data.swap16();
    const write = this.#writeBlock(buf, data, WAV_HEADER_BYTES + start * BLOCK_ALIGN, n);
    this.#inFlight.add(write);
    void write.finally(() => this.#inFlight.delete(write));
  }

  /** Never rejects: a failure is counted as dropped audio and recorded in `error`. */
  async #writeBlock(buf: Buffer, data: Buffer, position: number, frames: number): Promise<void> {
    try {
      await this.#ready;
      const sink = this.#sink;
      if (sink === null || this.#state === 'failed') throw new Error('recording file is not open');
      await sink.write(data, position);
      this.#blocksWritten++;
      this.#drops.endStreak();
    } catch (err) {
      if (this.#sink !== null && this.#error === null) this.#fail(`write failed: ${errorMessage(err)}`);
      this.#drops.drop(frames, this.#sink === null ? 'open_failed' : 'write_failed');
    } finally {
      this.#pool.push(buf);
    }
  }

  #takeBuffer(): Buffer {
    const pooled = this.#pool.pop();
    if (pooled) return pooled;
    this.#allocatedBuffers++;
    return Buffer.allocUnsafe(this.#blockFrames * BLOCK_ALIGN);
  }

  #fail(message: string): void {
    this.#error ??= message;
    if (this.#state === 'open' || this.#state === 'opening') this.#state = 'failed';
    this.#log.error({ err: message, path: this.path }, 'recording failed');
  }

  // ---- lifecycle ----

  async #open(dir: string, openSink: RecordingSinkOpener): Promise<void> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      const sink = await openSink(this.path);
      try {
        await sink.write(wavHeader({ channels: CHANNELS, sampleRate: this.sampleRate }, null), 0);
      } catch (err) {
        await sink.close().catch(() => undefined);
        throw err;
      }
      this.#sink = sink;
      if (this.#state === 'opening') this.#state = 'open';
      this.#log.info({ path: this.path, sampleRate: this.sampleRate }, 'recording started');
    } catch (err) {
      this.#fail(`cannot create ${this.path}: ${errorMessage(err)}`);
      throw err;
    }
  }

  async #finish(): Promise<RecordingSummary> {
    await this.#ready.catch(() => undefined);
    if (this.#state === 'open') this.#state = 'closing';
    // The tail: bring every channel to the furthest one, then write what is left.
    const end = this.#ring.alignToMax();
    for (let at = this.#ring.emitted; at < end; ) {
      // Closing may wait for the disk: the tail is not dropped for backpressure.
      while (this.#inFlight.size >= this.#settings.maxInFlightBlocks) await Promise.race(this.#inFlight);
      const n = Math.min(this.#blockFrames, end - at);
      this.#emit(at, n);
      at += n;
      this.#ring.advanceEmitted(at);
    }
    await Promise.all([...this.#inFlight]);

    const frames = Math.min(end, this.#capFrames);
    const dataBytes = frames * BLOCK_ALIGN;
    let bytes = 0;
    const sink = this.#sink;
    if (sink !== null) {
      try {
        await sink.write(wavHeader({ channels: CHANNELS, sampleRate: this.sampleRate }, dataBytes), 0);
        // Extends over dropped tail blocks (zeros = silence) so the file holds what the header says.
        await sink.truncate(WAV_HEADER_BYTES + dataBytes);
        bytes = WAV_HEADER_BYTES + dataBytes;
      } catch (err) {
        this.#fail(`finishing the file failed: ${errorMessage(err)}`);
      }
      try {
        await sink.close();
      } catch (err) {
        this.#log.warn({ err: errorMessage(err), path: this.path }, 'closing the recording file failed');
      }
    }
    this.#state = 'closed';
    const summary: RecordingSummary = {
      path: this.path,
      format: 'wav',
      durationMs: this.#framesToMs(frames),
      bytes,
      droppedMs: this.#framesToMs(this.#drops.droppedFrames),
      paddedMs: this.#framesToMs(this.#ring.paddedFrames),
      error: this.#error,
    };
    this.#log.info({ ...summary }, 'recording closed');
    return summary;
  }

  // ---- rates ----

  #framesToMs(frames: number): number {
    return (frames * 1000) / this.sampleRate;
  }

}

function channelIndex(channel: RecordingChannel): number {
  if (channel !== 1 && channel !== 2 && channel !== 3 && channel !== 4) throw new RangeError(`recording channel must be 1..4, got ${String(channel)}`);
  return channel - 1;
}
