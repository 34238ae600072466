import { callLanguages, type ExtensionLanguageLookup } from './extension-languages.js';
import { languagesFromStasisArgs, pairTranslationFor, type LanguageOverride } from './translation-settings.js';
import type { PairTranslation } from '../../../engine/src/index.js';
import { BurstLog } from '../../../common/src/burst-log.js';
import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { LeaseKeeper, PoolExhaustedError, type PairStore } from '../alloc/index.js';
import { isExternalMediaChannel, type AriClient, type AriEvent, type AriKnownEvent } from '../ari/index.js';
import type { CallConfig } from './call-config.js';
import type { EndedCall } from './call-facts.js';
import { CallPair, type PairLeftovers, type TeardownReason } from './call-pair.js';
import { PairLeftoverSweeper } from './pair-leftovers.js';
import { pairIdOf } from './naming.js';
import type { MediaEnginePort } from './ports.js';

/**
 * Why a caller was turned away before any pair was set up: every usable pair is leased
 * (`pool-exhausted`), the free ones have their leg B marked unreachable by presence
 * (`legb-unreachable`), or the pair store failed (`allocation-failed`).
 */
export type CallRejectCause = 'pool-exhausted' | 'legb-unreachable' | 'allocation-failed';

export const CALL_REJECT_CAUSES: readonly CallRejectCause[] = ['pool-exhausted', 'legb-unreachable', 'allocation-failed'];

export type CallAppEvents = {
  /** A caller was given a pair; its setup begins (the console shows the row from here). */
  pairallocated: [pair: CallPair];
  pairactive: [pair: CallPair];
  pairclosed: [pairId: string, reason: TeardownReason];
  /** Once per call, after its teardown: what its call record says (emitted right after `pairclosed`). */
  callended: [call: EndedCall];
  callrejected: [channelId: string, reason: CallRejectCause];
  reconciled: [report: ReconcileReport];
  /** A pair's teardown left objects Asterisk did not confirm gone: the pair stays leased (state `releasing`) until they are. */
  pairheld: [pairId: string, leftovers: PairLeftovers];
  /** A held pair's leftovers are confirmed gone and its lease released. */
  pairunheld: [pairId: string];
  listenererror: [event: string, error: unknown];
};

export interface ReconcileReport {
  hungUpChannels: string[];
  destroyedBridges: string[];
  releasedLeases: string[];
  tornDownPairs: string[];
  /** Held pairs (see `pairheld`) whose leftovers this round confirmed gone, and released. */
  clearedPairs: string[];
}

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
  /** Each party's language from its extension (migration 006); absent: the node's defaults only. */
  extensionLanguages?: ExtensionLanguageLookup;
}

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
  readonly #rejections = new BurstLog<CallRejectCause>(this.#log, {
    what: 'calls rejected',
    reasons: CALL_REJECT_CAUSES,
    labels: {
      'pool-exhausted': 'pool exhausted',
      'legb-unreachable': 'no free pair whose leg B is reachable',
      'allocation-failed': 'pair allocation failed',
    },
  });
  #reconciling: Promise<ReconcileReport> | null = null;
  #reconcileTimer: NodeJS.Timeout | null = null;
  #closed = false;

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

  /** Cleans up what a previous run left behind; call once after connecting. */
  async start(): Promise<ReconcileReport> {
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconcileTimer) clearInterval(this.#reconcileTimer);
    this.#deps.ari.off('event', this.#onEvent);
    this.#deps.ari.off('connected', this.#onConnected);
    this.#deps.engine.off('pairclosed', this.#onEnginePairClosed);
    await Promise.allSettled([...this.#pairs.values()].map((p) => p.teardown('shutdown')));
    // A last try at leftovers; leases of pairs still held are not released (they lapse, or the
    // next start under this node's identity reconciles them at once).
    await this.#leftovers.close();
    await this.#keeper.close();
    this.#rejections.close();
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
    }
  }

  async #allocateAndSetUp(callerChannelId: string, callerId: string | null, languages: LanguageOverride, arrivedAt: number): Promise<void> {
    let lease;
    try {
      lease = await this.#keeper.allocate({ callerId, node: this.#deps.node, owner: 'call' });
    } catch (err) {
      const cause = rejectCause(err);
      this.#rejections.add(cause, { callerChannelId, err: errorMessage(err) });
      // A clean rejection the caller can hear (congestion), never a silent hang.
      await this.#deps.ari.hangup(callerChannelId, 'congestion').catch(() => false);
      this.safeEmit('callrejected', callerChannelId, cause);
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
    this.#log.info({ pairId: pair.pairId, extA: pair.extA, extB: pair.extB, callerChannelId, callerId }, 'pair allocated');
    this.safeEmit('pairallocated', pair);
    await pair.setup();
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

  async #reconcile(): Promise<ReconcileReport> {
    const { ari, store, node } = this.#deps;
    const report: ReconcileReport = { hungUpChannels: [], destroyedBridges: [], releasedLeases: [], tornDownPairs: [], clearedPairs: [] };
    // Held pairs first: their leases are this node's, so the sweep below leaves their objects alone.
    report.clearedPairs.push(...(await this.#leftovers.retryNow()));
    const [channels, bridges, leases, application] = await Promise.all([ari.listChannels(), ari.listBridges(), store.list(), ari.getApplication()]);
    const present = new Set(channels.map((c) => c.id));
    const inOurApp = new Set(application.channel_ids);

    // Pairs whose caller or answered leg B vanished while we were not listening.
    await Promise.all(
      [...this.#pairs.values()].map(async (pair) => {
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
    const live = new Set<string>(this.#pairs.keys());
    const reclaimable = (lease: (typeof leases)[number]): boolean =>
      lease.node === node && lease.owner === 'call' && !this.#pairs.has(lease.pairId) && this.#keeper.held.get(lease.pairId) !== lease.leaseToken;
    for (const lease of leases) if (!reclaimable(lease)) live.add(lease.pairId);

    for (const channel of channels) {
      if (this.#byChannel.has(channel.id) || this.#accepting.has(channel.id)) continue;
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
    const changed = report.hungUpChannels.length + report.destroyedBridges.length + report.releasedLeases.length + report.tornDownPairs.length + report.clearedPairs.length;
    if (changed > 0) this.#log.warn({ ...report }, 'reconciled leftovers');
    this.safeEmit('reconciled', report);
    return report;
  }
}

function rejectCause(err: unknown): CallRejectCause {
  if (!(err instanceof PoolExhaustedError)) return 'allocation-failed';
  return err.unreachable > 0 ? 'legb-unreachable' : 'pool-exhausted';
}

function channelOf(event: AriKnownEvent): string | null {
  switch (event.type) {
    case 'StasisStart':
    case 'StasisEnd':
    case 'ChannelHangupRequest':
    case 'ChannelDestroyed':
    case 'ChannelStateChange':
      return event.channel.id;
    case 'Dial':
      return event.peer.id;
    case 'ChannelEnteredBridge':
      return event.channel?.id ?? null;
    case 'ChannelLeftBridge':
      return event.channel.id;
    default:
      return null;
  }
}

function optionalTranslation(translation: PairTranslation | undefined): { translation?: PairTranslation } {
  return translation === undefined ? {} : { translation };
}
