import type { PairStore } from '../alloc/index.js';
import type { AriClient } from '../ari/index.js';
import type { CallConfig } from './call-config.js';
import type { EndedCall } from './call-facts.js';
import type { CallPair } from './call-pair.js';
import type { CallRejectCause } from './call-rejections.js';
import type { ExtensionLanguageLookup } from './extension-languages.js';
import type { PairLeftovers } from './pair-leftovers.js';
import type { MediaEnginePort } from './ports.js';
import type { ReconcileReport } from './reconcile.js';
import type { TeardownReason } from './teardown-reason.js';

/** What CallApp tells its listeners (the console, call records, metrics). */
export type CallAppEvents = {
  /** A caller was given a pair; its setup begins (the console shows the row from here). */
  pairallocated: [pair: CallPair];
  pairactive: [pair: CallPair];
  pairclosed: [pairId: string, reason: TeardownReason];
  /** Once per call, after its teardown: what its call record says (emitted right after `pairclosed`). */
  callended: [call: EndedCall];
  callrejected: [channelId: string, reason: CallRejectCause];
  reconciled: [report: ReconcileReport];
  /** At start: the calls of a previous process of this node taken over and relaying again. */
  adopted: [pairIds: string[]];
  /** A pair's teardown left objects Asterisk did not confirm gone: the pair stays leased (state `releasing`) until they are. */
  pairheld: [pairId: string, leftovers: PairLeftovers];
  /** A held pair's leftovers are confirmed gone and its lease released. */
  pairunheld: [pairId: string];
  listenererror: [event: string, error: unknown];
};

/** What CallApp is given by the node that runs it. */
export interface CallAppDeps {
  ari: AriClient;
  engine: MediaEnginePort;
  store: PairStore;
  config: CallConfig;
  /** This node's name in the pair store (leases it holds carry it). */
  node: string;
  /** Periodic reconciliation, for leftovers of crashed nodes whose leases have since expired. 0 = off. */
  reconcileIntervalMs?: number;
  /** Retries of DELETEs a teardown could not confirm: the first after this long, doubling up to leftoverRetryMaxMs. */
  leftoverRetryMinMs?: number;
  leftoverRetryMaxMs?: number;
  /** After a failed allocation, a reconciliation this much later frees a lease the store granted all the same (default 5000). */
  reconcileAfterStoreFailureMs?: number;
  /** At start, adopt the calls a previous process of this node left up (default true); false = tear them down. */
  adopt?: boolean;
  /** Each party's language from its extension (migration 006); absent: the node's defaults only. */
  extensionLanguages?: ExtensionLanguageLookup;
}
