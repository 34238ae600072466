import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { LegBPresencePolicy, PairStore } from '../alloc/index.js';
import type { AmiConnectionEvents } from '../ami/connection.js';
import type { PresenceTrackerEvents } from '../ami/presence.js';
import type { ExtensionStatus, PresenceStore } from '../realtime/presence-store.js';

/** What the sync needs from the AMI connection (`AmiConnection` fits). */
export interface PresenceLink {
  readonly loggedIn: boolean;
  on(event: 'disconnected', listener: (...args: AmiConnectionEvents['disconnected']) => void): unknown;
  off(event: 'disconnected', listener: (...args: AmiConnectionEvents['disconnected']) => void): unknown;
}

export interface PairReachabilitySyncOptions {
  store: PairStore;
  /** Presence changes and snapshots (`PresenceTracker` fits). */
  feed: Pick<TypedEmitter<PresenceTrackerEvents>, 'on' | 'off'>;
  /** The stored statuses every node's tracker writes (`PgPresenceStore` fits). */
  statuses: Pick<PresenceStore, 'statuses'>;
  link: PresenceLink;
  policy: Exclude<LegBPresencePolicy, 'ignore'>;
  /** Full picture from the stored statuses this often (default 15 000 ms); marks last four times as long. */
  intervalMs?: number;
}

export interface ReachabilityReport {
  /** Pairs whose EXT_B presence keeps out of the line now. */
  unreachable: string[];
}

export interface LegBChange {
  pairId: string;
  extB: string;
  status: ExtensionStatus;
  /** Whether the pair may be handed out now. */
  reachable: boolean;
}

export type PairReachabilitySyncEvents = {
  /** A whole picture was written. */
  synced: [report: ReachabilityReport];
  /** One EXT_B's change was written. */
  changed: [change: LegBChange];
  listenererror: [event: string, error: unknown];
};

/** Whether a pair whose EXT_B has `status` may be handed out, under `policy`. */
export function legBReachable(status: ExtensionStatus | undefined, policy: Exclude<LegBPresencePolicy, 'ignore'>): boolean {
  return policy === 'require-online' ? status === 'online' : status !== 'offline';
}

/**
 * Feeds AMI presence of every pair's EXT_B into the pair store, so no node hands out a
 * pair whose leg B Asterisk cannot dial (it would answer the originate 500 `Allocation
 * failed`). A change of an EXT_B is written at once; the whole picture is written after
 * every presence snapshot and every `intervalMs`, from the statuses in PostgreSQL (which
 * every node's tracker keeps). Every write is idempotent, so several nodes may do this.
 *
 * Presence is known only while AMI is logged in and a snapshot has reconciled it; while it
 * is not, nothing is written, and the marks fade after four intervals: presence nobody
 * follows counts as unknown, and every enabled pair is handed out again.
 */
export class PairReachabilitySync extends TypedEmitter<PairReachabilitySyncEvents> {
  readonly #store: PairStore;
  readonly #feed: PairReachabilitySyncOptions['feed'];
  readonly #statuses: PairReachabilitySyncOptions['statuses'];
  readonly #link: PresenceLink;
  readonly #policy: Exclude<LegBPresencePolicy, 'ignore'>;
  readonly #intervalMs: number;
  readonly #markTtlMs: number;
  readonly #log = logger('control.pairs.reachability');
  /** Store writes in order: a change heard during a full pass is written after it. */
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #known = false;
  #failing = false;
  #lastUnreachable: string | null = null;
  #started = false;
  #closed = false;

  constructor(options: PairReachabilitySyncOptions) {
    super();
    this.#store = options.store;
    this.#feed = options.feed;
    this.#statuses = options.statuses;
    this.#link = options.link;
    this.#policy = options.policy;
    this.#intervalMs = options.intervalMs ?? 15_000;
    if (!Number.isInteger(this.#intervalMs) || this.#intervalMs <= 0) throw new RangeError(`intervalMs must be a positive integer, got ${this.#intervalMs}`);
    this.#markTtlMs = 4 * this.#intervalMs;
  }

  /** Whether presence is known now (AMI logged in and reconciled by a snapshot). */
  get known(): boolean {
    return this.#known && this.#link.loggedIn;
  }

  /** Subscribes; the first full picture follows the tracker's first snapshot. Idempotent. */
  start(): void {
    if (this.#closed) throw new InvalidStateError('PairReachabilitySync is closed');
    if (this.#started) return;
    this.#started = true;
    this.#feed.on('presence', this.#onPresence);
    this.#feed.on('snapshot', this.#onSnapshot);
    this.#link.on('disconnected', this.#onDisconnected);
    this.#timer = setInterval(() => void this.sync().catch(() => undefined), this.#intervalMs);
    this.#timer.unref();
  }

  /**
   * Writes the whole picture now, from the stored statuses; `null` (nothing written)
   * while presence is unknown. Rejects if PostgreSQL or the store failed (also logged).
   */
  sync(): Promise<ReachabilityReport | null> {
    return this.#enqueue(async () => {
      if (!this.known || this.#closed) return null;
      const statuses = await this.#statuses.statuses();
      const pool = this.#store.pool;
      const unreachable: string[] = [];
      for (let i = 0; i < pool.size; i++) {
        if (!legBReachable(statuses.get(pool.extensionsAt(i).extB), this.#policy)) unreachable.push(pool.pairIdAt(i));
      }
      await this.#store.setReachability({ unreachable, complete: true, markTtlMs: this.#markTtlMs });
      const summary = unreachable.join(',');
      if (summary !== this.#lastUnreachable) {
        this.#lastUnreachable = summary;
        this.#log.info({ unreachable: unreachable.length, first: unreachable.slice(0, 5), policy: this.#policy }, 'pairs whose leg B presence keeps them out of the line');
      }
      const report = { unreachable };
      this.safeEmit('synced', report);
      return report;
    });
  }

  /** Stops listening and waits for the write in progress. Idempotent; the marks fade by themselves. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      this.#feed.off('presence', this.#onPresence);
      this.#feed.off('snapshot', this.#onSnapshot);
      this.#link.off('disconnected', this.#onDisconnected);
    }
    await this.#chain.catch(() => undefined);
  }

  readonly #onPresence = ({ number, status }: { number: string; status: ExtensionStatus }): void => {
    const owner = this.#store.pool.pairOfExtension(number);
    if (owner === null || owner.side !== 'B' || !this.known) return;
    const change: LegBChange = { pairId: owner.pairId, extB: number, status, reachable: legBReachable(status, this.#policy) };
    void this.#enqueue(async () => {
      if (this.#closed) return;
      await this.#store.setReachability({ [change.reachable ? 'reachable' : 'unreachable']: [change.pairId], markTtlMs: this.#markTtlMs });
      this.#log.info({ ...change }, 'leg B presence changed');
      this.safeEmit('changed', change);
    }).catch(() => undefined);
  };

  readonly #onSnapshot = (): void => {
    this.#known = true;
    void this.sync().catch(() => undefined);
  };

  readonly #onDisconnected = (): void => {
    // Until the next snapshot, presence may miss events: stop writing, let the marks fade.
    this.#known = false;
  };

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task).then(
      (value) => {
        if (this.#failing) this.#log.info('leg B presence reaches the pair store again');
        this.#failing = false;
        return value;
      },
      (err: unknown) => {
        // One line per outage, not per write.
        if (!this.#failing) this.#log.warn({ err: errorMessage(err) }, 'leg B presence could not be written to the pair store; retrying');
        this.#failing = true;
        throw err;
      },
    );
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
