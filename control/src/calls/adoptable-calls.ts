import type { PairLease, PairStore } from '../alloc/index.js';
import type { AriChannel, AriClient } from '../ari/index.js';
import { pairIdOf, pairObjectIds } from './naming.js';

/** A call a previous process of this node left up, which this one can take over. */
export interface AdoptableCall {
  pairId: string;
  /** The caller's channel, in bridge A. */
  caller: AriChannel;
  /** This node's call lease on the pair; null when the pair is free in the store (claimed before adopting). */
  lease: PairLease | null;
}

/**
 * The calls left up that CallApp can adopt: both bridges exist, a caller is in bridge A and leg B is
 * up in bridge B, the pair is in this pool, and its lease is this node's call lease (Redis) or
 * there is none (the memory store, which forgot everything: the table is rebuilt from Asterisk's
 * objects, by their names).
 */
export async function findAdoptableCalls(ari: AriClient, store: PairStore, node: string): Promise<AdoptableCall[]> {
  const [channels, bridges, leases] = await Promise.all([ari.listChannels(), ari.listBridges(), store.list()]);
  const channelById = new Map(channels.map((c) => [c.id, c]));
  const bridgeById = new Map(bridges.map((b) => [b.id, b]));
  const leaseOf = new Map(leases.map((l) => [l.pairId, l]));
  const candidates = new Set<string>();
  for (const bridge of bridges) {
    const pairId = pairIdOf(bridge.id);
    if (pairId !== null && bridge.id === pairObjectIds(pairId).bridgeA) candidates.add(pairId);
  }
  const found: AdoptableCall[] = [];
  for (const pairId of candidates) {
    const ids = pairObjectIds(pairId);
    const bridgeA = bridgeById.get(ids.bridgeA);
    const bridgeB = bridgeById.get(ids.bridgeB);
    const legB = channelById.get(ids.legB);
    const callerId = bridgeA?.channels.find((id) => id !== ids.mediaA && pairIdOf(id) === null);
    const caller = callerId === undefined ? undefined : channelById.get(callerId);
    if (!bridgeA || !bridgeB || !legB || legB.state !== 'Up' || !bridgeB.channels.includes(ids.legB) || !caller) continue;
    let poolIndexOk = true;
    try {
      store.pool.indexOf(pairId);
    } catch {
      poolIndexOk = false;
    }
    if (!poolIndexOk) continue;
    const existing = leaseOf.get(pairId);
    if (existing !== undefined && (existing.node !== node || existing.owner !== 'call')) continue;
    found.push({ pairId, caller, lease: existing ?? null });
  }
  return found;
}
