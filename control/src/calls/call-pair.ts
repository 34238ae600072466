import type { OpenPairResult } from '../../../engine/src/index.js';
import type { Logger } from '../../../common/src/logger.js';
import { errorMessage } from '../../../common/src/errors.js';
import { AriError, type AriEvent } from '../ari/index.js';
import type { CallPairDeps, CallPairState } from './call-pair-deps.js';
import { CallFacts, type EndedCall } from './call-facts.js';
import { connectMediaSide, type MediaSidePair } from './external-media-side.js';
import { pairObjectIds, type PairObjectIds } from './naming.js';
import { attemptTeardownStep, removePairObjects } from './pair-teardown.js';
import { PairClosedDuringSetup, SetupError, vanished } from './setup-errors.js';
import { StasisArrivals } from './stasis-arrivals.js';
import { CALLER_HANGUP_REASON, legBEndReason, type TeardownReason } from './teardown-reason.js';

export type { CallPairDeps, CallPairState } from './call-pair-deps.js';
export type { TeardownReason } from './teardown-reason.js';
export type { PairLeftovers } from './pair-leftovers.js';
export { mediaWebSocketUrl, unicastRtpPeer } from './external-media-peer.js';

/**
 * One call: the caller's channel, its pair, two bridges, leg B and two
 * externalMedia channels, and the engine session between them. It owns all of
 * them and tears every one down exactly once, whatever order events arrive in.
 */
export class CallPair {
  readonly pairId: string;
  readonly extA: string;
  readonly extB: string;
  readonly ids: PairObjectIds;
  readonly callerChannelId: string;
  readonly callerId: string | null;
  readonly startedAt = Date.now();
  /** What the call's record will say, filled in as events are handled. */
  readonly facts: CallFacts;
  #state: CallPairState = 'setting-up';
  readonly #deps: CallPairDeps;
  readonly #log: Logger;
  #bridgesReady: Promise<void> | null = null;
  /** Both externalMedia legs bridged with their side (true), or that part of setup failed (false). */
  #mediaReady: Promise<boolean> | null = null;
  #legBAnswered = false;
  #legBJoined: Promise<void> | null = null;
  #callerGone = false;
  #legBGone = false;
  #engineOpened: OpenPairResult | null = null;
  #teardown: Promise<void> | null = null;
  #answerTimer: NodeJS.Timeout | null = null;
  /** Requests still on their way; teardown waits for them so nothing they create outlives the pair. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Channels of this pair whose StasisStart was seen, and setup steps waiting for one. */
  readonly #stasis = new StasisArrivals();
  /** Adopting a previous process's call (see adopt()): dead externalMedia channels being replaced. */
  #adopting = false;
  #adopted = false;
  readonly #replacing = new Set<string>();
  /** Milliseconds from setup start until both externalMedia legs were bridged with a phone. */
  setupMs: number | null = null;

  constructor(deps: CallPairDeps) {
    this.#deps = deps;
    this.pairId = deps.lease.pairId;
    this.extA = deps.lease.extA;
    this.extB = deps.lease.extB;
    this.ids = pairObjectIds(this.pairId);
    this.callerChannelId = deps.callerChannelId;
    this.callerId = deps.callerId;
    this.facts = new CallFacts(deps.arrivedAt ?? this.startedAt);
    this.#log = deps.log.child({ pairId: this.pairId });
  }

  /** The finished call, for its record; null until teardown is complete. */
  endedCall(): EndedCall | null {
    if (this.#state !== 'closed') return null;
    return this.facts.endedCall({
      pairId: this.pairId,
      extA: this.extA,
      extB: this.extB,
      callId: this.callerChannelId,
      caller: this.callerId,
      codec: this.#deps.config.format,
      translated: this.#deps.translation !== undefined,
      // The pair's own setup time counts from its creation; the record's from the caller's arrival.
      setupMs: this.setupMs === null ? null : this.setupMs + (this.startedAt - this.facts.startedAt),
    });
  }

  /** Taken over from a previous process of this node (adopt()) rather than set up by this one. */
  get adopted(): boolean {
    return this.#adopted;
  }

  get state(): CallPairState {
    return this.#state;
  }

  /** Channel and bridge ids that belong to this pair (for event routing and reconciliation). */
  get channelIds(): string[] {
    return [this.callerChannelId, this.ids.legB, this.ids.mediaA, this.ids.mediaB];
  }

  get engineLegs(): OpenPairResult | null {
    return this.#engineOpened;
  }

  /**
   * Builds the pair. Steps that do not depend on each other run together so
   * one slow request does not serialize call setup.
   */
  async setup(): Promise<void> {
    const { ari, config } = this.#deps;
    const { ids, pairId, extA, extB } = this;
    const tag = (ext: string): Record<string, string> => ({ PAIR_ID: pairId, SRC_EXT: ext });
    try {
      this.#bridgesReady = Promise.all([
        this.#track(ari.createBridge(ids.bridgeA, ids.bridgeA, 'mixing')),
        this.#track(ari.createBridge(ids.bridgeB, ids.bridgeB, 'mixing')),
      ]).then(() => undefined);
      // Awaited only once the engine legs exist (and by leg B's join): if setup fails before
      // then, nobody awaits it, and its rejection must not go unhandled.
      this.#bridgesReady.catch(() => undefined);
      // Leg B depends on nothing: it rings while the rest is built (its StasisStart,
      // whenever it comes, waits for bridge B in #joinLegB).
      const originate = this.#track(
        ari.originate({
          endpoint: `${config.legBTechnology}/${extB}`,
          app: config.app,
          appArgs: `${pairId},${extA},${extB}`,
          channelId: ids.legB,
          timeoutSeconds: config.originateTimeoutSeconds,
          variables: tag(extB),
          ...(this.#deps.callerId ? { callerId: this.#deps.callerId } : {}),
        }),
      ).then(
        () => {
          if (this.#state === 'setting-up') this.#state = 'ringing';
        },
        (err: unknown) => {
          throw new SetupError('originate-failed', err);
        },
      );
      const opened = this.#openEngineLegs();
      // Each side: its externalMedia as soon as its engine leg exists, then into its
      // bridge. The two sides never wait for each other.
      const side = async (leg: 'A' | 'B'): Promise<void> => {
        const legs = await opened;
        this.#engineOpened = legs;
        this.#checkAlive();
        await this.#connectMediaSide(leg, legs, { withCaller: true });
      };
      const sides = [side('A'), side('B')];
      // Setup's own failure handling (below) tears the pair down; leg B's join only waits for it.
      this.#mediaReady = Promise.all(sides).then(
        () => true,
        () => false,
      );
      // Tags for the dialplan, CDRs and reconciliation: needed, but not by the media
      // path, so they queue behind its externalMedia requests (sent once the engine legs exist).
      const tagCaller = opened.then(() => {
        this.#checkAlive();
        return Promise.all([
          this.#track(ari.setVariable(this.callerChannelId, 'PAIR_ID', pairId)).catch(vanished('caller-hangup')),
          this.#track(ari.setVariable(this.callerChannelId, 'SRC_EXT', extA)).catch(vanished('caller-hangup')),
        ]);
      });
      await Promise.all([...sides, originate, tagCaller]);
      this.#checkAlive();
      this.#answerTimer = setTimeout(() => {
        if (!this.#legBAnswered) void this.teardown('legb-no-answer');
      }, config.answerDeadlineMs);
      this.#answerTimer.unref();
      if (this.#legBAnswered) await this.#joinLegB();
    } catch (err) {
      if (err instanceof PairClosedDuringSetup) return;
      const reason: TeardownReason = err instanceof SetupError ? err.reason : 'setup-failed';
      if (reason !== 'caller-hangup' && reason !== 'legb-hangup') {
        this.#log.warn({ err: errorMessage(err instanceof SetupError ? err.cause : err), reason }, 'pair setup failed');
      }
      await this.teardown(reason);
    }
  }

  /** The pair's two legs in the engine, as this node's config and the call's translation ask. */
  #openEngineLegs(): Promise<OpenPairResult> {
    const { engine, config, translation } = this.#deps;
    return this.#track(
      engine.openPair({
        pairId: this.pairId,
        extA: this.extA,
        extB: this.extB,
        codec: config.format,
        // Each leg hears only the address the externalMedia response names, never whoever sends first.
        latch: false,
        ...(config.record ? { record: true } : {}),
        ...(translation ? { translation } : {}),
        ...(config.mediaTransport === 'websocket' ? { transport: 'websocket' as const } : {}),
      }),
    );
  }

  /** One side's externalMedia channel between its engine leg and its bridge (see connectMediaSide). */
  #connectMediaSide(leg: 'A' | 'B', legs: OpenPairResult, options: { withCaller: boolean }): Promise<void> {
    const { ari, engine, config } = this.#deps;
    const pair: MediaSidePair = {
      ari,
      engine,
      config,
      pairId: this.pairId,
      extA: this.extA,
      extB: this.extB,
      ids: this.ids,
      callerChannelId: this.callerChannelId,
      bridgesReady: this.#bridgesReady,
      track: (request) => this.#track(request),
      checkAlive: () => this.#checkAlive(),
      inStasis: (channelId) => this.#inStasis(channelId),
      adopting: () => this.#adopting,
    };
    return connectMediaSide(pair, leg, legs, options);
  }

  /**
   * Takes over a call a previous process of this node left up (Asterisk keeps channels and bridges
   * when the app dies): caller in bridge A, leg B answered in bridge B. Opens new engine legs,
   * replaces the dead externalMedia channels (same names, same bridges) and resumes relaying.
   * Anything failing tears the whole pair down, as reconciliation would have.
   */
  async adopt(): Promise<void> {
    const { ari } = this.#deps;
    const { ids } = this;
    this.#adopting = true;
    this.#adopted = true;
    this.#legBAnswered = true;
    this.facts.answered();
    this.#bridgesReady = Promise.resolve();
    try {
      const legs = await this.#openEngineLegs();
      this.#engineOpened = legs;
      this.#checkAlive();
      const side = async (leg: 'A' | 'B'): Promise<void> => {
        const old = leg === 'A' ? ids.mediaA : ids.mediaB;
        // Its events (StasisEnd, ChannelDestroyed) are the replacement's doing, not a lost leg.
        this.#replacing.add(old);
        // It sends to a socket that died with the previous process (a WebSocket one is usually gone already: 404).
        await this.#track(
          ari.hangup(old).catch((err: unknown) => {
            if (err instanceof AriError && err.code === 'NOT_FOUND') return false;
            throw err;
          }),
        );
        this.#checkAlive();
        await this.#connectMediaSide(leg, legs, { withCaller: false });
      };
      await Promise.all([side('A'), side('B')]);
      this.#checkAlive();
      this.#adopting = false;
      this.#state = 'active';
      this.setupMs = Date.now() - this.startedAt;
      this.#log.info({ extA: this.extA, extB: this.extB, adoptMs: this.setupMs }, 'call adopted');
      this.#deps.onActive?.(this);
    } catch (err) {
      this.#adopting = false;
      this.#replacing.clear();
      if (err instanceof PairClosedDuringSetup) return;
      this.#log.warn({ err: errorMessage(err) }, 'adopting the call failed: tearing it down');
      await this.teardown('setup-failed');
    }
  }

  /** Events for this pair's channels, routed here by the app. */
  handleEvent(event: AriEvent): void {
    switch (event.type) {
      case 'StasisStart':
        if (event.channel.id === this.ids.legB) this.#onLegBAnswered();
        else this.#stasisStarted(event.channel.id);
        return;
      case 'StasisEnd':
        this.#onChannelLeaving(event.channel.id, null);
        return;
      case 'ChannelHangupRequest':
        // Busy arrives as a hangup request with cause 17 before ChannelDestroyed.
        this.#onChannelLeaving(event.channel.id, event.cause ?? null);
        return;
      case 'ChannelDestroyed':
        this.#onChannelLeaving(event.channel.id, event.cause);
        return;
      default:
        return;
    }
  }

  /** Tears everything down once; later calls return the same promise. */
  teardown(reason: TeardownReason): Promise<void> {
    this.facts.ending(reason);
    this.#teardown ??= this.#runTeardown(reason);
    return this.#teardown;
  }

  #onLegBAnswered(): void {
    if (this.#legBAnswered || this.#teardown) return;
    this.#legBAnswered = true;
    this.facts.answered();
    if (this.#answerTimer) clearTimeout(this.#answerTimer);
    // Bridges may still be on their way: join once they exist (the StasisStart of
    // leg B can beat the originate response, docs/asterisk-facts.md).
    if (this.#bridgesReady) void this.#joinLegB();
  }

  #joinLegB(): Promise<void> {
    this.#legBJoined ??= (async () => {
      try {
        await this.#bridgesReady;
        this.#checkAlive();
        await this.#track(this.#deps.ari.addChannels(this.ids.bridgeB, [this.ids.legB])).catch(vanished('legb-hangup'));
        // Active means the whole media path: leg B here, and both externalMedia legs with their side.
        if (!(await this.#mediaReady)) return;
        this.#checkAlive();
        this.#state = 'active';
        this.setupMs = Date.now() - this.startedAt;
        this.#log.info({ extA: this.extA, extB: this.extB, setupMs: this.setupMs }, 'pair active');
        this.#deps.onActive?.(this);
      } catch (err) {
        if (err instanceof PairClosedDuringSetup) return;
        const reason: TeardownReason = err instanceof SetupError ? err.reason : 'setup-failed';
        if (reason === 'setup-failed') this.#log.warn({ err: errorMessage(err) }, 'joining leg B failed');
        await this.teardown(reason);
      }
    })();
    return this.#legBJoined;
  }

  #onChannelLeaving(channelId: string, cause: number | null): void {
    if (channelId === this.callerChannelId) {
      this.facts.partyLeft('caller', cause);
      this.#callerGone = true;
      void this.teardown('caller-hangup');
    } else if (channelId === this.ids.legB) {
      this.facts.partyLeft('legb', cause);
      this.#legBGone = true;
      void this.teardown(legBEndReason(this.#legBAnswered, cause));
    } else if ((channelId === this.ids.mediaA || channelId === this.ids.mediaB) && !this.#teardown) {
      if (this.#replacing.has(channelId)) return;
      void this.teardown('external-media-lost');
    }
  }

  /** Resolves once the channel is in Stasis (see StasisArrivals), or at once when the pair is torn down. */
  #inStasis(channelId: string): Promise<void> {
    if (this.#teardown) return Promise.resolve();
    return this.#stasis.wait(channelId);
  }

  #stasisStarted(channelId: string): void {
    // The replacement is in Stasis: from now on this channel's end is a lost leg again.
    this.#replacing.delete(channelId);
    this.#stasis.started(channelId);
  }

  async #runTeardown(reason: TeardownReason): Promise<void> {
    const previous = this.#state;
    this.#state = 'tearing-down';
    if (this.#answerTimer) clearTimeout(this.#answerTimer);
    // Setup steps waiting for a StasisStart stop waiting (they see the teardown and end).
    this.#stasis.releaseAll();
    const { ari, engine } = this.#deps;
    // Whatever setup still has on the wire may create objects: let it land first.
    await Promise.allSettled([...this.#inflight]);
    // What Asterisk did not confirm gone is a leftover: the app holds the pair until it is gone.
    const objects = { callerChannelId: this.callerChannelId, ids: this.ids, callerGone: this.#callerGone, legBGone: this.#legBGone, callerReason: CALLER_HANGUP_REASON[reason] };
    const leftovers = await removePairObjects(ari, objects, this.#log, () =>
      attemptTeardownStep(this.#log, 'close engine pair', async () => {
        this.facts.engine = await engine.closePair(this.pairId);
      }),
    );
    await attemptTeardownStep(this.#log, 'release pair', () => this.#deps.releaseLease(this.pairId, reason, leftovers));
    this.facts.released();
    this.#state = 'closed';
    this.#log.info({ reason, previous, durationMs: Date.now() - this.startedAt }, 'pair released');
    this.#deps.onClosed(this, reason);
  }

  #track<T>(request: Promise<T>): Promise<T> {
    this.#inflight.add(request);
    const settle = (): void => void this.#inflight.delete(request);
    request.then(settle, settle);
    return request;
  }

  #checkAlive(): void {
    if (this.#teardown) throw new PairClosedDuringSetup();
  }
}
