import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { MediaFrame, PipelineStage, StageContext } from '../stage.js';
import type { TranscriptEvent } from '../transcript-event.js';
import type { SpeechHooks, SpeechStage, SpeechStageOpener } from './speech-stage.js';
import { TranscriptAssembler } from './transcript-assembler.js';

/** A voice activity detector stream as the pipeline uses it (the Silero VadStream fits). */
export interface VadInput {
  push(pcm: Int16Array, samples: number, sampleRate: 8000 | 16000): void;
  close(): void;
}

export type VadDecision = { type: 'speech_start'; startMs: number } | { type: 'speech_end'; startMs: number; endMs: number };

/** Opens a VAD stream; `streamId` names it in logs (e.g. "pair_007 A->B"). */
export type VadOpener = (sampleRate: 8000 | 16000, onDecision: (decision: VadDecision) => void, streamId: string) => VadInput;

/** What one direction reports besides transcripts. */
export type DirectionEvent =
  | { type: 'speech'; state: 'start' | 'end'; atMs: number }
  | { type: 'mark'; name: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'connection'; state: 'connected' | 'disconnected'; detail: string }
  /**
   * One utterance, end of speech → first translated audio injected. providerMs
   * is the wait for the provider's first audio after the speech ended;
   * tandemMs is Tandem's own part: the speech's wait in the jitter buffer on
   * the way in plus the answer's wait for its tick on the way out.
   */
  | {
      type: 'latency';
      utteranceEndMs: number;
      totalMs: number;
      providerMs: number;
      tandemMs: number;
      /** Of tandemMs: the speech's wait in the jitter buffer and for its tick (de-jitter, on the way in). */
      ingressMs: number;
      /** Of tandemMs: from the provider's first answer audio to its first frame on the wire (on the way out). */
      egressMs: number;
    };

export interface TranslationSink {
  transcript(event: TranscriptEvent): void;
  event(event: DirectionEvent): void;
}

export interface TranslatingStageOptions {
  context: StageContext;
  /** Rate of the frames the leg delivers (the codec's). */
  sampleRate: 8000 | 16000;
  languages: { source: string; target: string };
  openSpeech: SpeechStageOpener;
  /** Null: no VAD (the provider finds turns itself). */
  openVad: VadOpener | null;
  sink: TranslationSink;
  log: Logger;
  /** Send silence frames while there is nothing to play (default), or nothing. */
  between?: 'silence' | 'nothing';
}

/** Wall-clock time of each of the last frames offered to the provider, for latency (2^10 × 20 ms ≈ 20 s). */
const FRAME_RING = 1024;
/** An utterance whose answer has not been injected within this long stops being measured. */
const LATENCY_GIVE_UP_MS = 30_000;

interface PendingLatency {
  endWallMs: number;
  ingressMs: number;
  utteranceEndMs: number;
  answerAtMs: number;
}

/**
 * One direction of a translated pair: the speaker's frames go to the VAD and
 * to the provider as they arrive; what the provider answers is what the
 * listener hears. The VAD's decisions are sent to the provider as endpointing
 * hints and reported (barge-in is decided by the pair, which sees both
 * directions). Runs on the worker's tick: nothing here waits.
 */
export class TranslatingStage implements PipelineStage {
  readonly #context: StageContext;
  readonly #speech: SpeechStage;
  readonly #vad: VadInput | null;
  readonly #sink: TranslationSink;
  readonly #assembler: TranscriptAssembler;
  readonly #log: Logger;
  readonly #frameWall = new Float64Array(FRAME_RING);
  #framesOffered = 0;
  #frameMs = 20;
  #pending: PendingLatency | null = null;
  #ingressMs = 0;
  #speaking = false;
  #closed = false;
  #vadErrors = 0;
  readonly #silence: MediaFrame | null;

  constructor(options: TranslatingStageOptions) {
    this.#context = options.context;
    this.#sink = options.sink;
    this.#log = options.log;
    this.#assembler = new TranscriptAssembler(options.context, options.languages, (event) => this.#report(() => this.#sink.transcript(event)));
    const hooks: SpeechHooks = {
      transcript: (message) => this.#assembler.transcript(message, performance.now()),
      translation: (message) => this.#assembler.translation(message, performance.now()),
      mark: (name) => this.#report(() => this.#sink.event({ type: 'mark', name })),
      audio: () => this.#onAnswerAudio(),
      error: (code, message) => this.#report(() => this.#sink.event({ type: 'error', code, message })),
      connection: (state, detail) => this.#report(() => this.#sink.event({ type: 'connection', state, detail })),
    };
    this.#speech = options.openSpeech(hooks);
    const samples = options.sampleRate / 50;
    this.#silence =
      options.between === 'nothing'
        ? null
        : { ...options.context, pcm: new Int16Array(samples), samples, sampleRate: options.sampleRate, rtpTimestamp: 0, status: 'silence' };
    this.#vad = options.openVad === null ? null : options.openVad(options.sampleRate, (decision) => this.#onVad(decision), `${options.context.pairId} ${options.context.direction}`);
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  process(frame: MediaFrame | null): MediaFrame | null {
    if (this.#closed) return null;
    const now = performance.now();
    if (frame !== null && frame.samples > 0 && (frame.status === 'audio' || frame.status === 'concealed')) {
      this.#frameMs = (frame.samples * 1000) / frame.sampleRate;
      this.#frameWall[this.#framesOffered % FRAME_RING] = now;
      this.#framesOffered++;
      this.#ingressMs = frame.ingressDelayMs ?? 0;
      if (this.#vad !== null && (frame.sampleRate === 8000 || frame.sampleRate === 16000)) {
        try {
          this.#vad.push(frame.pcm, frame.samples, frame.sampleRate);
        } catch (err) {
          if (this.#vadErrors++ === 0) this.#log.error({ err: errorMessage(err), pairId: this.#context.pairId }, 'VAD push failed');
        }
      }
    }
    const output = this.#speech.process(frame);
    if ((this.#framesOffered & 63) === 0) this.#assembler.expire(now);
    if (output === null) return this.#silence;
    this.#onInjected(now);
    return output;
  }

  flush(): void {
    if (!this.#closed) this.#speech.flush();
  }

  stats(): object {
    return { speech: this.#speech.stats(), framesOffered: this.#framesOffered, vadErrors: this.#vadErrors };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#vad?.close();
    this.#speech.close();
    this.#assembler.close();
  }

  #onVad(decision: VadDecision): void {
    if (this.#closed) return;
    if (decision.type === 'speech_start') {
      this.#speaking = true;
      this.#speech.speechStarted(decision.startMs);
      this.#report(() => this.#sink.event({ type: 'speech', state: 'start', atMs: decision.startMs }));
      return;
    }
    this.#speaking = false;
    this.#speech.speechEnded(decision.endMs);
    const frame = Math.max(0, Math.ceil(decision.endMs / this.#frameMs) - 1);
    // The ring holds the last FRAME_RING frames; an end older than that cannot be timed.
    if (frame >= this.#framesOffered - FRAME_RING && frame < this.#framesOffered) {
      this.#pending = { endWallMs: this.#frameWall[frame % FRAME_RING]!, ingressMs: this.#ingressMs, utteranceEndMs: decision.endMs, answerAtMs: Number.NaN };
    }
    this.#report(() => this.#sink.event({ type: 'speech', state: 'end', atMs: decision.endMs }));
  }

  #onAnswerAudio(): void {
    const pending = this.#pending;
    if (pending !== null && Number.isNaN(pending.answerAtMs)) pending.answerAtMs = performance.now();
  }

  #onInjected(now: number): void {
    const pending = this.#pending;
    if (pending === null) return;
    if (now - pending.endWallMs > LATENCY_GIVE_UP_MS) {
      this.#pending = null;
      return;
    }
    if (Number.isNaN(pending.answerAtMs)) return;
    this.#pending = null;
    const providerMs = pending.answerAtMs - pending.endWallMs;
    const egressMs = now - pending.answerAtMs;
    const ingressMs = pending.ingressMs;
    const tandemMs = ingressMs + egressMs;
    this.#report(() =>
      this.#sink.event({ type: 'latency', utteranceEndMs: pending.utteranceEndMs, totalMs: providerMs + tandemMs, providerMs, tandemMs, ingressMs, egressMs }),
    );
  }

  /** A failing sink must not break the tick. */
  #report(send: () => void): void {
    try {
      send();
    } catch (err) {
      this.#log.warn({ err: errorMessage(err), pairId: this.#context.pairId }, 'translation event dropped: sink failed');
    }
  }
}
