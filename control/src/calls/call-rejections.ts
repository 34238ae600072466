import { BurstLog } from '../../../common/src/burst-log.js';
import type { Logger } from '../../../common/src/logger.js';
import { PoolExhaustedError } from '../alloc/index.js';

/**
 * Why a caller was turned away before any pair was set up: every usable pair is leased
 * (`pool-exhausted`), the free ones have their leg B marked unreachable by presence
 * (`legb-unreachable`), the pair store failed (`allocation-failed`), or the node is draining
 * (`draining`: it finishes the calls it has and takes no new one).
 */
export type CallRejectCause = 'pool-exhausted' | 'legb-unreachable' | 'allocation-failed' | 'draining';

export const CALL_REJECT_CAUSES: readonly CallRejectCause[] = ['pool-exhausted', 'legb-unreachable', 'allocation-failed', 'draining'];

/** The rejections' counts and log: a flood of rejections is a few log lines, not one per caller. */
export function callRejectionLog(log: Logger): BurstLog<CallRejectCause> {
  return new BurstLog<CallRejectCause>(log, {
    what: 'calls rejected',
    reasons: CALL_REJECT_CAUSES,
    labels: {
      'pool-exhausted': 'pool exhausted',
      'legb-unreachable': 'no free pair whose leg B is reachable',
      'allocation-failed': 'pair allocation failed',
      draining: 'node draining',
    },
  });
}

/** The cause a failed allocation is reported under. */
export function rejectCause(err: unknown): CallRejectCause {
  if (!(err instanceof PoolExhaustedError)) return 'allocation-failed';
  return err.unreachable > 0 ? 'legb-unreachable' : 'pool-exhausted';
}
