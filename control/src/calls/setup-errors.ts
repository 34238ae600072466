import { errorMessage } from '../../../common/src/errors.js';
import { AriError } from '../ari/index.js';
import type { TeardownReason } from './teardown-reason.js';

/** Thrown by a setup step that finds the pair already torn down: setup just stops. */
export class PairClosedDuringSetup extends Error {}

/** A setup step failed in a way that names its teardown reason. */
export class SetupError extends Error {
  constructor(
    readonly reason: TeardownReason,
    override readonly cause: unknown,
  ) {
    super(errorMessage(cause));
  }
}

/**
 * A channel that vanished under a setup request (404, or 400 "Channel not
 * found" from addChannel) means its party hung up while we were building:
 * report that, not a setup failure.
 */
export function vanished(reason: TeardownReason): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof AriError && (err.code === 'NOT_FOUND' || /channel not found/i.test(err.message))) throw new SetupError(reason, err);
    throw err;
  };
}
