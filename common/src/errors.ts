/**
 * The few named errors Tandem throws. Arguments that are wrong get the built-in
 * TypeError / RangeError; lifecycle misuse and timeouts get these, so callers can
 * branch on the class (and tests on `code`) rather than on message text.
 */

/** Using an object after its `close()`, or before it is ready. */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}

/** A request that got no answer within its deadline. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Configuration that fails validation; `key` names the offending setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

/** Narrows an unknown thrown value to a message without losing non-Error throws. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
