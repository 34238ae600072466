/**
 * Stable-partial early translation (docs/cascade.md): while the speaker is
 * still talking, the words a recognizer no longer revises can be translated
 * ahead of the final, so the final only costs the words that came after them.
 *
 * A prefix is "stable" when it is the same in the last `stablePartials`
 * partial transcripts of an utterance, or when the recognizer itself says the
 * words are settled (Deepgram's is_final segments, `stableWords`). At most one
 * early translation runs per utterance, once the stable prefix reaches
 * `minWords`. At the final the early source is compared word by word
 * (case and punctuation ignored): the same words → its translation is the
 * answer; the final extends it → only the rest is translated; anything else →
 * the early translation is thrown away and the final is translated whole.
 */

export interface EarlyTranslationSettings {
  enabled: boolean;
  /** Fewest stable words worth translating early. */
  minWords: number;
  /** Consecutive partials that must agree on a prefix before it counts as stable. */
  stablePartials: number;
}

export function wordsOf(text: string): string[] {
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

/** Compared loosely: a partial often lacks the final's punctuation and capitals. */
const norm = (word: string): string => word.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, '');

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && norm(a[i]!) === norm(b[i]!)) i++;
  return i;
}

/** Follows the partials of one utterance and says which leading words have settled. */
export class StablePrefix {
  readonly #needed: number;
  #recent: string[][] = [];

  constructor(stablePartials: number) {
    this.#needed = Math.max(1, stablePartials);
  }

  /** Feeds one partial; returns the words that are stable so far (the newest partial's spelling). */
  push(text: string, stableWords = 0): string[] {
    const words = wordsOf(text);
    this.#recent.push(words);
    if (this.#recent.length > this.#needed) this.#recent.shift();
    let agreed = 0;
    if (this.#recent.length === this.#needed) {
      agreed = words.length;
      for (const earlier of this.#recent) agreed = Math.min(agreed, commonPrefix(earlier, words));
    }
    return words.slice(0, Math.max(agreed, Math.min(stableWords, words.length)));
  }

  reset(): void {
    this.#recent = [];
  }
}

export type FinalVersusEarly = { kind: 'same' } | { kind: 'extends'; rest: string } | { kind: 'differs' };

/** How the final transcript relates to the text translated early. */
export function compareFinal(early: string, final: string): FinalVersusEarly {
  const e = wordsOf(early);
  const f = wordsOf(final);
  const common = commonPrefix(e, f);
  if (common < e.length) return { kind: 'differs' };
  if (f.length === e.length) return { kind: 'same' };
  return { kind: 'extends', rest: f.slice(e.length).join(' ') };
}

/** One early translation in flight or done: resolves to the text, or null when it failed (the final then translates whole). */
export interface EarlyTranslation {
  utteranceId: string;
  source: string;
  result: Promise<string | null>;
  abort: AbortController;
}
