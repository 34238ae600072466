/**
 * Errors of the pair store. Each carries a stable `code` that the HTTP layer maps to a
 * status and that tests assert on (never the message text).
 */

/**
 * No pair can be handed out: every enabled pair is leased, or the free ones have their
 * leg B marked unreachable. The caller should reject the call cleanly; `unreachable > 0`
 * says presence, not load, is why.
 */
export class PoolExhaustedError extends Error {
  override readonly name = 'PoolExhaustedError';
  readonly code = 'POOL_EXHAUSTED' as const;
  /** Pairs leased when the allocation failed. */
  readonly leased: number;
  /** Free, enabled pairs not handed out because their leg B is marked unreachable. */
  readonly unreachable: number;

  constructor(
    readonly poolSize: number,
    counts: { leased?: number; unreachable?: number } = {},
  ) {
    const leased = counts.leased ?? poolSize;
    const unreachable = counts.unreachable ?? 0;
    const disabled = Math.max(0, poolSize - leased - unreachable);
    super(
      unreachable === 0
        ? `no free pair: all enabled pairs of a pool of ${poolSize} are leased (${leased} leased, ${disabled} disabled)`
        : `no free pair whose leg B is reachable: ${unreachable === 1 ? '1 free pair has its' : `${unreachable} free pairs have their`} leg B extension marked unreachable by presence (pool of ${poolSize}: ${leased} leased, ${disabled} disabled)`,
    );
    this.leased = leased;
    this.unreachable = unreachable;
  }
}

/**
 * The backing store (Redis) did not answer in time or refused the connection.
 * Raised within the configured command timeout, never after an unbounded wait.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
