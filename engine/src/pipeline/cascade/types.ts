/**
 * The three parts of a cascade direction (docs/cascade.md): a recognizer
 * (streaming audio in, partial and final text out), a translator (text in,
 * text out) and a synthesizer (text in, audio out as it is produced). Each is
 * small so a provider adapter is only its protocol; the CascadeStage owns the
 * tick contract, playback, queues, timeouts and the latency split.
 */
import type { EventSource } from '../providers/types.js';
import type { MediaFrame } from '../stage.js';

export interface RecognizedText {
  text: string;
  final: boolean;
  /** On the recognizer's audio timeline (ms since the session's first sample). */
  startMs: number;
  endMs: number;
  /** 0..1, when the service gives one. */
  confidence: number | null;
  /** Of a partial: how many leading words the service has settled and will not revise (Deepgram's is_final segments). */
  stableWords?: number;
}

export type CascadeRecognizerEvents = {
  transcript: [result: RecognizedText];
  /** A failure the direction survives (counted); `code` is short and stable. */
  error: [code: string, message: string];
  connection: [state: 'connected' | 'disconnected', detail: string];
  listenererror: [event: string, error: unknown];
};

/** One direction's recognition session: fed from the 20 ms tick, so nothing here may wait. */
export interface CascadeRecognizer extends EventSource<CascadeRecognizerEvents> {
  readonly name: string;
  /** One frame of the speaker's audio (8 or 16 kHz); dropped and counted when the service cannot take it. */
  pushAudio(frame: MediaFrame): void;
  /** Tandem's VAD heard the speaker stop: finish the utterance now rather than wait for the service's endpointing. */
  endOfSpeech(): void;
  stats(): object;
  close(): void;
}

export interface TranslateRequest {
  sourceLanguage: string;
  targetLanguage: string;
  signal: AbortSignal;
}

/** Text translation; may be shared by every direction of a worker (it is stateless per call). */
export interface CascadeTranslator {
  readonly name: string;
  /** Rejects with a ProviderError (providers/types.ts) on failure or abort. */
  translate(text: string, request: TranslateRequest): Promise<string>;
  /** The direction is done with it (a shared translator closes when the last user releases it). */
  release(): void;
  /** Counters worth reporting with the stage's (a fallback's state). */
  stats?(): object;
}

export interface SpeakRequest {
  language: string;
  signal: AbortSignal;
  /** Audio as it arrives: mono s16 at the synthesizer's sampleRate. Called zero or more times before the promise settles. */
  onAudio: (pcm: Int16Array) => void;
}

/** Streaming synthesis for one direction. */
export interface CascadeSynthesizer {
  readonly name: string;
  /** Rate of the audio onAudio gets (asked of the service to match the leg, so Tandem does not resample twice). */
  readonly sampleRate: 8000 | 16000;
  /** Resolves when the utterance's audio is complete; rejects with a ProviderError. */
  speak(text: string, request: SpeakRequest): Promise<void>;
  close(): void;
  stats?(): object;
}
