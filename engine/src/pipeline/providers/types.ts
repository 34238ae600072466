/**
 * What Tandem asks of a speech provider, whatever is behind it (a local
 * process, a WebSocket service, a cloud API). Four kinds:
 *
 *   recognition       audio in, transcripts out (streaming)
 *   translation       text in, text out (request/response)
 *   synthesis         text in, audio out (request/response)
 *   speech-to-speech  audio in, translated audio + transcripts out (streaming)
 *
 * Every provider has one lifecycle: `connect()` once (checks it can work:
 * binaries present, service reachable, credentials accepted), then any number
 * of sessions, then `close()`, which closes every session it opened. A session
 * belongs to one direction of one pair (`ProviderSessionContext`), holds
 * whatever state that direction needs (a socket, an utterance in progress,
 * calls in flight) and never shares it with another session; the pair closes
 * it with the direction's stage.
 *
 * Speech-to-speech sessions are pipeline stages: the StreamingStage (Tandem
 * media protocol) and an OpenAI Realtime stage are this kind, each one session
 * per direction driven by the 20 ms tick through `process()`. Their adapters
 * map their own events onto SpeechToSpeechEvents.
 *
 * Failures are ProviderErrors with a `code` from one shared list, so the engine
 * can branch (retry on `timeout`/`unavailable`, not on `unsupported_language`)
 * without knowing the provider.
 */
import type { EventMap } from '../../../../common/src/typed-emitter.js';
import type { Direction, PipelineStage } from '../stage.js';
import type { TranscriptEvent } from '../transcript-event.js';

export type ProviderKind = 'recognition' | 'translation' | 'synthesis' | 'speech-to-speech';

/** The audio rates the engine speaks (a leg's codec rate). */
export type ProviderSampleRate = 8000 | 16000;

/** Who a session works for: one direction of one pair. */
export interface ProviderSessionContext {
  pairId: string;
  /** The speaker's extension. */
  srcExt: string;
  /** The listener's extension. */
  dstExt: string;
  direction: Direction;
  /** BCP 47 tag of what the speaker speaks, e.g. "en-US". */
  sourceLanguage: string;
  /** BCP 47 tag the listener hears, e.g. "es-MX". */
  targetLanguage: string;
  /** Rate of audio the session takes and gives. */
  sampleRate: ProviderSampleRate;
}

export type ProviderErrorCode =
  /** No voice/model for the language asked for. Not worth retrying. */
  | 'unsupported_language'
  /** The request itself is wrong (bad rate, empty where not allowed). */
  | 'invalid_input'
  /** The text is longer than the provider's cap. */
  | 'text_too_long'
  /** Too much already running and queued: rejected at once instead of waiting without bound. */
  | 'overloaded'
  /** No result within the deadline. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The provider or the session was closed first. */
  | 'closed'
  /** The provider cannot work at all right now (binary missing, service unreachable). */
  | 'unavailable'
  /** Credentials refused. */
  | 'unauthorized'
  /** Anything else: the message says what. */
  | 'failed';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The subscribing half of TypedEmitter: what a consumer of events needs. */
export interface EventSource<E extends EventMap> {
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this;
}

export interface Provider {
  readonly kind: ProviderKind;
  /** Stable short name for logs and metrics ("espeak-ng", "openai-realtime", "tandem-stream"). */
  readonly name: string;
  /** Gets ready to serve (idempotent); rejects with a ProviderError when the provider cannot work. */
  connect(): Promise<void>;
  /** Closes every session, cancels what is in flight, releases everything. Idempotent. */
  close(): Promise<void>;
}

export interface ProviderSession {
  readonly context: Readonly<ProviderSessionContext>;
  readonly closed: boolean;
  /** Cancels this session's work (its pending calls reject with `closed`); synchronous, like a stage's. Idempotent. */
  close(): void;
}

// ---- recognition ----

export type RecognitionEvents = {
  /** Partial and final transcripts (translatedText stays null: recognition only). */
  transcript: [event: TranscriptEvent];
  error: [error: ProviderError];
  listenererror: [event: string, error: unknown];
};

export interface RecognitionSession extends ProviderSession, EventSource<RecognitionEvents> {
  /** Audio at the context's rate. Copies; never blocks (a provider that cannot keep up drops and counts). */
  pushAudio(pcm: Int16Array, samples: number): void;
  /** The engine's VAD heard the speaker stop: finish the current utterance now. */
  endUtterance(): void;
}

export interface Recognizer extends Provider {
  readonly kind: 'recognition';
  openSession(context: ProviderSessionContext): RecognitionSession;
}

// ---- translation ----

export interface TranslationOptions {
  sourceLanguage: string;
  targetLanguage: string;
  signal?: AbortSignal;
}

export interface TranslationSession extends ProviderSession {
  /** Translates between the context's languages; a session may keep conversational context. */
  translate(text: string, options?: { signal?: AbortSignal }): Promise<string>;
}

export interface Translator extends Provider {
  readonly kind: 'translation';
  translate(text: string, options: TranslationOptions): Promise<string>;
  openSession(context: ProviderSessionContext): TranslationSession;
}

// ---- synthesis ----

export interface SynthesisOptions {
  /** BCP 47 tag; the provider picks its voice for it or rejects with `unsupported_language`. */
  language: string;
  sampleRate: ProviderSampleRate;
  signal?: AbortSignal;
}

export interface SynthesisSession extends ProviderSession {
  /** Speaks `text` in the context's targetLanguage at the context's rate. */
  synthesize(text: string, options?: { signal?: AbortSignal }): Promise<Int16Array>;
}

export interface Synthesizer extends Provider {
  readonly kind: 'synthesis';
  /** Mono PCM at `options.sampleRate`. Rejects with a ProviderError. */
  synthesize(text: string, options: SynthesisOptions): Promise<Int16Array>;
  openSession(context: ProviderSessionContext): SynthesisSession;
}

// ---- speech-to-speech ----

export type SpeechToSpeechEvents = {
  /** What the speaker said, with its translation once the provider has it. */
  transcript: [event: TranscriptEvent];
  error: [error: ProviderError];
  listenererror: [event: string, error: unknown];
};

/**
 * One direction's stage: `process()` on every tick takes the speaker's frame
 * and returns what the listener hears now. `close()` is both the stage's and
 * the session's.
 */
export interface SpeechToSpeechSession extends ProviderSession, PipelineStage, EventSource<SpeechToSpeechEvents> {
  close(): void;
}

export interface SpeechToSpeechProvider extends Provider {
  readonly kind: 'speech-to-speech';
  openSession(context: ProviderSessionContext): SpeechToSpeechSession;
}

export type AnyProvider = Recognizer | Translator | Synthesizer | SpeechToSpeechProvider;
