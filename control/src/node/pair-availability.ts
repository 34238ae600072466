import type { Pool } from 'pg';
import { errorMessage } from '../../../engine/src/common/errors.js';
import { logger } from '../../../engine/src/common/logger.js';
import type { PairStore } from '../alloc/index.js';
import { readyPairExtensions } from '../realtime/pairs.js';

export interface PairAvailabilityReport {
  enabled: number;
  disabled: string[];
}

/**
 * Keeps the pair pool and PJSIP realtime in agreement: a pair is handed out
 * only while both its extensions exist, are enabled and have their
 * ps_endpoints row (Asterisk would refuse to originate leg B otherwise).
 */
export class PairAvailabilitySync {
  readonly #store: PairStore;
  readonly #db: Pool;
  readonly #log = logger('control.pairs.availability');
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<PairAvailabilityReport> | null = null;

  constructor(store: PairStore, db: Pool) {
    this.#store = store;
    this.#db = db;
  }

  /** One pass: enables every ready pair and disables the others. */
  sync(): Promise<PairAvailabilityReport> {
    this.#running ??= this.#sync().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Syncs now, then every `intervalMs`. */
  async start(intervalMs = 60_000): Promise<PairAvailabilityReport> {
    const report = await this.sync();
    this.#timer = setInterval(() => {
      this.sync().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'pair availability sync failed'));
    }, intervalMs);
    this.#timer.unref();
    return report;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #sync(): Promise<PairAvailabilityReport> {
    const ready = await readyPairExtensions(this.#db);
    const pool = this.#store.pool;
    const disabled: string[] = [];
    for (let i = 0; i < pool.size; i++) {
      const pairId = pool.pairIdAt(i);
      const { extA, extB } = pool.extensionsAt(i);
      const usable = ready.has(extA) && ready.has(extB);
      if (!usable) disabled.push(pairId);
      await this.#store.setEnabled(pairId, usable);
    }
    if (disabled.length > 0) {
      this.#log.warn({ disabled: disabled.length, first: disabled.slice(0, 5) }, 'pairs without ready PJSIP extensions are not handed out');
    }
    return { enabled: pool.size - disabled.length, disabled };
  }
}
