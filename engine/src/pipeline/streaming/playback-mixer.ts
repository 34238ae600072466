/**
 * The playback half of a streaming stage: each tick, one frame of the
 * service's queued audio converted to the leg's rate, in duck mode mixed over
 * the attenuated original, written into one reused frame. Synchronous and
 * allocation-free once the buffers have grown to the largest frame.
 *
 * Marks are the stage's: after mix() those the read passed are due
 * (PlaybackQueue.takeReachedMark()).
 */
import type { MediaFrame, StageContext } from '../stage.js';
import type { PlaybackQueue } from './playback-queue.js';

/** Turns queued samples (at the service's rate) into samples at the leg's rate. */
export interface PlaybackConverter {
  /** Queued samples that make `outSamples` at `outRate`. */
  inputFor(outRate: number, outSamples: number): number;
  /** Converts `count` samples of src (as inputFor asked for) into dst at `outRate`. */
  convert(src: Int16Array, count: number, dst: Int16Array, outRate: number): void;
  /** The queue ran dry after playing: filter state from the last answer may be dropped here. */
  idle?(): void;
}

export interface PlaybackMixerOptions {
  queue: PlaybackQueue;
  converter: PlaybackConverter;
  context: StageContext;
  /** Rate of the frames returned while no input frame has been seen. */
  initialRate: number;
  /** translated-only: only the service's audio; duck: the original under it at duckGain. */
  mode: 'translated-only' | 'duck';
  duckGain: number;
}

/** Largest frame handled without growing a buffer: 60 ms at 16 kHz. */
const FRAME_SAMPLES = 960;

export class PlaybackMixer {
  readonly #queue: PlaybackQueue;
  readonly #converter: PlaybackConverter;
  readonly #duck: boolean;
  readonly #duckGain: number;
  readonly #out: MediaFrame;
  #buf = new Int16Array(3 * FRAME_SAMPLES);
  #lastRate: number;
  #idle = true;
  #framesPlayed = 0;

  constructor(options: PlaybackMixerOptions) {
    this.#queue = options.queue;
    this.#converter = options.converter;
    this.#duck = options.mode === 'duck';
    this.#duckGain = options.duckGain;
    this.#lastRate = options.initialRate;
    const { context } = options;
    this.#out = {
      pcm: new Int16Array(FRAME_SAMPLES),
      samples: 0,
      sampleRate: this.#lastRate,
      pairId: context.pairId,
      srcExt: context.srcExt,
      direction: context.direction,
      rtpTimestamp: 0,
      status: 'audio',
    };
  }

  /** Ticks that played queued audio. */
  get framesPlayed(): number {
    return this.#framesPlayed;
  }

  /**
   * This tick's playback, as long as `frame` (or 20 ms at the last rate seen
   * when there is no input): the next queued audio, over the ducked original
   * in duck mode; null when nothing is queued and there is nothing to duck.
   * The frame returned is reused on the next call.
   */
  mix(frame: MediaFrame | null): MediaFrame | null {
    const hasInput = frame !== null && frame.samples > 0;
    if (hasInput) this.#lastRate = frame.sampleRate;
    const outRate = this.#lastRate;
    const outSamples = hasInput ? frame.samples : outRate / 50;
    const original = this.#duck && hasInput && frame.status !== 'silence' ? frame : null;
    if (this.#queue.length === 0) {
      if (!this.#idle) {
        this.#converter.idle?.();
        this.#idle = true;
      }
      return original !== null ? this.#fillOut(original, outRate, outSamples, 0) : null;
    }
    this.#idle = false;
    const need = this.#converter.inputFor(outRate, outSamples);
    if (this.#buf.length < need) this.#buf = new Int16Array(need);
    const got = this.#queue.read(this.#buf, 0, need);
    // The tail of the last frame of an answer is padded with silence.
    if (got < need) this.#buf.fill(0, got, need);
    this.#framesPlayed++;
    return this.#fillOut(original, outRate, outSamples, need);
  }

  /** Writes `need` samples of #buf converted to outRate (silence when 0) plus the ducked original. */
  #fillOut(original: MediaFrame | null, outRate: number, outSamples: number, need: number): MediaFrame {
    const out = this.#out;
    if (out.pcm.length < outSamples) out.pcm = new Int16Array(outSamples);
    const pcm = out.pcm;
    if (need === 0) pcm.fill(0, 0, outSamples);
    else this.#converter.convert(this.#buf, need, pcm, outRate);
    if (original !== null) {
      const gain = this.#duckGain;
      const src = original.pcm;
      for (let i = 0; i < outSamples; i++) {
        const v = pcm[i]! + Math.round(src[i]! * gain);
        pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
      out.rtpTimestamp = original.rtpTimestamp;
    }
    out.samples = outSamples;
    out.sampleRate = outRate;
    out.status = 'audio';
    return out;
  }
}
