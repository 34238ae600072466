/**
 * Errors of the pair store. Each carries a stable `code` that the HTTP layer maps to a
 * status and that tests assert on (never the message text).
 */

/** Every enabled pair is leased; the caller should reject the call cleanly. */
export class PoolExhaustedError extends Error {
  override readonly name = 'PoolExhaustedError';
  readonly code = 'POOL_EXHAUSTED' as const;
  constructor(readonly poolSize: number) {
    super(`no free pair: all enabled pairs of a pool of ${poolSize} are leased`);
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
