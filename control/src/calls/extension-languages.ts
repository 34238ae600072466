/**
 * The languages a call takes from its parties' extensions (docs/cascade.md):
 * party A from the caller's extension, party B from the pair's B extension
 * (migration 006, `extensions.language`). What the dialplan (`lang_a=`,
 * `lang_b=`) or the API says wins; an extension without a language leaves the
 * node's default. A lookup that fails or is slow costs only the extensions'
 * languages (the call goes on with the defaults), never the call.
 */
import type { Pool } from 'pg';
import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { LanguageOverride } from './translation-settings.js';

/** Looks up the language of each number that has one. */
export type ExtensionLanguageLookup = (numbers: readonly string[]) => Promise<ReadonlyMap<string, string>>;

export function pgExtensionLanguages(pool: Pool): ExtensionLanguageLookup {
  return async (numbers) => {
    if (numbers.length === 0) return new Map();
    const r = await pool.query<{ number: string; language: string }>('SELECT number, language FROM extensions WHERE number = ANY($1) AND language IS NOT NULL', [numbers]);
    return new Map(r.rows.map((row) => [row.number, row.language]));
  };
}

/** A's and B's languages: the call's own override first, then the extensions', else absent (the default applies). */
export async function callLanguages(
  lookup: ExtensionLanguageLookup | undefined,
  parties: { caller: string | null; extB: string },
  override: LanguageOverride,
  log: Logger,
  timeoutMs = 1000,
): Promise<LanguageOverride> {
  if (lookup === undefined || (override.A !== undefined && override.B !== undefined)) return override;
  const numbers = parties.caller === null ? [parties.extB] : [parties.caller, parties.extB];
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(numbers),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    const a = override.A ?? (parties.caller === null ? undefined : found.get(parties.caller));
    const b = override.B ?? found.get(parties.extB);
    return { ...(a !== undefined ? { A: a } : {}), ...(b !== undefined ? { B: b } : {}) };
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'extension languages not read; the call uses the default languages');
    return override;
  } finally {
    clearTimeout(timer);
  }
}
