/**
 * The seam between the two legs of a pair. Each direction (A→B, B→A) runs one
 * stage chain on the worker's 20 ms tick: the source leg's jitter buffer yields a
 * frame, the stage turns it into what the opposite leg should hear this tick.
 * The identity stage makes the engine a transparent duplex; translation stages
 * slot in here without the legs knowing.
 */
export type Direction = 'A->B' | 'B->A';

export type FrameStatus = 'audio' | 'concealed' | 'silence';

export interface MediaFrame {
  /** PCM, valid for `samples` samples. Owned by the caller and reused on the next tick: copy what you keep. */
  pcm: Int16Array;
  samples: number;
  sampleRate: number;
  pairId: string;
  /** The extension whose speech this is (EXT_A for A->B). */
  srcExt: string;
  direction: Direction;
  /** RTP timestamp of the source frame, in the source stream's clock. */
  rtpTimestamp: number;
  status: FrameStatus;
  /** Roughly how long this frame's audio waited in Tandem before this tick (jitter buffer + tick alignment), ms. */
  ingressDelayMs?: number;
  /**
   * How late this frame arrived against its stream's own timing (JitterBuffer ArrivalLateness): sender lateness,
   * network jitter, or time in the kernel's queue while the worker was busy. Not part of ingressDelayMs.
   */
  arrivalLatenessMs?: number;
  /** At a tick: the stage already had this frame through `hear` (or it stands in for one `hear` may still get), so it must not forward it again. */
  heard?: boolean;
}

export interface PipelineStage {
  /**
   * Called once per tick. `frame` is null when the source has nothing to play
   * (not started, or idle). Returns the frame to send to the opposite leg now,
   * or null to send nothing this tick. Must not block: asynchronous work belongs
   * behind a queue whose output this method drains.
   */
  process(frame: MediaFrame | null): MediaFrame | null;
  /**
   * Optional, for a stage that forwards the speaker's audio to recognition: each frame as soon as it has
   * arrived in sequence, ahead of its tick (a recogniser buffers for itself; the jitter buffer's wait is for
   * listeners). The same frame still comes to process() at its tick, marked `heard`, for whatever the tick
   * does with its input (ducking, recording). Must not block or throw.
   */
  hear?(frame: MediaFrame): void;
  /**
   * Optional: the direction hands the stage a way to run an extra tick now. A stage whose output has paused
   * (it returned null) calls it when it has something to play again, so the first frame of the new talkspurt
   * leaves at once instead of at the next tick of the old phase; the ticks then follow 20 ms after it.
   */
  setWake?(wake: () => void): void;
  /**
   * Optional: whether replacing the stage now would cut nothing off (MediaDirection.replaceStageAtPause swaps
   * a stage only then, or at its bound): the speaker is not in speech, no utterance awaits its answer and none
   * of an answer is left to play. Absent: always idle (a stage that holds nothing across ticks, like the
   * identity duplex). Called once per tick while a swap waits, so it must be cheap and must not throw.
   */
  idle?(): boolean;
  /** Drops anything queued for output (e.g. the listener started talking). */
  flush(): void;
  close(): void;
}

export type StageFactory = (context: StageContext) => PipelineStage;

export interface StageContext {
  pairId: string;
  direction: Direction;
  srcExt: string;
  dstExt: string;
}
