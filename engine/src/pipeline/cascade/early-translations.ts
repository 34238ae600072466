/**
 * One direction's early translations (docs/cascade.md, "Early translation"):
 * while an utterance is still spoken, one translation of its settled words
 * starts once they reach `minWords`; at the final it becomes the utterance's
 * translation in spoken order (reused, extended by the rest, or replaced).
 * The cascade stage owns one; the word logic is early-translation.ts.
 */
import { StablePrefix, compareFinal, type EarlyTranslation, type EarlyTranslationSettings } from './early-translation.js';

export interface EarlyCounts {
  started: number;
  reused: number;
  extended: number;
  replaced: number;
  failed: number;
}

export class EarlyTranslations {
  /** Early translations started; at the final: same words (reused), extended (only the rest translated), replaced, failed. */
  readonly counts: EarlyCounts = { started: 0, reused: 0, extended: 0, replaced: 0, failed: 0 };
  readonly #minWords: number;
  readonly #stable: StablePrefix | null;
  #current: EarlyTranslation | null = null;

  /** Off (every call a no-op) when the settings are absent or not enabled. */
  constructor(settings: EarlyTranslationSettings | undefined) {
    this.#minWords = settings?.minWords ?? Infinity;
    this.#stable = settings?.enabled === true ? new StablePrefix(settings.stablePartials) : null;
  }

  /**
   * A partial of utterance `id`: once its settled words reach minWords they are
   * translated (once per utterance), and `shown` gets the translation unless
   * it was aborted first. A failure resolves the early result to null.
   */
  partial(id: string, text: string, stableWords: number, translate: (text: string, signal: AbortSignal) => Promise<string>, shown: (translated: string) => void): void {
    if (this.#stable === null || this.#current?.utteranceId === id) return;
    const stable = this.#stable.push(text, stableWords);
    if (stable.length < this.#minWords) return;
    const source = stable.join(' ');
    const abort = new AbortController();
    this.counts.started++;
    const result = translate(source, abort.signal).then(
      (translated) => {
        if (!abort.signal.aborted) shown(translated);
        return translated;
      },
      () => null,
    );
    this.#current = { utteranceId: id, source, result, abort };
  }

  /** The utterance in progress ended (`id`: its final; null: an empty one): its early translation, if one started; the next starts afresh. */
  end(id: string | null): EarlyTranslation | null {
    const early = id !== null && this.#current?.utteranceId === id ? this.#current : null;
    this.#stable?.reset();
    this.#current = null;
    return early;
  }

  /** The utterance's translation in spoken order: reused from the early one, its rest only, or the whole final. */
  translations(early: EarlyTranslation | null, finalText: string, translate: (text: string) => Promise<string>): Array<Promise<string>> {
    if (early === null) return [translate(finalText)];
    const relation = compareFinal(early.source, finalText);
    const earlyOrWhole = async (counted: 'reused' | 'extended', rest: string | null): Promise<string> => {
      const translated = await early.result;
      if (translated === null) {
        this.counts.failed++;
        return translate(rest === null ? finalText : early.source);
      }
      this.counts[counted]++;
      return translated;
    };
    if (relation.kind === 'same') return [earlyOrWhole('reused', null)];
    if (relation.kind === 'extends') {
      const rest = translate(relation.rest);
      rest.catch(() => undefined); // awaited in order by the stage; a failure there is reported once
      return [earlyOrWhole('extended', relation.rest), rest];
    }
    this.counts.replaced++;
    early.abort.abort();
    return [translate(finalText)];
  }

  /** Aborts the early translation of the utterance in progress. */
  close(): void {
    this.#current?.abort.abort();
    this.#current = null;
  }
}
