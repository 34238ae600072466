import { z } from 'zod';
import { ConfigError } from '../../common/src/errors.js';

/**
 * Every setting of a via-ARI load run, with its default, in one place.
 *
 * | key                      | default                      | meaning |
 * |--------------------------|------------------------------|---------|
 * | calls                    | 100                          | calls placed in total |
 * | ratePerSecond            | 50                           | new calls per second (absolute schedule) |
 * | holdSeconds              | 2                            | the caller hangs up this long after its StasisStart (or after it is set up: holdFrom) |
 * | holdFrom                 | stasis-start                 | `stasis-start`: the hold counts from the call's StasisStart, so a setup slower than it fails; `set-up`: from audio both ways, so a slow setup is measured, not failed (tests on busy machines) |
 * | maxConcurrent            | min(calls, ⌈rate·hold⌉ + 10) | calls up at once; placement waits beyond it |
 * | poolSize                 | 2 · maxConcurrent            | pairs in Tandem's pool (= answering pair endpoints); a lease is held until Tandem's teardown ends, after the caller left |
 * | ringMs                   | 0                            | leg B answers after this long (0 = at once) |
 * | sessionLimit             | 100                          | the simulated http.conf `sessionlimit` |
 * | ariMaxConcurrentRequests | min(40, sessionLimit − 3)    | Tandem's ARI request bound (WebSocket + a spare kept free) |
 * | workers                  | 1                            | engine worker threads |
 * | portRange                | 31000–32999                  | engine leg ports (2 per pair) |
 * | setupTimeoutMs           | 5000                         | a call without audio on both phones by then failed (capped at the hold when it counts from StasisStart) |
 * | teardownTimeoutMs        | 10000                        | how long the end waits for everything to be released |
 * | pollIntervalMs           | 1                            | how often the phones are looked at (setup time resolution) |
 * | processMode              | node-process                 | `node-process`: Tandem is `tandem start` in a child process; `in-process`: a TandemNode on the driver's event loop |
 * | redisUrl                 | unset                        | pairs in Redis (a fresh key prefix per run) instead of memory |
 * | readyTimeoutMs           | 60000                        | node-process: how long `tandem start` may take to be ready |
 * | stopTimeoutMs            | 10000                        | node-process: SIGTERM → exit, SIGKILL after this |
 * | cpuProfileDir            | unset                        | node-process: `tandem start` writes a V8 CPU profile of its main thread here when it exits |
 * | deleteDelayMs            | 0                            | the simulator acts on and answers each hangup / bridge destroy after this long: fixed, or `[min, max]` |
 * | deleteDropRate           | 0                            | fraction (0..1) of hangups / bridge destroys never answered (half of them done all the same): Tandem must confirm or hold and retry |
 * | ariRequestTimeoutMs      | 10000                        | in-process: Tandem's ARI request deadline (how soon a dropped DELETE times out); `tandem start` has 10 s |
 *
 * In node-process mode Tandem's ARI request bound is `tandem start`'s own (40,
 * it has no setting for it), so `ariMaxConcurrentRequests` cannot be chosen.
 */
export const viaAriConfigSchema = z
  .object({
    calls: z.number().int().min(1).max(100_000).default(100),
    ratePerSecond: z.number().positive().max(10_000).default(50),
    holdSeconds: z.number().positive().max(3600).default(2),
    holdFrom: z.enum(['stasis-start', 'set-up']).default('stasis-start'),
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
    processMode: z.enum(['node-process', 'in-process']).default('node-process'),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    readyTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
    stopTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    cpuProfileDir: z.string().min(1).optional(),
    deleteDelayMs: z
      .union([
        z.number().min(0).max(60_000),
        z
          .tuple([z.number().min(0).max(60_000), z.number().min(0).max(60_000)])
          .refine(([min, max]) => max >= min, { message: 'max must be >= min' }),
      ])
      .default(0),
    deleteDropRate: z.number().min(0).max(1).default(0),
    ariRequestTimeoutMs: z.number().int().min(100).max(600_000).optional(),
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

/** The ARI request bound `tandem start` runs with (AriClientAdapter's default; no flag or variable sets it). */
export const TANDEM_START_ARI_BOUND = 40;

/** Validates and fills defaults; a ConfigError names the first wrong key. */
export function parseViaAriConfig(input: unknown = {}): ViaAriConfig {
  const result = viaAriConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(issue && issue.path.length > 0 ? issue.path.join('.') : 'loadtest', issue?.message ?? 'invalid via-ARI load test settings');
  }
  const c = result.data;
  const maxConcurrent = c.maxConcurrent ?? Math.min(c.calls, Math.ceil(c.ratePerSecond * c.holdSeconds) + 10);
  if (c.processMode === 'node-process' && c.ariMaxConcurrentRequests !== undefined && c.ariMaxConcurrentRequests !== TANDEM_START_ARI_BOUND) {
    throw new ConfigError('ariMaxConcurrentRequests', `tandem start has no setting for it (it uses ${TANDEM_START_ARI_BOUND}); use processMode in-process to choose it`);
  }
  if (c.processMode === 'node-process' && c.ariRequestTimeoutMs !== undefined) {
    throw new ConfigError('ariRequestTimeoutMs', 'tandem start has no setting for it (10 s); use processMode in-process to choose it');
  }
  if (c.processMode === 'in-process' && c.cpuProfileDir !== undefined) {
    throw new ConfigError('cpuProfileDir', 'profiles only a separate Tandem process (processMode node-process)');
  }
  const ariMax =
    c.processMode === 'node-process' ? TANDEM_START_ARI_BOUND : (c.ariMaxConcurrentRequests ?? Math.min(TANDEM_START_ARI_BOUND, c.sessionLimit - SESSIONS_RESERVED));
  const poolSize = c.poolSize ?? maxConcurrent * 2;
  const portsNeeded = poolSize * 2;
  if (c.portRange.max - c.portRange.min + 1 < portsNeeded) {
    throw new ConfigError('portRange', `${poolSize} pairs need ${portsNeeded} ports, the range has ${c.portRange.max - c.portRange.min + 1}`);
  }
  return { ...c, maxConcurrent, poolSize, ariMaxConcurrentRequests: ariMax };
}
