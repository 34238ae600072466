import type { Direction, MediaFrame, PipelineStage } from '../pipeline/index.js';
import type { RtpLeg } from './rtp-leg.js';

/**
 * One direction of a pair (A->B or B->A), run on every tick: the source leg's
 * jitter buffer yields at most one frame, the stage decides what the opposite
 * leg hears, and the destination leg sends it. All buffers are allocated once.
 */
export class MediaDirection {
  readonly direction: Direction;
  readonly #source: RtpLeg;
  readonly #destination: RtpLeg;
  readonly #stage: PipelineStage;
  readonly #frame: MediaFrame;

  constructor(pairId: string, direction: Direction, source: RtpLeg, destination: RtpLeg, stage: PipelineStage) {
    this.direction = direction;
    this.#source = source;
    this.#destination = destination;
    this.#stage = stage;
    this.#frame = {
      pcm: new Int16Array(source.codec.frameSamples),
      samples: source.codec.frameSamples,
      sampleRate: source.codec.sampleRate,
      pairId,
      srcExt: source.ext,
      direction,
      rtpTimestamp: 0,
      status: 'audio',
    };
  }

  tick(nowMs: number): void {
    const frame = this.#frame;
    const result = this.#source.jitter.pop(nowMs, frame.pcm);
    let input: MediaFrame | null = null;
    if (result !== 'waiting') {
      frame.status = result;
      frame.samples = this.#source.codec.frameSamples;
      frame.rtpTimestamp = this.#source.jitter.lastPlayedTimestamp;
      input = frame;
    }
    const output = this.#stage.process(input);
    if (output === null) this.#destination.idleTick();
    else this.#destination.sendPcm(output.pcm, output.samples, output.sampleRate);
  }

  close(): void {
    this.#stage.close();
  }
}
