/**
 * The shapes a VAD stream shares with its engine and its listeners: the events it emits, its stats,
 * and the chunk and host contracts between a stream's core and the engine that batches its chunks.
 */
import type { StreamCore } from './stream-core.js';

export interface VadSpeechStart {
  type: 'speech_start';
  /** On the stream's audio timeline: ms of audio pushed before the utterance began (padding included). */
  startMs: number;
  /** performance.now() when the event was decided. */
  detectedAt: number;
}

export interface VadSpeechEnd {
  type: 'speech_end';
  startMs: number;
  endMs: number;
  /** On the audio timeline: how much audio the decision needed (endMs plus the silence that confirmed it, to a whole window). */
  decidedMs: number;
  detectedAt: number;
}

export type VadEvent = VadSpeechStart | VadSpeechEnd;

export interface VadStreamError {
  type: 'error';
  message: string;
  detectedAt: number;
}

export type VadStreamEvents = {
  vad: [event: VadEvent];
  /** The model failed on this stream's audio; the stream stopped detecting (state 'error'). */
  error: [error: VadStreamError];
  listenererror: [event: string, error: unknown];
};

export type VadStreamState = 'active' | 'error' | 'closed';

export interface VadStreamStats {
  state: VadStreamState;
  /** 0 until the first push. */
  sampleRate: number;
  /** Audio pushed so far, in ms. */
  audioMs: number;
  chunks: number;
  inferences: number;
  skippedByGate: number;
  /** Chunks the gate had decided that went to the model afterwards, as a pre-roll (counted in inferences too). */
  preRolled: number;
  /** Chunks the gate decided during an utterance's end that the model then heard for its state only (counted in inferences too). */
  warmed: number;
  /** Model state restarts after a long gated gap (adaptiveGate.stateResetAfterMs). */
  stateResets: number;
  droppedChunks: number;
  queuedChunks: number;
  /** Failed model runs this stream's chunk was part of. */
  errors: number;
  utterances: number;
  inSpeech: boolean;
}

/** A chunk waiting for (or in) inference. */
export interface QueuedChunk {
  /** context + window floats; owned by the stream, recycled after use. */
  input: Float32Array;
  /** First sample of the window on the stream's timeline (current rate). */
  start: number;
  /** Below the energy gate: decided as probability 0 without the model. */
  gated: boolean;
  /** Under the absolute floor: nothing for a pre-roll to give the model. */
  silent: boolean;
  /** Its probability goes to the segmenter; false for a pre-roll chunk the gate already decided while it mattered. */
  decide: boolean;
  /** Zero the model state before this chunk (the first after a gap the model did not see). */
  resetState: boolean;
  /** performance.now() when it was queued: its decision time is measured from here. */
  queuedAt: number;
}

/** What a stream needs from its engine. */
export interface StreamHost {
  /** The stream has a chunk for the model and none in flight. */
  ready(core: StreamCore): void;
  /** The stream will never have work again (closed or failed). */
  detach(core: StreamCore): void;
  countGated(): void;
  countDropped(): void;
  countPreRolled(): void;
  countWarmed(): void;
}
