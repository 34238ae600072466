import { callLanguages } from './extension-languages.js';
import { languagesFromStasisArgs, pairTranslationFor, type LanguageOverride } from './translation-settings.js';
import type { PairTranslation } from '../../../engine/src/index.js';
import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { LeaseKeeper, type PairLease } from '../alloc/index.js';
import { isExternalMediaChannel, type AriEvent, type AriKnownEvent } from '../ari/index.js';
import { findAdoptableCalls } from './adoptable-calls.js';
import type { CallAppDeps, CallAppEvents } from './call-app-deps.js';
import { CallPair } from './call-pair.js';
import { callRejectionLog, rejectCause, type CallRejectCause } from './call-rejections.js';
import { channelOf } from './event-channel.js';
import { PairLeftoverSweeper, type PairLeftovers } from './pair-leftovers.js';
import { pairIdOf } from './naming.js';
import { reconcileCalls, type ReconcileReport } from './reconcile.js';
import type { TeardownReason } from './teardown-reason.js';

export type { CallAppDeps, CallAppEvents } from './call-app-deps.js';
export { CALL_REJECT_CAUSES, type CallRejectCause } from './call-rejections.js';
export type { ReconcileReport } from './reconcile.js';

/**
 * The `pair_session` Stasis application. It only dispatches: a new caller
 * becomes a CallPair, every other event goes to the pair owning the channel.
 * The registry lives here and nowhere else; a pair removes itself (onClosed)
 * exactly where it was inserted.
 */
export class CallApp extends TypedEmitter<CallAppEvents> {
  readonly #deps: CallAppDeps;
  readonly #keeper: LeaseKeeper;
  readonly #leftovers: PairLeftoverSweeper;
  readonly #pairs = new Map<string, CallPair>();
  readonly #byChannel = new Map<string, CallPair>();
  /** Callers between StasisStart and their pair's registration (allocation in flight). */
  readonly #accepting = new Set<string>();
  readonly #log = logger('control.calls');
  /** A flood of rejections is a few log lines, not one per caller. */
  readonly #rejections = callRejectionLog(this.#log);
  #reconciling: Promise<ReconcileReport> | null = null;
  #reconcileTimer: NodeJS.Timeout | null = null;
  #reconcileSoonTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #draining = false;
  /** Resolved when draining and no call is left (set up or being set up). */
  readonly #idleWaiters = new Set<() => void>();

  constructor(deps: CallAppDeps) {
    super();
    this.#deps = deps;
    this.#keeper = new LeaseKeeper(deps.store);
    this.#keeper.on('lost', ({ pairId }) => {
      this.#leftovers.forget(pairId);
      void this.#pairs.get(pairId)?.teardown('lease-lost');
    });
    this.#leftovers = new PairLeftoverSweeper({
      ari: deps.ari,
      release: (pairId, reason) => this.#releaseLease(pairId, reason),
      log: this.#log,
      ...(deps.leftoverRetryMinMs !== undefined && { retryMinMs: deps.leftoverRetryMinMs }),
      ...(deps.leftoverRetryMaxMs !== undefined && { retryMaxMs: deps.leftoverRetryMaxMs }),
    });
    this.#leftovers.on('held', (pairId, leftovers) => this.safeEmit('pairheld', pairId, leftovers));
    this.#leftovers.on('cleared', (pairId) => this.safeEmit('pairunheld', pairId));
    deps.ari.on('event', this.#onEvent);
    deps.ari.on('connected', this.#onConnected);
    deps.engine.on('pairclosed', this.#onEnginePairClosed);
  }

  get pairCount(): number {
    return this.#pairs.size;
  }

  /** The call on a pair right now, if any. */
  pair(pairId: string): CallPair | undefined {
    return this.#pairs.get(pairId);
  }

  pairs(): CallPair[] {
    return [...this.#pairs.values()];
  }

  /** Pairs kept leased until Asterisk confirms what their teardown left gone: pairId → the leftovers. */
  heldPairs(): Map<string, PairLeftovers> {
    return this.#leftovers.held();
  }

  /** Callers turned away since start, per cause. */
  get rejections(): Readonly<Record<CallRejectCause, number>> {
    return this.#rejections.counts();
  }

  /**
   * Adopts the calls a previous process of this node left up (see #adopt), then cleans up what
   * could not be adopted; call once after connecting.
   */
  async start(): Promise<ReconcileReport> {
    await this.#adopt().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'call adoption failed: its calls are cleaned up instead'));
    const report = await this.reconcile();
    const every = this.#deps.reconcileIntervalMs ?? 60_000;
    if (every > 0 && !this.#closed) {
      this.#reconcileTimer = setInterval(() => {
        if (!this.#deps.ari.connected) return;
        this.reconcile().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'periodic reconcile failed'));
      }, every);
      this.#reconcileTimer.unref();
    }
    return report;
  }

  /**
   * Compares Asterisk and the pair store with the live pairs: tears down pairs
   * whose hangup was missed while disconnected (Asterisk replays nothing),
   * hangs up channels and destroys bridges no live pair owns, and releases
   * call leases of this node without a live call (an API client's lease is
   * its own to renew and release, whichever node granted it).
   */
  reconcile(): Promise<ReconcileReport> {
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  /** True once drain() was called: new callers are turned away (`draining`). */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Stops taking new calls (a new caller is hung up with congestion, cause `draining`) and
   * resolves once every call in flight has ended by itself. Calls keep running; whoever drains
   * decides how long to wait before close() tears down what is left.
   */
  drain(): Promise<void> {
    this.#draining = true;
    return new Promise<void>((resolve) => {
      this.#idleWaiters.add(resolve);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (!this.#draining || this.#pairs.size > 0 || this.#accepting.size > 0) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    if (this.#reconcileSoonTimer) clearTimeout(this.#reconcileSoonTimer);
    this.#deps.ari.off('event', this.#onEvent);
    this.#deps.ari.off('connected', this.#onConnected);
    this.#deps.engine.off('pairclosed', this.#onEnginePairClosed);
    await Promise.allSettled([...this.#pairs.values()].map((p) => p.teardown('shutdown')));
    // A last try at leftovers; leases of pairs still held are not released (they lapse, or the
    // next start under this node's identity reconciles them at once).
    await this.#leftovers.close();
    await this.#keeper.close();
    this.#rejections.close();
    // A drain still waiting ends here: nothing is left to wait for.
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
    this.removeAllListeners();
  }

  readonly #onEvent = (event: AriEvent): void => {
    if (this.#closed || event.type === 'Other') return;
    const channelId = channelOf(event);
    if (channelId === null) return;
    const owner = this.#byChannel.get(channelId);
    if (owner) {
      owner.handleEvent(event);
      return;
    }
    if (event.type === 'StasisStart') this.#onUnownedStasisStart(event);
  };

  #onUnownedStasisStart(event: Extract<AriKnownEvent, { type: 'StasisStart' }>): void {
    const { channel } = event;
    const ownerPairId = pairIdOf(channel.id);
    if (ownerPairId !== null || isExternalMediaChannel(channel)) {
      // One of ours whose pair is gone (a leg B answering after teardown, or left
      // from before a restart): nobody will ever bridge it.
      this.#log.info({ channelId: channel.id, pairId: ownerPairId }, 'hanging up orphan channel');
      void this.#deps.ari.hangup(channel.id).catch(() => false);
      return;
    }
    if (this.#draining) {
      void this.#reject(channel.id, 'draining', {});
      return;
    }
    const { override, ignored } = languagesFromStasisArgs(event.args.slice(1));
    if (ignored.length > 0) this.#log.warn({ channelId: channel.id, ignored }, 'ignored Stasis arguments (expected lang_a=<tag> / lang_b=<tag>)');
    void this.#acceptCall(channel.id, event.args[0] ?? channel.caller?.number ?? null, override, Date.now());
  }

  async #acceptCall(callerChannelId: string, callerId: string | null, languages: LanguageOverride, arrivedAt: number): Promise<void> {
    this.#accepting.add(callerChannelId);
    try {
      await this.#allocateAndSetUp(callerChannelId, callerId, languages, arrivedAt);
    } finally {
      this.#accepting.delete(callerChannelId);
      this.#checkIdle();
    }
  }

  async #reject(callerChannelId: string, cause: CallRejectCause, detail: Record<string, unknown>): Promise<void> {
    this.#rejections.add(cause, { callerChannelId, ...detail });
    if (cause === 'allocation-failed') this.#reconcileSoon();
    // A clean rejection the caller can hear (congestion), never a silent hang.
    await this.#deps.ari.hangup(callerChannelId, 'congestion').catch(() => false);
    this.safeEmit('callrejected', callerChannelId, cause);
  }

  async #allocateAndSetUp(callerChannelId: string, callerId: string | null, languages: LanguageOverride, arrivedAt: number): Promise<void> {
    let lease;
    try {
      lease = await this.#keeper.allocate({ callerId, node: this.#deps.node, owner: 'call' });
    } catch (err) {
      await this.#reject(callerChannelId, rejectCause(err), { err: errorMessage(err) });
      return;
    }
    if (this.#closed) {
      await this.#keeper.release(lease.pairId).catch(() => false);
      return;
    }
    // Only a translated node asks: the languages mean nothing without translation.
    if (this.#deps.config.translation !== undefined) {
      languages = await callLanguages(this.#deps.extensionLanguages, { caller: callerId, extB: lease.extB }, languages, this.#log);
      if (this.#closed) {
        await this.#keeper.release(lease.pairId).catch(() => false);
        return;
      }
    }
    const pair = this.#newPair(lease, callerChannelId, callerId, languages, arrivedAt);
    this.#log.info({ pairId: pair.pairId, extA: pair.extA, extB: pair.extB, callerChannelId, callerId }, 'pair allocated');
    this.safeEmit('pairallocated', pair);
    await pair.setup();
  }

  /** A pair on this lease, registered (its channels routed to it) before anything is asked of Asterisk. */
  #newPair(lease: PairLease, callerChannelId: string, callerId: string | null, languages: LanguageOverride, arrivedAt: number): CallPair {
    const pair = new CallPair({
      ari: this.#deps.ari,
      engine: this.#deps.engine,
      config: this.#deps.config,
      lease,
      callerChannelId,
      callerId,
      arrivedAt,
      ...optionalTranslation(pairTranslationFor(this.#deps.config.translation, languages)),
      log: this.#log,
      releaseLease: async (pairId, reason, leftovers) => {
        // A lost lease is no longer ours to hold (its next holder's teardown deletes the same ids).
        if (leftovers.channels.length + leftovers.bridges.length === 0 || !this.#keeper.held.has(pairId)) return this.#releaseLease(pairId, reason);
        // Not handed to a new call while its old leg B may still be up: `releasing` in the
        // lease table (what an operator sees in `tandem pairs`) until the leftovers are gone.
        void this.#deps.store.setState(pairId, lease.leaseToken, 'releasing').catch(() => false);
        this.#leftovers.hold(pairId, reason, leftovers);
      },
      onActive: (p) => {
        void this.#deps.store.setState(p.pairId, lease.leaseToken, 'active').catch(() => false);
        this.safeEmit('pairactive', p);
      },
      onClosed: (p, reason) => this.#remove(p, reason),
    });
    this.#pairs.set(pair.pairId, pair);
    for (const id of pair.channelIds) this.#byChannel.set(id, pair);
    return pair;
  }

  async #releaseLease(pairId: string, reason: TeardownReason): Promise<void> {
    // Asterisk answers an originate to an endpoint without a reachable contact with 500
    // and no events: until presence knows better, that pair goes to the back of the line.
    const suspect = reason === 'originate-failed';
    if (suspect) this.#log.debug({ pairId }, 'leg B could not be originated: pair released as suspect');
    await this.#keeper.release(pairId, { suspect });
  }

  #remove(pair: CallPair, reason: TeardownReason): void {
    if (this.#pairs.get(pair.pairId) !== pair) return;
    this.#pairs.delete(pair.pairId);
    for (const id of pair.channelIds) {
      if (this.#byChannel.get(id) === pair) this.#byChannel.delete(id);
    }
    this.safeEmit('pairclosed', pair.pairId, reason);
    const ended = pair.endedCall();
    if (ended !== null) this.safeEmit('callended', ended);
    this.#checkIdle();
  }

  /**
   * An allocation that failed by timing out (a paused or slow Redis) may still have been carried
   * out once the store came back: a lease of this node's that no call holds. The periodic pass
   * would free it within a minute; a pass a few seconds after the failure frees it sooner.
   */
  #reconcileSoon(): void {
    if (this.#reconcileSoonTimer !== null || this.#closed) return;
    this.#reconcileSoonTimer = setTimeout(() => {
      this.#reconcileSoonTimer = null;
      if (this.#closed || !this.#deps.ari.connected) return;
      this.reconcile().catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'reconcile after a failed allocation failed'));
    }, this.#deps.reconcileAfterStoreFailureMs ?? 5000);
    this.#reconcileSoonTimer.unref();
  }

  readonly #onConnected = ({ reconnect }: { reconnect: boolean }): void => {
    if (!reconnect || this.#closed) return;
    this.reconcile().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'reconcile after reconnect failed'));
  };

  readonly #onEnginePairClosed = (pairId: string, reason: string): void => {
    const pair = this.#pairs.get(pairId);
    if (!pair) return;
    // Hanging up a WebSocket externalMedia channel closes its media connection: expected while tearing down.
    if (pair.state === 'tearing-down' || pair.state === 'closed') return;
    this.#log.error({ pairId, reason }, 'engine lost the pair');
    void pair.teardown('engine-error');
  };

  /**
   * A restarted node (same name) takes over the calls its predecessor carried instead of tearing
   * them down: Asterisk keeps channels and bridges when the app dies, the pair store (Redis) keeps
   * the leases. A pair is adoptable when both its bridges exist, a caller is in bridge A and its leg
   * B is up in bridge B, and its lease is this node's call lease (Redis) or free (the memory store,
   * which forgot everything: the table is rebuilt from Asterisk's objects, by their names). Each
   * adopted pair gets new engine legs and new externalMedia channels; what is not adopted, or fails
   * to be, is left to the reconciliation that follows (today's cleanup).
   */
  async #adopt(): Promise<void> {
    if (this.#deps.adopt === false) return;
    const { ari, store, node } = this.#deps;
    const adopted: CallPair[] = [];
    for (const { pairId, caller, lease: existing } of await findAdoptableCalls(ari, store, node)) {
      let lease = existing;
      if (lease !== null) this.#keeper.track(pairId, lease.leaseToken);
      else if (store.claim) {
        lease = await store.claim(pairId, { callerId: caller.caller?.number || null, node, owner: 'call' }).catch(() => null);
        if (lease !== null) this.#keeper.track(pairId, lease.leaseToken);
      }
      if (lease === null || this.#closed) continue;
      const pair = this.#newPair(lease, caller.id, caller.caller?.number || null, {}, Date.parse(caller.creationtime ?? '') || Date.now());
      adopted.push(pair);
    }
    if (adopted.length === 0) return;
    this.#log.info({ pairs: adopted.map((p) => p.pairId) }, 'adopting calls left by a previous process of this node');
    for (const pair of adopted) this.safeEmit('pairallocated', pair);
    await Promise.all(adopted.map((pair) => pair.adopt()));
    const kept = adopted.filter((p) => p.state === 'active').map((p) => p.pairId).sort();
    this.#log.info({ adopted: kept, failed: adopted.length - kept.length }, 'calls adopted');
    this.safeEmit('adopted', kept);
  }

  async #reconcile(): Promise<ReconcileReport> {
    const { ari, store, node } = this.#deps;
    // Held pairs first: their leases are this node's, so the sweep below leaves their objects alone.
    const cleared = await this.#leftovers.retryNow();
    const report = await reconcileCalls(
      {
        ari,
        store,
        node,
        pairs: this.#pairs,
        owns: (channelId) => this.#byChannel.has(channelId) || this.#accepting.has(channelId),
        heldLease: (pairId) => this.#keeper.held.get(pairId),
      },
      cleared,
    );
    const changed = report.hungUpChannels.length + report.destroyedBridges.length + report.releasedLeases.length + report.tornDownPairs.length + report.clearedPairs.length;
    if (changed > 0) this.#log.warn({ ...report }, 'reconciled leftovers');
    this.safeEmit('reconciled', report);
    return report;
  }
}

function optionalTranslation(translation: PairTranslation | undefined): { translation?: PairTranslation } {
  return translation === undefined ? {} : { translation };
}
