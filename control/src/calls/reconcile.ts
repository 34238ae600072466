import type { PairStore } from '../alloc/index.js';
import { isExternalMediaChannel, type AriClient } from '../ari/index.js';
import type { CallPair } from './call-pair.js';
import { pairIdOf } from './naming.js';

export interface ReconcileReport {
  hungUpChannels: string[];
  destroyedBridges: string[];
  releasedLeases: string[];
  tornDownPairs: string[];
  /** Held pairs (see `pairheld`) whose leftovers this round confirmed gone, and released. */
  clearedPairs: string[];
}

/** This node's side of a reconciliation: its calls, and Asterisk's and the store's view it is compared with. */
export interface ReconcileScope {
  ari: AriClient;
  store: PairStore;
  /** This node's name in the pair store. */
  node: string;
  /** The node's live pairs by pairId. */
  pairs: ReadonlyMap<string, CallPair>;
  /** True for a channel routed to a live pair, or a caller whose pair is being allocated. */
  owns: (channelId: string) => boolean;
  /** The lease token this node's LeaseKeeper holds for the pair, if any. */
  heldLease: (pairId: string) => string | undefined;
}

/**
 * One pass of CallApp.reconcile() after the held pairs' round (`clearedPairs`): tears down pairs
 * whose hangup was missed, hangs up channels and destroys bridges no live pair owns, and releases
 * this node's call leases without a live call.
 */
export async function reconcileCalls(scope: ReconcileScope, clearedPairs: string[]): Promise<ReconcileReport> {
  const { ari, store, node, pairs } = scope;
  const report: ReconcileReport = { hungUpChannels: [], destroyedBridges: [], releasedLeases: [], tornDownPairs: [], clearedPairs };
  const [channels, bridges, leases, application] = await Promise.all([ari.listChannels(), ari.listBridges(), store.list(), ari.getApplication()]);
  const present = new Set(channels.map((c) => c.id));
  const inOurApp = new Set(application.channel_ids);

  // Pairs whose caller or answered leg B vanished while we were not listening.
  await Promise.all(
    [...pairs.values()].map(async (pair) => {
      const callerMissing = !present.has(pair.callerChannelId);
      const legBMissing = pair.state === 'active' && !present.has(pair.ids.legB);
      if (pair.state !== 'tearing-down' && pair.state !== 'closed' && (callerMissing || legBMissing)) {
        report.tornDownPairs.push(pair.pairId);
        await pair.teardown('missed-hangup');
      }
    }),
  );

  // Pairs alive anywhere: ours, leases other nodes hold in a shared store, and every API
  // client's lease. What is left are this node's call leases without a call.
  const live = new Set<string>(pairs.keys());
  const reclaimable = (lease: (typeof leases)[number]): boolean =>
    lease.node === node && lease.owner === 'call' && !pairs.has(lease.pairId) && scope.heldLease(lease.pairId) !== lease.leaseToken;
  for (const lease of leases) if (!reclaimable(lease)) live.add(lease.pairId);

  for (const channel of channels) {
    if (scope.owns(channel.id)) continue;
    const pairId = pairIdOf(channel.id);
    if (pairId !== null && live.has(pairId)) continue;
    // Ours: named by Tandem, an externalMedia leg, or any channel in our Stasis
    // app (a caller whose pair died with a previous process can never be served).
    const ours = pairId !== null || isExternalMediaChannel(channel) || inOurApp.has(channel.id);
    if (!ours) continue;
    if (await ari.hangup(channel.id).catch(() => false)) report.hungUpChannels.push(channel.id);
  }
  for (const bridge of bridges) {
    const pairId = pairIdOf(bridge.id);
    if (pairId === null || !bridge.id.startsWith('brg_') || live.has(pairId)) continue;
    if (await ari.destroyBridge(bridge.id).catch(() => false)) report.destroyedBridges.push(bridge.id);
  }
  for (const lease of leases) {
    if (!reclaimable(lease)) continue;
    if (await store.release(lease.pairId, lease.leaseToken).catch(() => false)) report.releasedLeases.push(lease.pairId);
  }
  return report;
}
