import type { PairTranslation } from '../../../engine/src/index.js';
import type { Logger } from '../../../common/src/logger.js';
import { errorMessage } from '../../../common/src/errors.js';
import type { OpenPairResult } from '../../../engine/src/index.js';
import type { PairLease } from '../alloc/index.js';
import { AriError, type AriChannel, type AriClient, type AriEvent } from '../ari/index.js';
import type { CallConfig } from './call-config.js';
import { CallFacts, type EndedCall } from './call-facts.js';
import { pairObjectIds, type PairObjectIds } from './naming.js';
import type { MediaEnginePort } from './ports.js';

/** Why a pair came down; also the reason logged and reported to listeners. */
export type TeardownReason =
  | 'caller-hangup'
  | 'legb-hangup'
  | 'legb-busy'
  | 'legb-no-answer'
  | 'legb-failed'
  | 'originate-failed'
  | 'setup-failed'
  | 'external-media-lost'
  | 'engine-error'
  | 'missed-hangup'
  | 'lease-lost'
  | 'shutdown';

/** How long an externalMedia channel may take to enter Stasis after its 200 (RTP) or its media connection (WebSocket). */
const STASIS_START_DEADLINE_MS = 5000;

/** The ARI hangup reason given to the surviving leg, so the caller hears why. */
const CALLER_HANGUP_REASON: Partial<Record<TeardownReason, string>> = {
  'legb-busy': 'busy',
  'legb-no-answer': 'no_answer',
  'originate-failed': 'congestion',
  'setup-failed': 'congestion',
  'engine-error': 'congestion',
  'external-media-lost': 'congestion',
  'lease-lost': 'congestion',
};

export interface CallPairDeps {
  ari: AriClient;
  engine: MediaEnginePort;
  config: CallConfig;
  lease: PairLease;
  callerChannelId: string;
  callerId: string | null;
  /** When the caller's StasisStart arrived: the call's start in its record (default: now). */
  arrivedAt?: number;
  /** This call's translation (the node's default with the call's languages); omitted = transparent duplex. */
  translation?: PairTranslation;
  log: Logger;
  /**
   * Returns the lease; called exactly once, at the end of teardown, with the reason (an originate
   * that failed makes the pair suspect) and what Asterisk did not confirm gone: while `leftovers`
   * is not empty the pair must not be handed out again (its old leg B may still be up).
   */
  releaseLease: (pairId: string, reason: TeardownReason, leftovers: PairLeftovers) => Promise<void>;
  onActive?: (pair: CallPair) => void;
  onClosed: (pair: CallPair, reason: TeardownReason) => void;
}

/**
 * What a teardown could not confirm gone: a DELETE that failed or timed out (Asterisk may or may
 * not have acted on it). 2xx and 404 both confirm: the object is gone or going.
 */
export interface PairLeftovers {
  channels: string[];
  bridges: string[];
}

export type CallPairState = 'setting-up' | 'ringing' | 'active' | 'tearing-down' | 'closed';

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
  readonly #stasisSeen = new Set<string>();
  readonly #stasisWaiters = new Map<string, () => void>();
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
    const f = this.facts;
    if (this.#state !== 'closed' || f.endedAt === null || f.releasedAt === null || f.hangupBy === null || f.teardownReason === null) return null;
    return {
      pairId: this.pairId,
      extA: this.extA,
      extB: this.extB,
      callId: this.callerChannelId,
      caller: this.callerId,
      codec: this.#deps.config.format,
      translated: this.#deps.translation !== undefined,
      startedAt: f.startedAt,
      answeredAt: f.answeredAt,
      setupMs: this.setupMs === null ? null : this.setupMs + (this.startedAt - f.startedAt),
      endedAt: f.endedAt,
      releasedAt: f.releasedAt,
      hangupBy: f.hangupBy,
      hangupCause: f.hangupCause,
      teardownReason: f.teardownReason,
      engine: f.engine,
    };
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
    const { ari, engine, config } = this.#deps;
    const { ids, pairId, extA, extB } = this;
    const tag = (ext: string): Record<string, string> => ({ PAIR_ID: pairId, SRC_EXT: ext });
    try {
      this.#bridgesReady = Promise.all([
        this.#track(ari.createBridge(ids.bridgeA, ids.bridgeA, 'mixing')),
        this.#track(ari.createBridge(ids.bridgeB, ids.bridgeB, 'mixing')),
      ]).then(() => undefined);
      // Awaited only once the engine legs exist (or never, when setup fails first): a bridge refused
      // before then must not count as an unhandled rejection, which ends the process.
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
      const opened = this.#track(
        engine.openPair({
          pairId,
          extA,
          extB,
          codec: config.format,
          // Each leg hears only the address the externalMedia response names, never whoever sends first.
          latch: false,
          ...(config.record ? { record: true } : {}),
          ...(this.#deps.translation ? { translation: this.#deps.translation } : {}),
          ...(config.mediaTransport === 'websocket' ? { transport: 'websocket' as const } : {}),
        }),
      );
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

  /**
   * One side's externalMedia channel: created towards its engine leg, connected, then into its
   * bridge (with the caller on side A at setup; alone when adopting, the caller being there already).
   */
  async #connectMediaSide(leg: 'A' | 'B', legs: OpenPairResult, { withCaller }: { withCaller: boolean }): Promise<void> {
    const { ari, engine, config } = this.#deps;
    const { ids, pairId, extA, extB } = this;
    const variables = { PAIR_ID: pairId, SRC_EXT: leg === 'A' ? extA : extB };
    const channelId = leg === 'A' ? ids.mediaA : ids.mediaB;
    if (legs.transport === 'websocket') {
      // chan_websocket answers its channel, and so puts it into Stasis, only once the engine's connection is up.
      const media = await this.#track(this.#createMedia(() => ari.externalMedia({ app: config.app, transport: 'websocket', format: config.format, channelId, variables })));
      this.#checkAlive();
      await this.#track(engine.connectMedia(pairId, leg, mediaWebSocketUrl(config.mediaUrl, media.channelvars, channelId)));
      await Promise.all([this.#inStasis(channelId), this.#bridgesReady]);
    } else {
      const local = leg === 'A' ? legs.legA : legs.legB;
      const media = await this.#track(this.#createMedia(() => ari.externalMedia({ app: config.app, externalHost: `${local.address}:${local.port}`, format: config.format, channelId, variables })));
      this.#checkAlive();
      // The leg does not latch, so it hears nothing until the engine knows Asterisk's side;
      // Asterisk sends only once the channel is bridged: connected first, then bridged.
      // The 200 may come before the channel is in Stasis (docs/asterisk-facts.md): an add
      // sent then is refused with 422, so the add also waits for its StasisStart.
      const remote = this.#track(engine.setRemote(pairId, leg, unicastRtpPeer(media.channelvars, channelId)));
      await Promise.all([remote, this.#bridgesReady, this.#inStasis(channelId)]);
    }
    this.#checkAlive();
    const join =
      leg === 'A'
        ? this.#track(ari.addChannels(ids.bridgeA, withCaller ? [this.callerChannelId, ids.mediaA] : [ids.mediaA])).catch(vanished('caller-hangup'))
        : this.#track(ari.addChannels(ids.bridgeB, [ids.mediaB]));
    await join;
  }

  /**
   * Creates an externalMedia channel. While adopting, the id may still name the dead channel being
   * hung up (Asterisk frees an id once the channel is destroyed, a moment after the DELETE's 204):
   * a 409 then is retried briefly.
   */
  async #createMedia(create: () => Promise<AriChannel>): Promise<AriChannel> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await create();
      } catch (err) {
        if (!this.#adopting || attempt >= 40 || !(err instanceof AriError && err.code === 'CONFLICT')) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
        this.#checkAlive();
      }
    }
  }

  /**
   * Takes over a call a previous process of this node left up (Asterisk keeps channels and bridges
   * when the app dies): caller in bridge A, leg B answered in bridge B. Opens new engine legs,
   * replaces the dead externalMedia channels (same names, same bridges) and resumes relaying.
   * Anything failing tears the whole pair down, as reconciliation would have.
   */
  async adopt(): Promise<void> {
    const { ari, engine, config } = this.#deps;
    const { ids } = this;
    this.#adopting = true;
    this.#adopted = true;
    this.#legBAnswered = true;
    this.facts.answered();
    this.#bridgesReady = Promise.resolve();
    try {
      const legs = await this.#track(
        engine.openPair({
          pairId: this.pairId,
          extA: this.extA,
          extB: this.extB,
          codec: config.format,
          latch: false,
          ...(config.record ? { record: true } : {}),
          ...(this.#deps.translation ? { translation: this.#deps.translation } : {}),
          ...(config.mediaTransport === 'websocket' ? { transport: 'websocket' as const } : {}),
        }),
      );
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
      void this.teardown(this.#legBEndReason(cause));
    } else if ((channelId === this.ids.mediaA || channelId === this.ids.mediaB) && !this.#teardown) {
      if (this.#replacing.has(channelId)) return;
      void this.teardown('external-media-lost');
    }
  }

  /**
   * Resolves once the channel's StasisStart has been seen (a channel is added to a bridge only
   * in Stasis: 422 otherwise), or the pair is torn down; fails after STASIS_START_DEADLINE_MS.
   */
  #inStasis(channelId: string): Promise<void> {
    if (this.#stasisSeen.has(channelId) || this.#teardown) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#stasisWaiters.delete(channelId);
        reject(new SetupError('setup-failed', new Error(`${channelId} did not enter Stasis within ${STASIS_START_DEADLINE_MS} ms of its externalMedia response`)));
      }, STASIS_START_DEADLINE_MS);
      timer.unref();
      this.#stasisWaiters.set(channelId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #stasisStarted(channelId: string): void {
    // The replacement is in Stasis: from now on this channel's end is a lost leg again.
    this.#replacing.delete(channelId);
    this.#stasisSeen.add(channelId);
    const waiter = this.#stasisWaiters.get(channelId);
    this.#stasisWaiters.delete(channelId);
    waiter?.();
  }

  #legBEndReason(cause: number | null): TeardownReason {
    if (this.#legBAnswered) return 'legb-hangup';
    if (cause === 17) return 'legb-busy';
    if (cause === 19) return 'legb-no-answer';
    return cause === null || cause === 16 ? 'legb-hangup' : 'legb-failed';
  }

  async #runTeardown(reason: TeardownReason): Promise<void> {
    const previous = this.#state;
    this.#state = 'tearing-down';
    if (this.#answerTimer) clearTimeout(this.#answerTimer);
    // Setup steps waiting for a StasisStart stop waiting (they see the teardown and end).
    for (const release of this.#stasisWaiters.values()) release();
    this.#stasisWaiters.clear();
    const { ari, engine } = this.#deps;
    const { ids } = this;
    // Whatever setup still has on the wire may create objects: let it land first.
    await Promise.allSettled([...this.#inflight]);
    const callerReason = CALLER_HANGUP_REASON[reason];
    // Every Asterisk object is confirmed gone (2xx, or 404: already gone) or listed as a
    // leftover: never assumed gone because its DELETE failed or timed out (issue 11: a leg B
    // stayed Up after its pair was released). The app holds the pair until leftovers are gone.
    const leftovers: PairLeftovers = { channels: [], bridges: [] };
    const remove = async (kind: keyof PairLeftovers, id: string, what: string, op: () => Promise<boolean>): Promise<void> => {
      try {
        await op();
      } catch (err) {
        leftovers[kind].push(id);
        this.#log.warn({ err: errorMessage(err), what, id }, 'teardown step not confirmed; held for reconciliation');
      }
    };
    const attempt = async (what: string, op: () => Promise<unknown>): Promise<void> => {
      try {
        await op();
      } catch (err) {
        this.#log.warn({ err: errorMessage(err), what }, 'teardown step failed');
      }
    };
    await Promise.all([
      this.#callerGone ? Promise.resolve() : remove('channels', this.callerChannelId, 'hangup caller', () => ari.hangup(this.callerChannelId, callerReason)),
      this.#legBGone ? Promise.resolve() : remove('channels', ids.legB, 'hangup leg B', () => ari.hangup(ids.legB)),
      remove('channels', ids.mediaA, 'hangup externalMedia A', () => ari.hangup(ids.mediaA)),
      remove('channels', ids.mediaB, 'hangup externalMedia B', () => ari.hangup(ids.mediaB)),
    ]);
    await Promise.all([
      remove('bridges', ids.bridgeA, 'destroy bridge A', () => ari.destroyBridge(ids.bridgeA)),
      remove('bridges', ids.bridgeB, 'destroy bridge B', () => ari.destroyBridge(ids.bridgeB)),
      attempt('close engine pair', async () => {
        this.facts.engine = await engine.closePair(this.pairId);
      }),
    ]);
    await attempt('release pair', () => this.#deps.releaseLease(this.pairId, reason, leftovers));
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

class PairClosedDuringSetup extends Error {}

class SetupError extends Error {
  constructor(
    readonly reason: TeardownReason,
    override readonly cause: unknown,
  ) {
    super(errorMessage(cause));
  }
}

/**
 * A channel that vanished under a setup request (404, or 400 "Channel not
 * found" from addChannel) means its party hung up while we were building:
 * report that, not a setup failure.
 */
function vanished(reason: TeardownReason): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof AriError && (err.code === 'NOT_FOUND' || /channel not found/i.test(err.message))) throw new SetupError(reason, err);
    throw err;
  };
}

/** Asterisk's side of an externalMedia channel, from the POST response's channelvars. */
export function unicastRtpPeer(channelvars: Record<string, string> | undefined, channelId: string): { address: string; port: number } {
  const address = channelvars?.['UNICASTRTP_LOCAL_ADDRESS'];
  const port = Number(channelvars?.['UNICASTRTP_LOCAL_PORT']);
  if (!address || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`externalMedia ${channelId} response lacks UNICASTRTP_LOCAL_ADDRESS/PORT`);
  }
  return { address, port };
}

/** `<mediaUrl><MEDIA_WEBSOCKET_CONNECTION_ID>`: where the engine connects a WebSocket leg (from the POST response's channelvars). */
export function mediaWebSocketUrl(mediaUrl: string | undefined, channelvars: Record<string, string> | undefined, channelId: string): string {
  if (mediaUrl === undefined) throw new Error('the websocket media transport needs calls.mediaUrl (ws://<asterisk http>/media/)');
  const id = channelvars?.['MEDIA_WEBSOCKET_CONNECTION_ID'];
  if (!id || !/^[A-Za-z0-9_.-]{1,128}$/.test(id)) {
    throw new Error(`externalMedia ${channelId} response lacks a usable MEDIA_WEBSOCKET_CONNECTION_ID`);
  }
  return `${mediaUrl}${id}`;
}
