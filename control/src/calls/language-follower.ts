/**
 * Languages that change during a call (docs/cascade.md, "Per-extension
 * languages"): every `intervalMs` the translated calls of this node re-read
 * their parties' extension languages (one indexed query for all of them), so a
 * change made by `tandem extensions update --language`, the API or plain SQL
 * reaches calls already running. A call whose languages changed gets its
 * translation set again; the engine rebuilds each direction's stage at that
 * direction's next pause (MediaPair.replaceStages: an utterance being spoken,
 * translated or played finishes in the old languages, and a direction busy for
 * 10 s swaps anyway), so the next utterance is recognized, translated and
 * spoken in the new languages. `apply` resolves once the engine has accepted
 * the change, not when the directions have swapped.
 *
 * What the dialplan (`lang_a=`/`lang_b=`) said keeps winning, and a pair whose
 * translation the API replaced is left alone (the API said otherwise).
 * Reading the extensions is polled rather than notified so it needs no
 * trigger, no extra connection and survives a database restart; a failed read
 * is logged once per failure streak and tried again at the next round.
 */
import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { PairTranslation } from '../../../engine/src/index.js';
import type { ExtensionLanguageLookup } from './extension-languages.js';
import type { LanguageOverride } from './translation-settings.js';

/** A running translated call, as the follower sees it. */
export interface FollowedCall {
  pairId: string;
  callerId: string | null;
  extB: string;
  /** What the dialplan (or API at setup) fixed; these sides never follow the extensions. */
  fixed: LanguageOverride;
  /** The call's translation now. */
  translation: PairTranslation;
}

export interface LanguageFollowerOptions {
  lookup: ExtensionLanguageLookup;
  /** The node's default translation (its languages fill a side whose extension has none). */
  defaults: PairTranslation;
  /** The calls to follow now (active, translated, not replaced by the API). */
  calls: () => Iterable<FollowedCall>;
  /** Gives a call its new translation; a rejection is logged and the call keeps its languages (tried again next round). */
  apply: (pairId: string, translation: PairTranslation) => Promise<void>;
  intervalMs: number;
  log: Logger;
}

export class LanguageFollower {
  readonly #o: LanguageFollowerOptions;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | null = null;
  #failing = false;
  #closed = false;
  readonly counts = { rounds: 0, changes: 0, readFailures: 0, applyFailures: 0 };

  constructor(options: LanguageFollowerOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.round(), options.intervalMs);
    this.#timer.unref();
  }

  /** One round now (the timer's, or a test's); rounds never overlap. */
  round(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= this.#round().finally(() => (this.#running = null));
    return this.#running;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #round(): Promise<void> {
    const calls = [...this.#o.calls()];
    if (calls.length === 0) return;
    this.counts.rounds++;
    const numbers = new Set<string>();
    for (const c of calls) {
      if (c.callerId !== null && c.fixed.A === undefined) numbers.add(c.callerId);
      if (c.fixed.B === undefined) numbers.add(c.extB);
    }
    let found: ReadonlyMap<string, string>;
    try {
      found = numbers.size === 0 ? new Map() : await this.#o.lookup([...numbers]);
      if (this.#failing) this.#o.log.info('extension languages read again');
      this.#failing = false;
    } catch (err) {
      this.counts.readFailures++;
      if (!this.#failing) this.#o.log.warn({ err: errorMessage(err) }, 'extension languages not read; running calls keep their languages');
      this.#failing = true;
      return;
    }
    const d = this.#o.defaults.languages;
    for (const c of calls) {
      if (this.#closed) return;
      const A = c.fixed.A ?? (c.callerId === null ? undefined : found.get(c.callerId)) ?? d.A;
      const B = c.fixed.B ?? found.get(c.extB) ?? d.B;
      const now = c.translation.languages;
      if (A === now.A && B === now.B) continue;
      try {
        await this.#o.apply(c.pairId, { ...c.translation, languages: { A, B } });
        this.counts.changes++;
        this.#o.log.info({ pairId: c.pairId, from: now, to: { A, B } }, 'call languages follow their extensions');
      } catch (err) {
        this.counts.applyFailures++;
        this.#o.log.warn({ pairId: c.pairId, err: errorMessage(err) }, 'call languages not changed');
      }
    }
  }
}
