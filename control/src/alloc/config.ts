import { hostname } from 'node:os';
import { z } from 'zod';
import { EnvVarError, asEnvVarError } from '../../../engine/src/common/env-error.js';
import { ConfigError } from '../../../engine/src/common/errors.js';
import { parseConfig } from '../../../engine/src/common/parse-config.js';

/**
 * Settings of the pair store, one place, with their defaults:
 *
 * | key                     | default              | meaning |
 * |-------------------------|----------------------|---------|
 * | baseExtension           | 7000                 | extension of side A of pair_001 |
 * | poolSize                | 100                  | number of pairs (1..100000) |
 * | leaseTtlMs              | 30000                | a lease not renewed for this long is free again |
 * | node                    | `<hostname>:<pid>`   | name of this process in the session table |
 * | redisUrl                | unset                | `redis://…`; unset means the in-memory store |
 * | redisKeyPrefix          | `tandem:`            | every Redis key of the store starts with it |
 * | redisCommandTimeoutMs   | 2000                 | a Redis command rejects after this long |
 * | redisConnectTimeoutMs   | 2000                 | a connection attempt gives up after this long |
 */
export const pairStoreSettingsSchema = z.object({
  baseExtension: z.number().int().min(0).max(999_999_999).default(7000),
  poolSize: z.number().int().min(1).max(100_000).default(100),
  leaseTtlMs: z.number().int().min(50).max(24 * 3600 * 1000).default(30_000),
  node: z.string().min(1).max(200).default(() => `${hostname()}:${process.pid}`),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  redisKeyPrefix: z.string().min(1).max(200).default('tandem:'),
  redisCommandTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
  redisConnectTimeoutMs: z.number().int().min(10).max(60_000).default(2000),
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
} as const satisfies Record<string, keyof PairStoreSettings>;

const NUMERIC_ENV = new Set<string>(['TANDEM_PAIR_BASE', 'TANDEM_POOL_SIZE', 'TANDEM_LEASE_TTL_MS']);

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
