import type { Logger } from '../../../common/src/logger.js';
import type { PairTranslation } from '../../../engine/src/index.js';
import type { CallAppDeps } from './call-app-deps.js';
import { LanguageFollower, type FollowedCall } from './language-follower.js';
import { pairTranslationFor, type LanguageOverride } from './translation-settings.js';

/** A translated call that follows its extensions' languages. */
interface Entry {
  /** What the dialplan fixed (those sides never follow). */
  fixed: LanguageOverride;
  /** Its translation now. */
  translation: PairTranslation;
  /** The API replaced its translation: it follows no more. */
  byApi: boolean;
}

export interface FollowedCallsOptions {
  deps: Pick<CallAppDeps, 'engine' | 'config' | 'extensionLanguages' | 'languageFollowMs'>;
  /** The node's calls by pair (only active ones follow). */
  pairs: ReadonlyMap<string, { state: string; callerId: string | null; extB: string }>;
  log: Logger;
}

/**
 * CallApp's translated calls whose languages follow their extensions
 * (language-follower.ts): what each one's dialplan fixed, its translation now,
 * and the follower that re-reads the extensions. There is no follower when
 * the node does not translate, has no extension languages, its engine cannot
 * change a running pair's translation, or `languageFollowMs` is 0.
 */
export class FollowedCalls {
  readonly #o: FollowedCallsOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #follower: LanguageFollower | null = null;

  constructor(options: FollowedCallsOptions) {
    this.#o = options;
    const { engine, config, extensionLanguages } = options.deps;
    const followMs = options.deps.languageFollowMs ?? 2000;
    const setTranslation = engine.setTranslation?.bind(engine);
    if (followMs <= 0 || extensionLanguages === undefined || config.translation === undefined || setTranslation === undefined) return;
    this.#follower = new LanguageFollower({
      lookup: extensionLanguages,
      defaults: config.translation,
      calls: () => this.#calls(),
      apply: async (pairId, translation) => {
        await setTranslation(pairId, translation);
        const entry = this.#entries.get(pairId);
        if (entry !== undefined) entry.translation = translation;
      },
      intervalMs: followMs,
      log: options.log,
    });
  }

  /** A new call on the pair: `fixed` is what the dialplan said, `languages` what the call starts with. */
  add(pairId: string, fixed: LanguageOverride, languages: LanguageOverride): void {
    const translation = pairTranslationFor(this.#o.deps.config.translation, languages);
    if (translation !== undefined) this.#entries.set(pairId, { fixed, translation, byApi: false });
  }

  /** The API replaced the pair's translation: it no longer follows its extensions' languages. */
  setByApi(pairId: string): void {
    const entry = this.#entries.get(pairId);
    if (entry !== undefined) entry.byApi = true;
  }

  delete(pairId: string): void {
    this.#entries.delete(pairId);
  }

  /** One round of following now (tests; the timer runs them otherwise). */
  round(): Promise<void> {
    return this.#follower?.round() ?? Promise.resolve();
  }

  close(): void {
    this.#follower?.close();
  }

  *#calls(): Iterable<FollowedCall> {
    for (const [pairId, entry] of this.#entries) {
      const call = this.#o.pairs.get(pairId);
      if (call === undefined || call.state !== 'active' || entry.byApi) continue;
      yield { pairId, callerId: call.callerId, extB: call.extB, fixed: entry.fixed, translation: entry.translation };
    }
  }
}
