import { z } from 'zod';
import { ConfigError } from '../../../engine/src/common/errors.js';

/**
 * Every setting of a via-ARI load run, with its default, in one place.
 *
 * | key                      | default                      | meaning |
 * |--------------------------|------------------------------|---------|
 * | calls                    | 100                          | calls placed in total |
 * | ratePerSecond            | 50                           | new calls per second (absolute schedule) |
 * | holdSeconds              | 2                            | the caller hangs up this long after its StasisStart |
 * | maxConcurrent            | min(calls, ⌈rate·hold⌉ + 10) | calls up at once; placement waits beyond it |
 * | poolSize                 | 2 · maxConcurrent            | pairs in Tandem's pool (= answering pair endpoints); a lease is held until Tandem's teardown ends, after the caller left |
 * | ringMs                   | 0                            | leg B answers after this long (0 = at once) |
 * | sessionLimit             | 100                          | the simulated http.conf `sessionlimit` |
 * | ariMaxConcurrentRequests | min(40, sessionLimit − 3)    | Tandem's ARI request bound (WebSocket + a spare kept free) |
 * | workers                  | 1                            | engine worker threads |
 * | portRange                | 31000–32999                  | engine leg ports (2 per pair) |
 * | setupTimeoutMs           | 5000                         | a call without audio on both phones by then failed (capped at the hold) |
 * | teardownTimeoutMs        | 10000                        | how long the end waits for everything to be released |
 * | pollIntervalMs           | 1                            | how often the phones are looked at (setup time resolution) |
 */
export const viaAriConfigSchema = z
  .object({
    calls: z.number().int().min(1).max(100_000).default(100),
    ratePerSecond: z.number().positive().max(10_000).default(50),
    holdSeconds: z.number().positive().max(3600).default(2),
    maxConcurrent: z.number().int().min(1).max(100_000).optional(),
    poolSize: z.number().int().min(1).max(100_000).optional(),
    ringMs: z.number().int().min(0).max(60_000).default(0),
    sessionLimit: z.number().int().min(4).max(100_000).default(100),
    ariMaxConcurrentRequests: z.number().int().min(1).max(100_000).optional(),
    workers: z.number().int().min(1).max(64).default(1),
    /** Engine leg ports; default 31000–32999 (below Linux's ephemeral range, away from the engine's own default). */
    portRange: z
      .object({ min: z.number().int().min(1024).max(65535), max: z.number().int().min(1024).max(65535) })
      .refine((r) => r.max >= r.min, { message: 'max must be >= min' })
      .default({ min: 31000, max: 32999 }),
    setupTimeoutMs: z.number().int().min(1).max(600_000).default(5000),
    teardownTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    pollIntervalMs: z.number().int().min(1).max(100).default(1),
  })
  .strict();

export type ViaAriConfigInput = z.input<typeof viaAriConfigSchema>;

export interface ViaAriConfig extends Omit<z.output<typeof viaAriConfigSchema>, 'maxConcurrent' | 'poolSize' | 'ariMaxConcurrentRequests'> {
  maxConcurrent: number;
  poolSize: number;
  ariMaxConcurrentRequests: number;
}

/** Connections the ARI client holds besides its requests: the event WebSocket, and one spare. */
const SESSIONS_RESERVED = 3;

/** Validates and fills defaults; a ConfigError names the first wrong key. */
export function parseViaAriConfig(input: unknown = {}): ViaAriConfig {
  const result = viaAriConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(issue && issue.path.length > 0 ? issue.path.join('.') : 'loadtest', issue?.message ?? 'invalid via-ARI load test settings');
  }
  const c = result.data;
  const maxConcurrent = c.maxConcurrent ?? Math.min(c.calls, Math.ceil(c.ratePerSecond * c.holdSeconds) + 10);
  const ariMax = c.ariMaxConcurrentRequests ?? Math.min(40, c.sessionLimit - SESSIONS_RESERVED);
  const poolSize = c.poolSize ?? maxConcurrent * 2;
  const portsNeeded = poolSize * 2;
  if (c.portRange.max - c.portRange.min + 1 < portsNeeded) {
    throw new ConfigError('portRange', `${poolSize} pairs need ${portsNeeded} ports, the range has ${c.portRange.max - c.portRange.min + 1}`);
  }
  return { ...c, maxConcurrent, poolSize, ariMaxConcurrentRequests: ariMax };
}
