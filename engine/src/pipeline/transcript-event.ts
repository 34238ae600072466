import type { Direction } from './stage.js';

/**
 * One recognised (and, when the provider translates, translated) piece of a
 * speaker's utterance. Partial events may come many times per utterance; the
 * last one has `final: true` and is the one that is stored.
 *
 * `startMs` / `endMs` are on the direction's own audio timeline: milliseconds
 * of the speaker's audio since the direction's stage started (the same clock
 * the provider sees), so they order utterances within a call.
 */
export interface TranscriptEvent {
  pairId: string;
  /** The speaker (SRC_EXT). */
  srcExt: string;
  /** The listener who hears the translation. */
  dstExt: string;
  direction: Direction;
  /** Provider's id for the utterance; partials and the final share it. */
  utteranceId: string;
  /** Language of `text` (what the speaker spoke). */
  language: string;
  text: string;
  /** Language of `translatedText`. */
  targetLanguage: string;
  /** Null until the provider has translated the utterance. */
  translatedText: string | null;
  startMs: number;
  endMs: number;
  final: boolean;
  /** Wall-clock time the event was produced (ISO 8601). */
  at: string;
}
