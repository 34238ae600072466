import type { PairStore } from '../alloc/index.js';

/**
 * Pairs an operator disabled from the console. The store stops handing them
 * out; PairAvailabilitySync (PJSIP realtime) reads `has()` so its periodic pass
 * does not hand them out again behind the operator's back. In memory, per node:
 * a restart (or `tandem pairs enable`) ends a hold.
 */
export class OperatorHolds {
  readonly #held = new Set<string>();

  has(pairId: string): boolean {
    return this.#held.has(pairId);
  }

  list(): string[] {
    return [...this.#held];
  }

  async set(store: PairStore, pairId: string, enabled: boolean): Promise<void> {
    if (enabled) this.#held.delete(pairId);
    else this.#held.add(pairId);
    await store.setEnabled(pairId, enabled);
  }
}
