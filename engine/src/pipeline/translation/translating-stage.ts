import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import type { MediaFrame, PipelineStage, StageContext } from '../stage.js';
import type { TranscriptEvent } from '../transcript-event.js';
import type { SpeechHooks, SpeechStage, SpeechStageOpener } from './speech-stage.js';
import { TranscriptAssembler } from './transcript-assembler.js';

/** A voice activity detector stream as the pipeline uses it (the Silero VadStream fits). */
export interface VadInput {
  push(pcm: Int16Array, samples: number, sampleRate: 8000 | 16000): void;
  close(): void;
}

export type VadDecision =
  | { type: 'speech_start'; startMs: number }
  /** decidedMs: on the same timeline, the audio the VAD needed to decide (endMs plus the silence that confirmed it). */
  | { type: 'speech_end'; startMs: number; endMs: number; decidedMs: number };

/** Opens a VAD stream; `streamId` names it in logs (e.g. "pair_007 A->B"). */
export type VadOpener = (sampleRate: 8000 | 16000, onDecision: (decision: VadDecision) => void, streamId: string) => VadInput;

/** What one direction reports besides transcripts. */
export type DirectionEvent =
  | { type: 'speech'; state: 'start' | 'end'; atMs: number }
  | { type: 'mark'; name: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'connection'; state: 'connected' | 'disconnected'; detail: string }
  /**
   * One utterance, end of speech → first translated audio injected, cut into
   * who spent it. totalMs = ingressMs + endpointingMs + vadMs + providerMs + egressMs;
   * tandemMs = ingressMs + vadMs + egressMs (Tandem's own processing and pacing).
   */
  | {
      type: 'latency';
      utteranceEndMs: number;
      totalMs: number;
      /** Wall time from the VAD's decision to the provider's first answer audio reaching Tandem. */
      providerMs: number;
      tandemMs: number;
      /** Of tandemMs: from the end-of-speech frame's arrival until it was offered to the VAD and the provider. */
      ingressMs: number;
      /** Of tandemMs: from the frame that completed the VAD's silence window being offered to the VAD's decision. */
      vadMs: number;
      /** Of tandemMs: from the provider's first answer audio to its first frame on the wire (on the way out). */
      egressMs: number;
      /** Neither party's processing: the configured silence (VAD minSilenceMs, less its padding) that confirms the speaker stopped. */
      endpointingMs: number;
      /**
       * Not in totalMs: how late the end-of-speech frame arrived against its stream's timing (sender, network, or
       * waiting in the kernel while the worker was busy). An upper bound on Tandem's time no timestamp sees.
       */
      arrivalLatenessMs: number;
      /** Cascade only: providerMs split into its parts (VAD end → final text, translating, translated → first audio). */
      recognitionMs?: number;
      translationMs?: number;
      synthesisMs?: number;
      /**
       * The provider's first answer audio came while Tandem's VAD still heard speech (the provider's endpointing
       * was faster than the VAD's): providerMs is 0 and egressMs runs from that audio. The parts then overlap
       * (the answer did not wait for the VAD), so totalMs, still their sum, is an upper bound of the wait.
       */
      answeredBeforeDecision?: true;
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
/**
 * After the VAD ends an utterance, the provider has this long to say anything about it (a transcript, a
 * translation, audio) before the direction counts as paused without it (idle()): a recognizer reports a short
 * utterance's first words a few hundred ms after its end, and one that heard only noise reports nothing.
 */
export const PROVIDER_FIRST_WORD_MS = 2000;

interface PendingLatency {
  endWallMs: number;
  ingressMs: number;
  arrivalLatenessMs: number;
  endpointingMs: number;
  vadMs: number;
  /** When the VAD's decision reached this stage: the provider is timed from here. */
  decisionWallMs: number;
  utteranceEndMs: number;
  answerAtMs: number;
  /** The answer came before the decision (TranslatingStage's #early). */
  beforeDecision: boolean;
}

/** An answer that arrived while the VAD still heard speech, kept until the VAD ends the utterance. */
interface EarlyAnswer {
  answerAtMs: number;
  /** Its first frame on the wire, NaN until then. */
  injectedAtMs: number;
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
  /** How long each of those frames had waited in Tandem before it was offered (MediaFrame.ingressDelayMs). */
  readonly #frameIngress = new Float64Array(FRAME_RING);
  readonly #frameLateness = new Float64Array(FRAME_RING);
  #framesOffered = 0;
  #frameMs = 20;
  #pending: PendingLatency | null = null;
  #early: EarlyAnswer | null = null;
  /** The provider's audio was still queued after the last tick: new audio continues that answer. */
  #answerQueued = false;
  /** When the VAD last ended an utterance the provider has said nothing about since (-Infinity: none). */
  #endUnansweredAtMs = Number.NEGATIVE_INFINITY;
  #speaking = false;
  #closed = false;
  #vadErrors = 0;
  readonly #silence: MediaFrame | null;
  /** The provider's stage had nothing to play at the last tick. */
  #outputPaused = true;
  #wake: (() => void) | null = null;

  constructor(options: TranslatingStageOptions) {
    this.#context = options.context;
    this.#sink = options.sink;
    this.#log = options.log;
    this.#assembler = new TranscriptAssembler(options.context, options.languages, (event) => this.#report(() => this.#sink.transcript(event)));
    const hooks: SpeechHooks = {
      transcript: (message) => {
        this.#endUnansweredAtMs = Number.NEGATIVE_INFINITY;
        this.#assembler.transcript(message, performance.now());
      },
      translation: (message) => {
        this.#endUnansweredAtMs = Number.NEGATIVE_INFINITY;
        this.#assembler.translation(message, performance.now());
      },
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

  /**
   * The direction's pause (PipelineStage.idle): the VAD hears no speech; the provider is not producing an
   * answer it knows of (SpeechStage.answering) and has none queued for the listener (SpeechStage.playing); no
   * utterance it has begun to report awaits its final text (TranscriptAssembler.awaiting); and the utterance
   * the VAD ended last has been reported on, or PROVIDER_FIRST_WORD_MS passed without a word about it.
   * Not seen: speech the VAD has not yet recognised as speech (its first frames before speech_start).
   */
  idle(): boolean {
    if (this.#closed) return true;
    if (this.#speaking || this.#speech.answering() || this.#speech.playing()) return false;
    const now = performance.now();
    if (now - this.#endUnansweredAtMs < PROVIDER_FIRST_WORD_MS) return false;
    return !this.#assembler.awaiting(now);
  }

  /** The speaker's frames as they arrive (MediaDirection's early reader): to the VAD and the provider at once. */
  hear(frame: MediaFrame): void {
    if (this.#closed || !this.#offer(frame, performance.now())) return;
    this.#speech.hear(frame);
  }

  process(frame: MediaFrame | null): MediaFrame | null {
    if (this.#closed) return null;
    const now = performance.now();
    // A frame not heard early goes to the provider inside speech.process.
    if (frame !== null && frame.heard !== true) this.#offer(frame, now);
    const output = this.#speech.process(frame);
    this.#answerQueued = this.#speech.playing();
    if ((this.#framesOffered & 63) === 0) this.#assembler.expire(now);
    this.#outputPaused = output === null;
    if (output === null) return this.#silence;
    this.#onInjected(now);
    return output;
  }

  /** With `between: 'nothing'` the listener's leg pauses between answers, and an answer resumes it at once. */
  setWake(wake: () => void): void {
    this.#wake = wake;
  }

  /** Times the frame and feeds it to the VAD; false for a frame that carries no speech audio to offer. */
  #offer(frame: MediaFrame, now: number): boolean {
    if (frame.samples <= 0 || (frame.status !== 'audio' && frame.status !== 'concealed')) return false;
    this.#frameMs = (frame.samples * 1000) / frame.sampleRate;
    const slot = this.#framesOffered % FRAME_RING;
    this.#frameWall[slot] = now;
    this.#frameIngress[slot] = frame.ingressDelayMs ?? 0;
    this.#frameLateness[slot] = frame.arrivalLatenessMs ?? 0;
    this.#framesOffered++;
    if (this.#vad !== null && (frame.sampleRate === 8000 || frame.sampleRate === 16000)) {
      try {
        this.#vad.push(frame.pcm, frame.samples, frame.sampleRate);
      } catch (err) {
        if (this.#vadErrors++ === 0) this.#log.error({ err: errorMessage(err), pairId: this.#context.pairId }, 'VAD push failed');
      }
    }
    return true;
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
      this.#early = null;
      this.#speech.speechStarted(decision.startMs);
      this.#report(() => this.#sink.event({ type: 'speech', state: 'start', atMs: decision.startMs }));
      return;
    }
    this.#speaking = false;
    this.#speech.speechEnded(decision.endMs);
    const now = performance.now();
    const early = this.#early;
    this.#early = null;
    // An utterance the provider already answered has been reported on.
    this.#endUnansweredAtMs = early === null ? now : Number.NEGATIVE_INFINITY;
    const endFrame = this.#frameAt(decision.endMs);
    const decidedFrame = this.#frameAt(Math.max(decision.endMs, decision.decidedMs));
    // The ring holds the last FRAME_RING frames; an utterance whose frames have left it cannot be timed.
    if (endFrame >= 0 && decidedFrame >= 0) {
      const endWallMs = this.#frameWall[endFrame % FRAME_RING]!;
      const decidedWallMs = this.#frameWall[decidedFrame % FRAME_RING]!;
      const pending: PendingLatency = {
        endWallMs,
        ingressMs: this.#frameIngress[endFrame % FRAME_RING]!,
        arrivalLatenessMs: this.#frameLateness[endFrame % FRAME_RING]!,
        endpointingMs: Math.max(0, decidedWallMs - endWallMs),
        vadMs: Math.max(0, now - decidedWallMs),
        decisionWallMs: now,
        utteranceEndMs: decision.endMs,
        answerAtMs: early === null ? Number.NaN : early.answerAtMs,
        beforeDecision: early !== null,
      };
      this.#pending = pending;
      this.#report(() => this.#sink.event({ type: 'speech', state: 'end', atMs: decision.endMs }));
      // An early answer already on the wire: the utterance is timed now, once.
      if (early !== null && !Number.isNaN(early.injectedAtMs)) this.#record(pending, early.injectedAtMs);
      return;
    }
    this.#report(() => this.#sink.event({ type: 'speech', state: 'end', atMs: decision.endMs }));
  }

  /** Index of the offered frame holding audio time `ms` (the frame ending at or after it), or -1 when it is not in the ring. */
  #frameAt(ms: number): number {
    const frame = Math.max(0, Math.ceil(ms / this.#frameMs) - 1);
    return frame >= this.#framesOffered - FRAME_RING && frame < this.#framesOffered ? frame : -1;
  }

  #onAnswerAudio(): void {
    const now = performance.now();
    this.#endUnansweredAtMs = Number.NEGATIVE_INFINITY;
    const pending = this.#pending;
    if (pending !== null) {
      if (Number.isNaN(pending.answerAtMs)) pending.answerAtMs = now;
    } else if (this.#speaking && this.#early === null && !this.#answerQueued) {
      // The provider answered before the VAD ended the utterance (its endpointing was faster). Audio that
      // continues an answer still queued at the last tick is that earlier answer's, not this utterance's.
      this.#early = { answerAtMs: now, injectedAtMs: Number.NaN };
    }
    // A continuous silence stream has a phase the answer must keep; a paused leg can start a talkspurt now.
    if (this.#silence === null && this.#outputPaused && !this.#closed) this.#wake?.();
  }

  #onInjected(now: number): void {
    const early = this.#early;
    if (early !== null && Number.isNaN(early.injectedAtMs)) early.injectedAtMs = now;
    const pending = this.#pending;
    if (pending === null) return;
    if (now - pending.endWallMs > LATENCY_GIVE_UP_MS) {
      this.#pending = null;
      return;
    }
    if (Number.isNaN(pending.answerAtMs)) return;
    this.#record(pending, now);
  }

  /** Reports the utterance's latency, its first answer frame on the wire at `injectedAtMs`. */
  #record(pending: PendingLatency, injectedAtMs: number): void {
    this.#pending = null;
    const { ingressMs, endpointingMs, vadMs } = pending;
    // An answer that came before the decision (beforeDecision) clamps at 0: the provider kept no one waiting.
    const providerMs = Math.max(0, pending.answerAtMs - pending.decisionWallMs);
    const egressMs = Math.max(0, injectedAtMs - pending.answerAtMs);
    const tandemMs = ingressMs + vadMs + egressMs;
    const share = this.#speech.providerShare?.() ?? null;
    this.#report(() =>
      this.#sink.event({
        type: 'latency',
        utteranceEndMs: pending.utteranceEndMs,
        totalMs: ingressMs + endpointingMs + vadMs + providerMs + egressMs,
        providerMs,
        tandemMs,
        ingressMs,
        vadMs,
        egressMs,
        endpointingMs,
        arrivalLatenessMs: pending.arrivalLatenessMs,
        ...(share === null ? {} : share),
        ...(pending.beforeDecision ? { answeredBeforeDecision: true as const } : {}),
      }),
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
