/**
 * Every ARI object of a pair is named from its PAIR_ID before it is created, so
 * events that race the REST responses (leg B's StasisStart before the originate
 * returns, externalMedia's StasisStart either side of its POST) still find
 * their pair, and reconciliation can tell whose an object is.
 */
export interface PairObjectIds {
  bridgeA: string;
  bridgeB: string;
  legB: string;
  mediaA: string;
  mediaB: string;
}

export function pairObjectIds(pairId: string): PairObjectIds {
  return {
    bridgeA: `brg_${pairId}_A`,
    bridgeB: `brg_${pairId}_B`,
    legB: `chan_${pairId}_B`,
    mediaA: `em_${pairId}_A`,
    mediaB: `em_${pairId}_B`,
  };
}

const OWNED = /^(?:brg|chan|em)_(.+)_[AB]$/;

/** The PAIR_ID an object id belongs to, or null for ids Tandem did not name. */
export function pairIdOf(objectId: string): string | null {
  return OWNED.exec(objectId)?.[1] ?? null;
}
