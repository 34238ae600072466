/**
 * One direction of a cascade: recognizer → translator → synthesizer, behind
 * the same SpeechStage the speech-to-speech providers offer, so VAD, barge-in,
 * `clear`, transcripts and the latency cut work unchanged.
 *
 * The 20 ms tick only hands frames to the recognizer (non-blocking) and plays
 * one frame from the PlaybackQueue through the PlaybackMixer — the playback
 * half every provider stage shares. Everything else runs off the tick: a final
 * transcript becomes an utterance job; jobs run one at a time per direction
 * (the listener hears answers in the order they were spoken), at most
 * `maxPendingUtterances` wait (beyond that the oldest waiting one is dropped
 * and counted), and each step has its own deadline. Synthesis audio is queued
 * as its first bytes arrive. A failure costs that utterance only, is counted
 * and reported through the `error` hook; other directions are not touched.
 */
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../../../common/src/errors.js';
import type { Logger } from '../../../../common/src/logger.js';
import { ProviderError } from '../providers/types.js';
import type { MediaFrame, StageContext } from '../stage.js';
import { PlaybackMixer } from '../streaming/playback-mixer.js';
import { PlaybackQueue } from '../streaming/playback-queue.js';
import { sessionRateConverter } from '../streaming/stream-stage.js';
import type { SpeechHooks, SpeechStage } from '../translation/speech-stage.js';
import { withDeadline } from './deadline.js';
import type { EarlyTranslation, EarlyTranslationSettings } from './early-translation.js';
import { EarlyTranslations, type EarlyCounts } from './early-translations.js';
import type { CascadeRecognizer, CascadeSynthesizer, CascadeTranslator, RecognizedText } from './types.js';

export interface CascadeStageOptions {
  context: StageContext;
  hooks: SpeechHooks;
  log: Logger;
  languages: { source: string; target: string };
  recognizer: CascadeRecognizer;
  translator: CascadeTranslator;
  synthesizer: CascadeSynthesizer;
  mode: 'translated-only' | 'duck';
  duckGain: number;
  /** Rate of frames returned before any frame was seen (the leg's). */
  legRate: 8000 | 16000;
  translateTimeoutMs: number;
  synthesisTimeoutMs: number;
  maxPendingUtterances: number;
  maxQueueSeconds: number;
  /** Translate a stable partial ahead of the final (early-translation.ts); off when absent. */
  earlyTranslation?: EarlyTranslationSettings;
}

/** The provider's share of one utterance, split by part (ms). */
export interface CascadeShare {
  /** VAD end of speech → final transcript (0 when the recognizer's final came first). */
  recognitionMs: number;
  translationMs: number;
  /** Translation done → first synthesized audio. */
  synthesisMs: number;
}

export interface CascadeStageStats {
  recognizer: object;
  translator: object | null;
  synthesizer: object | null;
  /** Times the recognizer went down: there is no offline recognizer, so the direction heard nothing until it came back. */
  recognizerOutages: number;
  finals: number;
  utterancesDone: number;
  utterancesDropped: number;
  translateFailures: number;
  synthesisFailures: number;
  timeouts: number;
  pending: number;
  queuedSamples: number;
  queueDroppedSamples: number;
  clearedSamples: number;
  framesPlayed: number;
  /** Early translations started; at the final: same words (reused), extended (only the rest translated), replaced, failed. */
  early: EarlyCounts;
}

interface Utterance {
  id: string;
  text: string;
  startMs: number;
  endMs: number;
  finalAt: number;
  /** The VAD end of speech this final answers, if one came before it. */
  speechEndAt: number | null;
  /** A translation of its stable beginning, started before the final. */
  early: EarlyTranslation | null;
}

export class CascadeStage implements SpeechStage {
  readonly #o: CascadeStageOptions;
  readonly #queue: PlaybackQueue;
  readonly #mixer: PlaybackMixer;
  readonly #waiting: Utterance[] = [];
  #running: AbortController | null = null;
  #nextId = 1;
  #partialId: string | null = null;
  #lastSpeechEnd: number | null = null;
  #share: CascadeShare | null = null;
  /** The utterance whose first audio set #share (a later part of it must not reset it). */
  #shareSetFor: object | null = null;
  #closed = false;
  readonly #counts = { finals: 0, utterancesDone: 0, utterancesDropped: 0, translateFailures: 0, synthesisFailures: 0, timeouts: 0, processErrors: 0, recognizerOutages: 0 };
  #recognizerUp = false;
  readonly #early: EarlyTranslations;

  constructor(options: CascadeStageOptions) {
    this.#o = options;
    this.#early = new EarlyTranslations(options.earlyTranslation);
    const rate = options.synthesizer.sampleRate;
    this.#queue = new PlaybackQueue(Math.ceil(options.maxQueueSeconds * rate));
    this.#mixer = new PlaybackMixer({
      queue: this.#queue,
      converter: sessionRateConverter(rate),
      context: options.context,
      initialRate: options.legRate,
      mode: options.mode,
      duckGain: options.duckGain,
    });
    const r = options.recognizer;
    r.on('transcript', (result) => this.#onRecognized(result));
    r.on('error', (code, message) => options.hooks.error(`recognition_${code}`, message));
    r.on('connection', (state, detail) => {
      this.#recognizerState(state === 'connected');
      options.hooks.connection(state, `${r.name}: ${detail}`);
    });
  }

  /** Logged once per transition: a recognizer outage silences the direction, and there is no offline one to take over. */
  #recognizerState(up: boolean): void {
    if (up === this.#recognizerUp) return;
    const wasUp = this.#recognizerUp;
    this.#recognizerUp = up;
    if (up) {
      if (this.#counts.recognizerOutages > 0) this.#o.log.info({ recognizer: this.#o.recognizer.name }, 'recognizer back: the direction hears the speaker again');
    } else if (wasUp) {
      this.#counts.recognizerOutages++;
      this.#o.log.warn({ recognizer: this.#o.recognizer.name }, 'recognizer down and there is no offline recognizer: this direction translates nothing until it reconnects');
    }
  }

  /** The provider share of the last utterance whose audio started, split by part. */
  providerShare(): CascadeShare | null {
    return this.#share;
  }

  process(frame: MediaFrame | null): MediaFrame | null {
    if (this.#closed) return null;
    try {
      if (frame !== null && frame.heard !== true) this.#push(frame);
      const out = this.#mixer.mix(frame);
      this.#marksReached();
      return out;
    } catch (err) {
      if (this.#counts.processErrors++ === 0) this.#o.log.error({ err: errorMessage(err) }, 'cascade stage frame failed');
      return null;
    }
  }

  hear(frame: MediaFrame): void {
    if (!this.#closed) this.#push(frame);
  }

  /** A new utterance: an end of speech left over from the last one (whose final came first) no longer applies. */
  speechStarted(): void {
    this.#lastSpeechEnd = null;
  }

  speechEnded(): void {
    if (this.#closed) return;
    this.#lastSpeechEnd = performance.now();
    this.#o.recognizer.endOfSpeech();
  }

  /** Synthesized audio is queued for the listener, or an utterance's mark waits for it to play. */
  playing(): boolean {
    return !this.#closed && (this.#queue.length > 0 || this.#queue.pendingMarks > 0);
  }

  /** Recognized words await their final, or a final awaits (or is in) its translation and synthesis. */
  answering(): boolean {
    return !this.#closed && (this.#partialId !== null || this.#waiting.length > 0 || this.#running !== null);
  }

  /** Barge-in / clear: drops queued audio, the utterance being produced and those waiting. */
  flush(): void {
    if (this.#closed) return;
    this.#queue.clear();
    this.#marksReached();
    this.#counts.utterancesDropped += this.#waiting.length;
    this.#waiting.length = 0;
    this.#running?.abort();
  }

  stats(): CascadeStageStats {
    return {
      recognizer: this.#o.recognizer.stats(),
      translator: this.#o.translator.stats?.() ?? null,
      synthesizer: this.#o.synthesizer.stats?.() ?? null,
      recognizerOutages: this.#counts.recognizerOutages,
      finals: this.#counts.finals,
      utterancesDone: this.#counts.utterancesDone,
      utterancesDropped: this.#counts.utterancesDropped,
      translateFailures: this.#counts.translateFailures,
      synthesisFailures: this.#counts.synthesisFailures,
      timeouts: this.#counts.timeouts,
      pending: this.#waiting.length + (this.#running === null ? 0 : 1),
      queuedSamples: this.#queue.length,
      queueDroppedSamples: this.#queue.droppedOverflow,
      clearedSamples: this.#queue.droppedCleared,
      framesPlayed: this.#mixer.framesPlayed,
      early: { ...this.#early.counts },
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting.length = 0;
    this.#running?.abort();
    this.#early.close();
    this.#o.recognizer.close();
    this.#o.translator.release();
    this.#o.synthesizer.close();
    this.#o.log.info({ stats: this.stats() }, 'cascade stage closed');
  }

  #push(frame: MediaFrame): void {
    if (frame.samples <= 0 || (frame.status !== 'audio' && frame.status !== 'concealed')) return;
    this.#o.recognizer.pushAudio(frame);
  }

  #marksReached(): void {
    for (let name = this.#queue.takeReachedMark(); name !== undefined; name = this.#queue.takeReachedMark()) this.#o.hooks.mark(name);
  }

  #onRecognized(result: RecognizedText): void {
    if (this.#closed) return;
    const text = result.text.trim();
    if (text === '' && !result.final) return;
    const id = this.#partialId ?? `${this.#o.context.direction === 'A->B' ? 'ab' : 'ba'}-${this.#nextId++}`;
    this.#partialId = result.final ? null : id;
    if (text === '') {
      // A final with nothing in it closes an empty utterance.
      this.#early.end(null);
      return;
    }
    this.#o.hooks.transcript({
      event: 'transcript',
      utteranceId: id,
      text,
      final: result.final,
      startMs: Math.max(0, Math.round(result.startMs)),
      endMs: Math.max(0, Math.round(result.endMs)),
      language: this.#o.languages.source,
    });
    if (!result.final) {
      // Shown as a partial translation; the final one replaces it.
      const shown = (translated: string): void => {
        if (!this.#closed) this.#o.hooks.translation({ event: 'translation', utteranceId: id, text: translated, language: this.#o.languages.target, final: false });
      };
      this.#early.partial(id, text, result.stableWords ?? 0, (source, signal) => this.#translate(source, signal, 'early translation'), shown);
      return;
    }
    this.#counts.finals++;
    const speechEndAt = this.#lastSpeechEnd;
    this.#lastSpeechEnd = null;
    const early = this.#early.end(id);
    this.#waiting.push({ id, text, startMs: result.startMs, endMs: result.endMs, finalAt: performance.now(), speechEndAt, early });
    while (this.#waiting.length > this.#o.maxPendingUtterances) {
      this.#waiting.shift()?.early?.abort.abort();
      this.#counts.utterancesDropped++;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#running !== null || this.#closed) return;
    const next = this.#waiting.shift();
    if (next === undefined) return;
    const abort = new AbortController();
    this.#running = abort;
    void this.#run(next, abort).finally(() => {
      this.#running = null;
      this.#pump();
    });
  }

  /** Never rejects: a failure is counted and reported, and costs this utterance only. */
  async #run(u: Utterance, abort: AbortController): Promise<void> {
    const o = this.#o;
    let step: 'translate' | 'synthesis' = 'translate';
    const onAbort = (): void => u.early?.abort.abort();
    abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const parts = this.#early.translations(u.early, u.text, (text) => this.#translate(text, abort.signal, 'translation'));
      const first = await parts[0]!;
      if (abort.signal.aborted || this.#closed) return;
      const translatedAt = performance.now();
      const share = { recognitionMs: u.speechEndAt === null ? 0 : Math.max(0, u.finalAt - u.speechEndAt), translationMs: translatedAt - u.finalAt };
      // The first part is spoken while the rest (the words after an early translation) is still being translated.
      step = 'synthesis';
      const speaking = this.#speak(first, abort.signal, share, translatedAt);
      speaking.catch(() => undefined);
      step = 'translate';
      const texts = [first];
      for (const part of parts.slice(1)) texts.push(await part);
      if (abort.signal.aborted || this.#closed) return;
      o.hooks.translation({ event: 'translation', utteranceId: u.id, text: texts.join(' '), language: o.languages.target, final: true });
      step = 'synthesis';
      await speaking;
      for (const text of texts.slice(1)) await this.#speak(text, abort.signal, share, translatedAt);
      if (abort.signal.aborted || this.#closed) return;
      this.#queue.addMark(u.id);
      this.#counts.utterancesDone++;
    } catch (err) {
      if (this.#closed || abort.signal.aborted) return;
      const code = err instanceof ProviderError ? err.code : 'failed';
      if (code === 'timeout') this.#counts.timeouts++;
      if (step === 'translate') this.#counts.translateFailures++;
      else this.#counts.synthesisFailures++;
      o.hooks.error(`${step}_${code}`, errorMessage(err));
      abort.abort(); // a part still being spoken stops: the next utterance must not overlap it
    } finally {
      abort.signal.removeEventListener('abort', onAbort);
    }
  }

  #translate(text: string, signal: AbortSignal, what: string): Promise<string> {
    const o = this.#o;
    return withDeadline(
      (s) => o.translator.translate(text, { sourceLanguage: o.languages.source, targetLanguage: o.languages.target, signal: s }),
      signal,
      o.translateTimeoutMs,
      `${o.translator.name} ${what}`,
    );
  }

  /** Synthesizes one text into the playback queue as its audio arrives; the first audio of the utterance sets the latency share. */
  async #speak(text: string, signal: AbortSignal, share: { recognitionMs: number; translationMs: number }, translatedAt: number): Promise<void> {
    const o = this.#o;
    let first = this.#shareSetFor !== share;
    await withDeadline(
      (s) =>
        o.synthesizer.speak(text, {
          language: o.languages.target,
          signal: s,
          onAudio: (pcm) => {
            if (signal.aborted || this.#closed || pcm.length === 0) return;
            if (first) {
              first = false;
              this.#shareSetFor = share;
              this.#share = { ...share, synthesisMs: performance.now() - translatedAt };
            }
            const samples = this.#queue.pushS16LE(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), 0, pcm.byteLength);
            o.hooks.audio(samples);
          },
        }),
      signal,
      o.synthesisTimeoutMs,
      `${o.synthesizer.name} synthesis`,
    );
  }
}
