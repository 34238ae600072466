import type { MediaFrame, PipelineStage } from '../stage.js';
import type { TranscriptMessage, TranslationMessage } from '../streaming/protocol.js';

/**
 * What a speech-to-speech provider's stage offers the translation pipeline.
 * Each provider (Tandem's own protocol, OpenAI Realtime) adapts its emitter to
 * these hooks in providers.ts, so the pipeline never depends on one provider.
 */
export interface SpeechHooks {
  /** Recognised text of what the speaker said (partial or final). */
  transcript: (message: TranscriptMessage) => void;
  /** The translated text of an utterance (partial or final). */
  translation: (message: TranslationMessage) => void;
  /** A provider mark whose audio has been played (or dropped, so it never will be). */
  mark: (name: string) => void;
  /** Translated audio arrived and was queued for playback. */
  audio: (samples: number) => void;
  error: (code: string, message: string) => void;
  connection: (state: 'connected' | 'disconnected', detail: string) => void;
}

export interface SpeechStage extends PipelineStage {
  /** Sends one frame of the speaker's audio now (ahead of its tick); process() will not send a frame marked `heard`. */
  hear(frame: MediaFrame): void;
  /** Tandem's VAD heard the speaker start, at `atMs` on this direction's audio timeline. */
  speechStarted(atMs: number): void;
  /** Tandem's VAD heard the speaker stop. */
  speechEnded(atMs: number): void;
  stats(): object;
  /** Translated audio is queued for the listener (or a mark still waits for its audio to play). */
  playing(): boolean;
  /**
   * The provider is still producing an answer the stage knows of (a cascade's recognized words awaiting their
   * final, translation or synthesis; a Realtime response in progress; a Tandem-protocol final translation
   * whose audio or mark has not come yet). With playing() and the VAD, this is the direction's pause
   * (TranslatingStage.idle).
   */
  answering(): boolean;
  /**
   * A cascade's split of the provider share of the last answered utterance
   * (recognition, translation, synthesis); absent for single-service providers.
   */
  providerShare?(): { recognitionMs: number; translationMs: number; synthesisMs: number } | null;
}

export type SpeechStageOpener = (hooks: SpeechHooks) => SpeechStage;
