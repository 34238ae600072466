import type { StageContext } from '../stage.js';
import type { TranscriptMessage, TranslationMessage } from '../streaming/protocol.js';
import type { TranscriptEvent } from '../transcript-event.js';

/** Utterances remembered at once; an older one still waiting for its translation is finalised as is. */
const MAX_OPEN_UTTERANCES = 32;
/** Finalised utterances remembered by id only, so a late message for one is ignored rather than reopening it. */
const MAX_FINISHED_IDS = 32;
/** A final transcript whose translation never comes is finalised without it after this long. */
export const TRANSLATION_GRACE_MS = 5000;

interface Open {
  text: string;
  language: string;
  startMs: number;
  endMs: number;
  transcriptFinal: boolean;
  translatedText: string | null;
  translationFinal: boolean;
  finalisedAt: number;
  /** When the provider last said something about it. */
  updatedAt: number;
}

/**
 * Providers send what the speaker said (`transcript`) and its translation
 * (`translation`) as separate messages tied by utteranceId. This joins them
 * into TranscriptEvents: every message yields a partial with what is known so
 * far; the utterance becomes `final` once both its transcript and its
 * translation are final (or the transcript is final and the translation has
 * not come within the grace period, or the stage closes).
 */
export class TranscriptAssembler {
  readonly #context: StageContext;
  readonly #languages: { source: string; target: string };
  readonly #emit: (event: TranscriptEvent) => void;
  readonly #open = new Map<string, Open>();
  /**
   * Ids of the newest finalised utterances: a finished utterance leaves `#open` (its texts were emitted), so a
   * direction holds per utterance only while it is open, not its texts for the rest of the call.
   */
  readonly #finished = new Set<string>();

  constructor(context: StageContext, languages: { source: string; target: string }, emit: (event: TranscriptEvent) => void) {
    this.#context = context;
    this.#languages = languages;
    this.#emit = emit;
  }

  transcript(message: TranscriptMessage, nowMs: number): void {
    if (this.#finished.has(message.utteranceId)) return;
    const entry = this.#entry(message.utteranceId, nowMs);
    entry.updatedAt = nowMs;
    entry.text = message.text;
    entry.language = message.language;
    entry.startMs = message.startMs;
    entry.endMs = Math.max(message.startMs, message.endMs);
    if (message.final && !entry.transcriptFinal) {
      entry.transcriptFinal = true;
      entry.finalisedAt = nowMs;
    }
    this.#publish(message.utteranceId, entry);
  }

  translation(message: TranslationMessage, nowMs: number): void {
    if (this.#finished.has(message.utteranceId)) return;
    const entry = this.#entry(message.utteranceId, nowMs);
    entry.updatedAt = nowMs;
    entry.translatedText = message.text;
    if (message.final) entry.translationFinal = true;
    this.#publish(message.utteranceId, entry);
  }

  /**
   * An utterance the provider has begun (a transcript or translation) is not complete yet and was last heard of
   * within TRANSLATION_GRACE_MS: its final text is still to come. One the provider went quiet on counts no more.
   */
  awaiting(nowMs: number): boolean {
    for (const entry of this.#open.values()) if (nowMs - entry.updatedAt < TRANSLATION_GRACE_MS) return true;
    return false;
  }

  /** Finalises utterances whose translation is overdue; called on the tick. */
  expire(nowMs: number): void {
    for (const [id, entry] of this.#open) {
      if (entry.transcriptFinal && nowMs - entry.finalisedAt >= TRANSLATION_GRACE_MS) this.#finish(id, entry);
    }
  }

  /** Finalises everything with a final transcript (the stage is closing). */
  close(): void {
    for (const [id, entry] of this.#open) if (entry.transcriptFinal) this.#finish(id, entry);
    this.#open.clear();
  }

  #entry(id: string, nowMs: number): Open {
    let entry = this.#open.get(id);
    if (entry === undefined) {
      if (this.#open.size >= MAX_OPEN_UTTERANCES) this.#evictOldest();
      entry = {
        text: '',
        language: this.#languages.source,
        startMs: 0,
        endMs: 0,
        transcriptFinal: false,
        translatedText: null,
        translationFinal: false,
        finalisedAt: nowMs,
        updatedAt: nowMs,
      };
      this.#open.set(id, entry);
    }
    return entry;
  }

  #evictOldest(): void {
    const first = this.#open.entries().next();
    if (first.done === true) return;
    const [id, entry] = first.value;
    if (entry.transcriptFinal) this.#finish(id, entry);
    this.#open.delete(id);
  }

  #publish(id: string, entry: Open): void {
    if (entry.transcriptFinal && entry.translationFinal) this.#finish(id, entry);
    else this.#emit(this.#event(id, entry, false));
  }

  #finish(id: string, entry: Open): void {
    this.#emit(this.#event(id, entry, true));
    this.#open.delete(id);
    this.#finished.add(id);
    if (this.#finished.size > MAX_FINISHED_IDS) this.#finished.delete(this.#finished.values().next().value as string);
  }

  /** Utterances held with their texts (open ones); finished ones are kept by id only. */
  get openCount(): number {
    return this.#open.size;
  }

  #event(utteranceId: string, entry: Open, final: boolean): TranscriptEvent {
    const { pairId, srcExt, dstExt, direction } = this.#context;
    return {
      pairId,
      srcExt,
      dstExt,
      direction,
      utteranceId,
      language: entry.language,
      text: entry.text,
      targetLanguage: this.#languages.target,
      translatedText: entry.translatedText,
      startMs: entry.startMs,
      endMs: entry.endMs,
      final,
      at: new Date().toISOString(),
    };
  }
}
