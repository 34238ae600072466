import type { Pool } from 'pg';
import { errorMessage } from '../../../common/src/errors.js';
import { logger, type Logger } from '../../../common/src/logger.js';
import type { PairStore } from '../alloc/index.js';
import { readyPairExtensions } from '../realtime/pairs.js';

export interface PairAvailabilityReport {
  enabled: number;
  disabled: string[];
  /** Pairs whose availability this pass changed in the store (every pair can be new on the first pass). */
  changed: string[];
}

/**
 * Keeps the pair pool and PJSIP realtime in agreement: a pair is handed out
 * only while both its extensions exist, are enabled and have their
 * ps_endpoints row (Asterisk would refuse to originate leg B otherwise).
 */
export class PairAvailabilitySync {
  readonly #store: PairStore;
  readonly #db: Pool;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<PairAvailabilityReport> | null = null;
  /** The disabled pairs the last pass reported, to log only what changes (null before the first pass). */
  #lastDisabled: ReadonlySet<string> | null = null;

  /** Pairs an operator took out of service (the console): never enabled by a pass. */
  readonly #held: { has(pairId: string): boolean } | null;

  constructor(store: PairStore, db: Pool, options: { log?: Logger; held?: { has(pairId: string): boolean } } = {}) {
    this.#store = store;
    this.#held = options.held ?? null;
    this.#db = db;
    this.#log = options.log ?? logger('control.pairs.availability');
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
    const changed: string[] = [];
    for (let i = 0; i < pool.size; i++) {
      const pairId = pool.pairIdAt(i);
      const { extA, extB } = pool.extensionsAt(i);
      const usable = ready.has(extA) && ready.has(extB) && this.#held?.has(pairId) !== true;
      if (!usable) disabled.push(pairId);
      // Every pair is re-asserted (another node or `tandem pairs` may have changed it); only changes are news.
      if (await this.#store.setEnabled(pairId, usable)) changed.push(pairId);
    }
    this.#logChanges(disabled);
    return { enabled: pool.size - disabled.length, disabled, changed };
  }

  /** The first pass says how things are; later passes speak only when the set of disabled pairs changed. */
  #logChanges(disabled: readonly string[]): void {
    const before = this.#lastDisabled;
    const now = new Set(disabled);
    this.#lastDisabled = now;
    if (before === null) {
      if (disabled.length > 0) this.#log.warn({ disabled: disabled.length, first: disabled.slice(0, 5) }, 'pairs without ready PJSIP extensions are not handed out');
      return;
    }
    const nowDisabled = disabled.filter((id) => !before.has(id));
    const nowEnabled = [...before].filter((id) => !now.has(id));
    if (nowDisabled.length === 0 && nowEnabled.length === 0) return;
    this.#log.info(
      { disabled: nowDisabled.length, enabled: nowEnabled.length, firstDisabled: nowDisabled.slice(0, 5), firstEnabled: nowEnabled.slice(0, 5), totalDisabled: disabled.length },
      'pair availability changed with PJSIP realtime',
    );
  }
}
