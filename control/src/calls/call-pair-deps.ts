import type { PairTranslation } from '../../../engine/src/index.js';
import type { Logger } from '../../../common/src/logger.js';
import type { PairLease } from '../alloc/index.js';
import type { AriClient } from '../ari/index.js';
import type { CallConfig } from './call-config.js';
import type { CallPair } from './call-pair.js';
import type { PairLeftovers } from './pair-leftovers.js';
import type { MediaEnginePort } from './ports.js';
import type { TeardownReason } from './teardown-reason.js';

/** What one call is given by the app that accepted it: its clients, its lease and caller, and where it reports back. */
export interface CallPairDeps {
  ari: AriClient;
  engine: MediaEnginePort;
  config: CallConfig;
  lease: PairLease;
  callerChannelId: string;
  callerId: string | null;
  /** When the caller's StasisStart arrived: the call's start in its record (default: now). */
  arrivedAt?: number;
  /** This call's translation (the node's default with the call's languages); omitted = transparent duplex. */
  translation?: PairTranslation;
  log: Logger;
  /**
   * Returns the lease; called exactly once, at the end of teardown, with the reason (an originate
   * that failed makes the pair suspect) and what Asterisk did not confirm gone: while `leftovers`
   * is not empty the pair must not be handed out again (its old leg B may still be up).
   */
  releaseLease: (pairId: string, reason: TeardownReason, leftovers: PairLeftovers) => Promise<void>;
  onActive?: (pair: CallPair) => void;
  onClosed: (pair: CallPair, reason: TeardownReason) => void;
}

export type CallPairState = 'setting-up' | 'ringing' | 'active' | 'tearing-down' | 'closed';
