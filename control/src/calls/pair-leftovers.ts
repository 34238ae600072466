import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { AriClient } from '../ari/index.js';
import type { TeardownReason } from './teardown-reason.js';

/**
 * What a teardown could not confirm gone: a DELETE that failed or timed out (Asterisk may or may
 * not have acted on it). 2xx and 404 both confirm: the object is gone or going.
 */
export interface PairLeftovers {
  channels: string[];
  bridges: string[];
}

export type PairLeftoverEvents = {
  /** A pair's teardown left objects Asterisk did not confirm gone: the pair stays leased until they are. */
  held: [pairId: string, leftovers: PairLeftovers];
  /** Every leftover of the pair is confirmed gone and its lease released. */
  cleared: [pairId: string];
  listenererror: [event: string, error: unknown];
};

export interface PairLeftoverDeps {
  ari: Pick<AriClient, 'hangup' | 'destroyBridge'>;
  /** Releases the pair's lease once its leftovers are gone (rejects: tried again next round). */
  release: (pairId: string, reason: TeardownReason) => Promise<void>;
  log: Logger;
  /** First retry after this long, doubling per round that left something, up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface HeldPair {
  readonly reason: TeardownReason;
  readonly channels: Set<string>;
  readonly bridges: Set<string>;
  readonly since: number;
}

/**
 * Pairs whose teardown could not confirm every Asterisk object gone (a DELETE that failed or
 * timed out while Asterisk was slow). Each such pair keeps its lease, so it is not handed to a
 * new call while its old leg B may still be up, and its leftovers are deleted again (2xx or 404
 * confirms) with backoff until none is left; then the lease is released. If the process dies
 * first, the lease carries this node's identity and the next start's reconciliation clears it.
 */
export class PairLeftoverSweeper extends TypedEmitter<PairLeftoverEvents> {
  readonly #deps: PairLeftoverDeps;
  readonly #held = new Map<string, HeldPair>();
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  #failedRounds = 0;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<string[]> | null = null;
  #closed = false;

  constructor(deps: PairLeftoverDeps) {
    super();
    this.#deps = deps;
    this.#retryMinMs = deps.retryMinMs ?? 200;
    this.#retryMaxMs = deps.retryMaxMs ?? 10_000;
  }

  /** Pairs held for their leftovers: pairId → what is left. */
  held(): Map<string, PairLeftovers> {
    return new Map([...this.#held].map(([pairId, h]) => [pairId, { channels: [...h.channels], bridges: [...h.bridges] }]));
  }

  has(pairId: string): boolean {
    return this.#held.has(pairId);
  }

  hold(pairId: string, reason: TeardownReason, leftovers: PairLeftovers): void {
    this.#held.set(pairId, { reason, channels: new Set(leftovers.channels), bridges: new Set(leftovers.bridges), since: Date.now() });
    this.#deps.log.warn({ pairId, channels: leftovers.channels, bridges: leftovers.bridges }, 'pair held until Asterisk confirms its leftovers gone');
    this.safeEmit('held', pairId, leftovers);
    this.#failedRounds = 0;
    this.#schedule();
  }

  /** The pair's lease was lost (expired, taken over): its objects are no longer ours to delete. */
  forget(pairId: string): void {
    if (this.#held.delete(pairId)) this.#deps.log.warn({ pairId }, 'lease of a held pair lost; its leftovers are left to its next holder');
  }

  /** One round now: deletes every leftover again; resolves with the pairs it cleared. */
  retryNow(): Promise<string[]> {
    this.#round ??= this.#sweep().finally(() => {
      this.#round = null;
    });
    return this.#round;
  }

  /** A last round, then no more retries; pairs still held keep their leases (they lapse, or the next start reconciles them). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.retryNow().catch(() => undefined);
    if (this.#held.size > 0) this.#deps.log.warn({ pairs: [...this.#held.keys()] }, 'closing with pairs still held for their leftovers; the next start reconciles them');
    this.removeAllListeners();
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== null || this.#held.size === 0) return;
    const delay = Math.min(this.#retryMaxMs, this.#retryMinMs * 2 ** Math.min(this.#failedRounds, 20));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.retryNow();
    }, delay);
    this.#timer.unref();
  }

  async #sweep(): Promise<string[]> {
    const { ari, release, log } = this.#deps;
    const cleared: string[] = [];
    await Promise.all(
      [...this.#held].map(async ([pairId, held]) => {
        // Channels first: a bridge outliving its channels is harmless, the reverse is what this is for.
        await Promise.all([...held.channels].map((id) => confirm(() => ari.hangup(id)).then((gone) => gone && held.channels.delete(id))));
        await Promise.all([...held.bridges].map((id) => confirm(() => ari.destroyBridge(id)).then((gone) => gone && held.bridges.delete(id))));
        if (held.channels.size > 0 || held.bridges.size > 0) return;
        try {
          await release(pairId, held.reason);
        } catch (err) {
          log.warn({ pairId, err: errorMessage(err) }, 'releasing a cleared pair failed; retrying');
          return;
        }
        if (this.#held.get(pairId) !== held) return;
        this.#held.delete(pairId);
        cleared.push(pairId);
        log.info({ pairId, heldMs: Date.now() - held.since }, 'leftovers confirmed gone; pair released');
        this.safeEmit('cleared', pairId);
      }),
    );
    this.#failedRounds = this.#held.size === 0 ? 0 : this.#failedRounds + 1;
    this.#schedule();
    return cleared;
  }
}

/** True once Asterisk confirmed the object gone (2xx, or 404: already gone); false while it did not answer so. */
async function confirm(op: () => Promise<boolean>): Promise<boolean> {
  try {
    await op();
    return true;
  } catch {
    return false;
  }
}
