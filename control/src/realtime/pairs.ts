import { randomInt } from 'node:crypto';
import type { Pool } from 'pg';
import { logger } from '../../../common/src/logger.js';
import { expireExtensions, noopCacheExpirer, type CacheExpirer } from './cache-expirer.js';
import { withTransaction } from './db.js';
import { RealtimeError } from './errors.js';
import { validateCodecs, validateContext } from './extension-schema.js';

const log = logger('realtime.pairs');

export interface ProvisionPairsOptions {
  /** Number of pairs; each takes two consecutive extensions. */
  count: number;
  /** First extension of the pool (default 7000). */
  baseExtension?: number;
  /** Dialplan context of the pair extensions (leg B is originated into it; default `tandem-pairs`). */
  context?: string;
  /** Default ['ulaw']: the engine's externalMedia legs are µ-law. */
  codecs?: readonly string[];
  /** Length of the generated passwords (default 24, minimum 16). */
  passwordLength?: number;
  cacheExpirer?: CacheExpirer;
}

export interface ProvisionPairsResult {
  /** Numbers inserted with a fresh password. */
  readonly created: readonly string[];
  /** Existing pair extensions brought back to the wanted context/codecs/enabled. */
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password from an unambiguous alphabet (log2(57) ≈ 5.8 bits per character). */
export function generatePassword(length = 24): string {
  if (!Number.isInteger(length) || length < 16 || length > 128) throw new RangeError('password length must be 16…128');
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/** The extension numbers of pairs 0…count-1: [base, base+1], [base+2, base+3], … */
export function pairNumbers(count: number, baseExtension = 7000): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 50_000) throw new RangeError('count must be an integer 1…50000');
  if (!Number.isInteger(baseExtension) || baseExtension < 0) throw new RangeError('baseExtension must be a non-negative integer');
  const numbers: string[] = [];
  for (let i = 0; i < 2 * count; i++) numbers.push(String(baseExtension + i));
  return numbers;
}

/**
 * Creates or reconciles the pair extensions (kind 'pair'), in one transaction:
 * missing ones are inserted with a random password, existing ones get the wanted
 * context/codecs and are re-enabled, passwords of existing ones are kept. A user
 * extension already holding a pair number is an error (PAIR_NUMBER_CONFLICT),
 * never silently taken over. Running it twice changes nothing.
 */
export async function provisionPairs(pool: Pool, options: ProvisionPairsOptions): Promise<ProvisionPairsResult> {
  const numbers = pairNumbers(options.count, options.baseExtension ?? 7000);
  const context = validateContext(options.context ?? 'tandem-pairs');
  const codecs = validateCodecs(options.codecs ?? ['ulaw']);
  const passwordLength = options.passwordLength ?? 24;
  const passwords = numbers.map((n) => {
    let p = generatePassword(passwordLength);
    while (p.includes(n)) p = generatePassword(passwordLength);
    return p;
  });

  const result = await withTransaction(pool, async (client) => {
    // Lock the range so a concurrent provision or a user create cannot interleave.
    const existing = await client.query<{ number: string; kind: string }>(
      'SELECT number, kind FROM extensions WHERE number = ANY($1::text[]) ORDER BY number FOR UPDATE',
      [numbers],
    );
    const conflicts = existing.rows.filter((r) => r.kind !== 'pair').map((r) => r.number);
    if (conflicts.length > 0) {
      throw new RealtimeError(
        'PAIR_NUMBER_CONFLICT',
        `user extension(s) ${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ', …' : ''} occupy the pair range`,
      );
    }
    const r = await client.query<{ number: string; inserted: boolean }>(
      `INSERT INTO extensions AS e (number, password, display_name, context, codecs, enabled, kind)
       SELECT n, p, 'Tandem pair ' || n, $3, $4::text[], true, 'pair'
         FROM unnest($1::text[], $2::text[]) AS x(n, p)
       ON CONFLICT (number) DO UPDATE SET context = EXCLUDED.context, codecs = EXCLUDED.codecs, enabled = true
        WHERE e.kind = 'pair' AND (e.context, e.codecs, e.enabled) IS DISTINCT FROM (EXCLUDED.context, EXCLUDED.codecs, true)
       RETURNING e.number, (xmax = 0) AS inserted`,
      [numbers, passwords, context, codecs],
    );
    const created = r.rows.filter((x) => x.inserted).map((x) => x.number);
    const updated = r.rows.filter((x) => !x.inserted).map((x) => x.number);
    const touched = new Set([...created, ...updated]);
    return { created, updated, unchanged: numbers.filter((n) => !touched.has(n)) };
  });
  await expireExtensions(options.cacheExpirer ?? noopCacheExpirer, [...result.created, ...result.updated]);
  log.info(
    { created: result.created.length, updated: result.updated.length, unchanged: result.unchanged.length },
    'pair extensions provisioned',
  );
  return result;
}

/**
 * Pair extension numbers Asterisk can actually use right now: enabled, kind
 * 'pair', with their ps_endpoints row present. The pair allocator should hand out
 * only pairs whose two numbers are both in this set.
 */
export async function readyPairExtensions(pool: Pool): Promise<Set<string>> {
  const r = await pool.query<{ number: string }>(
    `SELECT e.number FROM extensions e JOIN ps_endpoints p ON p.id = e.number
      WHERE e.kind = 'pair' AND e.enabled`,
  );
  return new Set(r.rows.map((x) => x.number));
}
