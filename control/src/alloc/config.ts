import { z } from 'zod';
import { EnvVarError, asEnvVarError } from '../../../common/src/env-error.js';
import { ConfigError } from '../../../common/src/errors.js';
import { parseConfig } from '../../../common/src/parse-config.js';

/**
 * How presence of a pair's EXT_B decides whether the pair is handed out (with AMI presence;
 * without it every enabled pair is, and a failed originate marks its pair suspect).
 * `skip-offline`: not while EXT_B is offline (no contact, or its contact stopped answering
 * qualify: Asterisk would answer the originate 500 `Allocation failed`). `require-online`:
 * only while EXT_B is known online (`unknown` counts as unreachable too). `ignore`: presence
 * plays no part (pair extensions that never register, e.g. static contacts without qualify).
 */
export const LEG_B_PRESENCE_POLICIES = ['skip-offline', 'require-online', 'ignore'] as const;
export type LegBPresencePolicy = (typeof LEG_B_PRESENCE_POLICIES)[number];

/**
 * Settings of the pair store, one place, with their defaults:
 *
 * | key                     | default              | meaning |
 * |-------------------------|----------------------|---------|
 * | baseExtension           | 7000                 | extension of side A of pair_001 |
 * | poolSize                | 100                  | number of pairs (1..100000) |
 * | leaseTtlMs              | 30000                | a lease not renewed for this long is free again |
 * | node                    | unset                | name of this node in the lease table; `tandem start` defaults it to `<hostname>:<ARI app>` (stable across restarts, see node-identity.ts) |
 * | redisUrl                | unset                | `redis://…`; unset means the in-memory store |
 * | redisKeyPrefix          | `tandem:`            | every Redis key of the store starts with it |
 * | redisCommandTimeoutMs   | 2000                 | a Redis command rejects after this long |
 * | redisConnectTimeoutMs   | 2000                 | a connection attempt gives up after this long |
 * | suspectCooldownMs       | 60000                | a pair whose leg B could not be originated waits at the back of the line this long (0 = not at all) |
 * | legBPresence            | `skip-offline`       | which pairs AMI presence keeps out of the line: `skip-offline` (EXT_B offline), `require-online` (EXT_B not known online), `ignore` (none) |
 */
export const pairStoreSettingsSchema = z.object({
  baseExtension: z.number().int().min(0).max(999_999_999).default(7000),
  poolSize: z.number().int().min(1).max(100_000).default(100),
  leaseTtlMs: z.number().int().min(50).max(24 * 3600 * 1000).default(30_000),
  node: z.string().min(1).max(200).optional(),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  redisKeyPrefix: z.string().min(1).max(200).default('tandem:'),
  redisCommandTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
  redisConnectTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
  suspectCooldownMs: z.number().int().min(0).max(24 * 3600 * 1000).default(60_000),
  legBPresence: z.enum(LEG_B_PRESENCE_POLICIES).default('skip-offline'),
});

export type PairStoreSettings = z.output<typeof pairStoreSettingsSchema>;
export type PairStoreConfig = z.input<typeof pairStoreSettingsSchema>;

/** Validates `input`; a ConfigError names the first offending key. */
export function parsePairStoreSettings(input: unknown): PairStoreSettings {
  return parseConfig(pairStoreSettingsSchema.strict(), input, 'pairStore');
}

/** The variables pairStoreSettingsFromEnv reads, and the settings key each sets. */
export const PAIR_STORE_ENV = {
  TANDEM_PAIR_BASE: 'baseExtension',
  TANDEM_POOL_SIZE: 'poolSize',
  TANDEM_LEASE_TTL_MS: 'leaseTtlMs',
  REDIS_URL: 'redisUrl',
  TANDEM_REDIS_PREFIX: 'redisKeyPrefix',
  TANDEM_NODE: 'node',
  TANDEM_SUSPECT_COOLDOWN_MS: 'suspectCooldownMs',
  TANDEM_LEGB_PRESENCE: 'legBPresence',
} as const satisfies Record<string, keyof PairStoreSettings>;

const NUMERIC_ENV = new Set<string>(['TANDEM_PAIR_BASE', 'TANDEM_POOL_SIZE', 'TANDEM_LEASE_TTL_MS', 'TANDEM_SUSPECT_COOLDOWN_MS']);

/**
 * Settings from the environment (PAIR_STORE_ENV), over `overrides`. A wrong
 * value is an EnvVarError naming the variable and what is wrong with it.
 */
export function pairStoreSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: PairStoreConfig = {}): PairStoreSettings {
  const fromEnv: Record<string, unknown> = {};
  const variableOf = new Map<string, string>();
  for (const [variable, key] of Object.entries(PAIR_STORE_ENV)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const value = NUMERIC_ENV.has(variable) ? Number(raw) : raw;
    if (typeof value === 'number' && !Number.isFinite(value)) throw EnvVarError.invalid(variable, raw, 'not a number');
    fromEnv[key] = value;
    variableOf.set(key, variable);
  }
  try {
    return parsePairStoreSettings({ ...fromEnv, ...overrides });
  } catch (err) {
    const variable = err instanceof ConfigError && !(err.key in overrides) ? variableOf.get(err.key) : undefined;
    if (err instanceof ConfigError && variable !== undefined) throw asEnvVarError(err, variable, env[variable] ?? '');
    throw err;
  }
}
