import { hostname } from 'node:os';
import { z } from 'zod';
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

/**
 * Settings from the environment (`REDIS_URL`, `TANDEM_PAIR_BASE`, `TANDEM_POOL_SIZE`,
 * `TANDEM_LEASE_TTL_MS`, `TANDEM_REDIS_PREFIX`, `TANDEM_NODE`), over `overrides`.
 */
export function pairStoreSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: PairStoreConfig = {}): PairStoreSettings {
  const fromEnv: Record<string, unknown> = {};
  const num = (name: string, key: string): void => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new ConfigError(key, `${name}="${raw}" is not a number`);
    fromEnv[key] = value;
  };
  num('TANDEM_PAIR_BASE', 'baseExtension');
  num('TANDEM_POOL_SIZE', 'poolSize');
  num('TANDEM_LEASE_TTL_MS', 'leaseTtlMs');
  if (env['REDIS_URL']) fromEnv['redisUrl'] = env['REDIS_URL'];
  if (env['TANDEM_REDIS_PREFIX']) fromEnv['redisKeyPrefix'] = env['TANDEM_REDIS_PREFIX'];
  if (env['TANDEM_NODE']) fromEnv['node'] = env['TANDEM_NODE'];
  return parsePairStoreSettings({ ...fromEnv, ...overrides });
}
