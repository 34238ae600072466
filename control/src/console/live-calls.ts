import type { LegStats, PairStats } from '../../../engine/src/index.js';
import type { AriEvent } from '../ari/index.js';
import type { CallPair, TeardownReason } from '../calls/index.js';
import { legRecord } from '../records/call-record.js';
import type { EngineSample, EngineSampler } from '../metrics/engine-sampler.js';
import type { LiveCall, LiveLeg, TimelineEntry } from '../../web/types.js';

export type { LiveCall, LiveLeg, TimelineEntry };

/** What the console reads of a call's pair (CallPair is one). */
export type LivePair = Pick<CallPair, 'pairId' | 'callerChannelId' | 'callerId' | 'extA' | 'extB' | 'state' | 'channelIds'> & {
  readonly facts: Pick<CallPair['facts'], 'startedAt' | 'answeredAt'>;
};

/** What the console reads from the pair_session app (CallApp is one). */
export interface LiveCallsApp {
  pairs(): LivePair[];
  pair(pairId: string): LivePair | undefined;
  on(event: 'pairallocated', listener: (pair: LivePair) => void): unknown;
  on(event: 'pairactive', listener: (pair: LivePair) => void): unknown;
  on(event: 'pairclosed', listener: (pairId: string, reason: TeardownReason) => void): unknown;
  off(event: 'pairallocated', listener: (pair: LivePair) => void): unknown;
  off(event: 'pairactive', listener: (pair: LivePair) => void): unknown;
  off(event: 'pairclosed', listener: (pairId: string, reason: TeardownReason) => void): unknown;
}

export interface AriEventSource {
  on(event: 'event', listener: (event: AriEvent) => void): unknown;
  off(event: 'event', listener: (event: AriEvent) => void): unknown;
}

const ROLES = ['caller', 'leg B', 'media A', 'media B'] as const;
const MAX_TIMELINE = 60;
/** Timelines of ended calls kept for their pages (the newest ones). */
const MAX_ENDED = 200;

/**
 * The live view of every call on this node, for the console: rows built from
 * the pair_session app and one shared engine sample, and each call's timeline
 * from its ARI events. It samples only while someone watches (`watch()`), at
 * most once per interval, so an idle console costs the engine nothing.
 */
export class LiveCalls {
  readonly #app: LiveCallsApp;
  readonly #sampler: EngineSampler;
  readonly #ari: AriEventSource;
  readonly #intervalMs: number;
  /** channel id → pair id and the channel's role, for the calls on now. */
  readonly #channels = new Map<string, { pairId: string; role: string }>();
  /** Timelines by call id (the caller's channel): live calls, then the most recent ended ones. */
  readonly #timelines = new Map<string, TimelineEntry[]>();
  readonly #ended: Array<{ pairId: string; callId: string; reason: TeardownReason; at: number }> = [];
  /** Per pair, the counters of the previous sample (for packets per second). */
  readonly #previous = new Map<string, { at: number; stats: PairStats }>();
  readonly #watchers = new Set<(rows: LiveCall[], at: number) => void>();
  #timer: NodeJS.Timeout | null = null;
  #rows: LiveCall[] = [];
  #rowsAt = 0;
  /** The calls stream's payload for `#rows`, made once however many pages watch. */
  #rowsJson: { rows: LiveCall[]; text: string } | null = null;
  #closed = false;

  constructor(options: { app: LiveCallsApp; sampler: EngineSampler; ari: AriEventSource; intervalMs?: number }) {
    this.#app = options.app;
    this.#sampler = options.sampler;
    this.#ari = options.ari;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#app.on('pairallocated', this.#onAllocated);
    this.#app.on('pairactive', this.#onActive);
    this.#app.on('pairclosed', this.#onClosed);
    this.#ari.on('event', this.#onAriEvent);
  }

  /** Calls `listener` with fresh rows every interval until the returned function is called. */
  watch(listener: (rows: LiveCall[], at: number) => void): () => void {
    this.#watchers.add(listener);
    if (this.#rowsAt > 0) listener(this.#rows, this.#rowsAt);
    this.#timer ??= setInterval(() => void this.#tick(), this.#intervalMs);
    void this.#tick();
    return () => {
      this.#watchers.delete(listener);
      if (this.#watchers.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  /**
   * Rows as the calls stream sends them (`{ at, calls }`), serialized once per sample: every open
   * calls page gets the same text, so a second page costs a socket write, not another 500-row JSON.
   */
  rowsJson(rows: LiveCall[], at: number): string {
    if (this.#rowsJson?.rows !== rows) this.#rowsJson = { rows, text: JSON.stringify({ at, calls: rows }) };
    return this.#rowsJson.text;
  }

  /** A call's timeline by its call id (live or recently ended), oldest first. */
  timeline(callId: string): readonly TimelineEntry[] {
    return this.#timelines.get(callId) ?? [];
  }

  /** The most recent end of a call on this pair, if it ended recently. */
  lastEnded(pairId: string): { callId: string; reason: TeardownReason; at: number } | null {
    for (let i = this.#ended.length - 1; i >= 0; i--) if (this.#ended[i]!.pairId === pairId) return this.#ended[i]!;
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#watchers.clear();
    this.#app.off('pairallocated', this.#onAllocated);
    this.#app.off('pairactive', this.#onActive);
    this.#app.off('pairclosed', this.#onClosed);
    this.#ari.off('event', this.#onAriEvent);
  }

  async #tick(): Promise<void> {
    let sample: EngineSample;
    try {
      sample = await this.#sampler.sample();
    } catch {
      // Engine busy or restarting a worker: rows keep their last numbers until the next tick.
      return;
    }
    if (this.#closed) return;
    if (sample.at <= this.#rowsAt && this.#rows.length === this.#app.pairs().length) {
      for (const watcher of this.#watchers) watcher(this.#rows, this.#rowsAt);
      return;
    }
    this.#rows = this.#build(sample);
    this.#rowsAt = sample.at;
    for (const watcher of this.#watchers) watcher(this.#rows, sample.at);
  }

  #build(sample: EngineSample): LiveCall[] {
    const byPair = new Map<string, PairStats>();
    for (const shard of sample.stats.shards) for (const p of shard.pairStats) byPair.set(p.pairId, p);
    const rows: LiveCall[] = [];
    const seen = new Set<string>();
    for (const pair of this.#app.pairs()) {
      const stats = byPair.get(pair.pairId);
      seen.add(pair.pairId);
      const previous = this.#previous.get(pair.pairId);
      const dt = previous === undefined ? 0 : (sample.at - previous.at) / 1000;
      const codec = stats?.codec ?? 'ulaw';
      const leg = (name: 'A' | 'B'): LiveLeg | null => {
        if (stats === undefined) return null;
        const now = name === 'A' ? stats.legA : stats.legB;
        const before: LegStats | undefined = previous === undefined ? undefined : name === 'A' ? previous.stats.legA : previous.stats.legB;
        const record = legRecord(name === 'A' ? stats.extA : stats.extB, now, codec);
        const rate = (a: number, b: number | undefined): number => (dt > 0 && b !== undefined && a >= b ? round((a - b) / dt) : 0);
        return {
          ext: record.ext,
          rxPps: rate(now.rxPackets, before?.rxPackets),
          txPps: rate(now.txPackets, before?.txPackets),
          lossPct: record.lossPct,
          jitterMs: round(now.jitter.jitterMs),
          depthMs: round(now.jitter.depthMs),
          concealed: now.jitter.concealed,
          mos: record.mos,
          levelDbfs: now.level?.rmsDbfs ?? -96,
          clipped: now.level?.clippedSamples ?? 0,
        };
      };
      const legA = leg('A');
      const legB = leg('B');
      if (stats !== undefined) this.#previous.set(pair.pairId, { at: sample.at, stats });
      rows.push({
        pairId: pair.pairId,
        callId: pair.callerChannelId,
        caller: pair.callerId,
        extA: pair.extA,
        extB: pair.extB,
        state: pair.state,
        startedAt: pair.facts.startedAt,
        answeredAt: pair.facts.answeredAt,
        languages: stats?.translation?.languages ?? null,
        legs: legA !== null && legB !== null ? { A: legA, B: legB } : null,
      });
    }
    for (const pairId of this.#previous.keys()) if (!seen.has(pairId)) this.#previous.delete(pairId);
    return rows;
  }

  #note(callId: string, what: string, at = Date.now()): void {
    const timeline = this.#timelines.get(callId);
    if (timeline === undefined || timeline.length >= MAX_TIMELINE) return;
    timeline.push({ at, what });
  }

  readonly #onAllocated = (pair: LivePair): void => {
    this.#timelines.set(pair.callerChannelId, [{ at: pair.facts.startedAt, what: `StasisStart caller ${pair.callerId ?? '(unknown)'}` }]);
    this.#note(pair.callerChannelId, `pair ${pair.pairId} allocated (${pair.extA} ↔ ${pair.extB})`);
    pair.channelIds.forEach((id, i) => this.#channels.set(id, { pairId: pair.pairId, role: ROLES[i] ?? 'channel' }));
    // The pair map is only ever as long as the calls on now, plus this bound on ended calls' timelines.
    while (this.#timelines.size > MAX_ENDED + this.#app.pairs().length) {
      const oldest = this.#timelines.keys().next().value;
      if (oldest === undefined) break;
      this.#timelines.delete(oldest);
    }
  };

  readonly #onActive = (pair: LivePair): void => {
    this.#note(pair.callerChannelId, 'media path up: both legs bridged to the engine');
  };

  readonly #onClosed = (pairId: string, reason: TeardownReason): void => {
    let callId: string | null = null;
    for (const [id, channel] of this.#channels) {
      if (channel.pairId !== pairId) continue;
      if (channel.role === 'caller') callId = id;
      this.#channels.delete(id);
    }
    this.#previous.delete(pairId);
    if (callId === null) return;
    this.#note(callId, `teardown complete (${reason})`);
    this.#ended.push({ pairId, callId, reason, at: Date.now() });
    if (this.#ended.length > MAX_ENDED) this.#ended.shift();
  };

  readonly #onAriEvent = (event: AriEvent): void => {
    if (event.type === 'Other' || event.type === 'ApplicationReplaced' || event.type === 'BridgeDestroyed') return;
    const channelId = event.type === 'Dial' ? event.peer.id : event.channel?.id;
    if (channelId === undefined) return;
    const channel = this.#channels.get(channelId);
    if (channel === undefined) return;
    const pair = this.#app.pair(channel.pairId);
    if (pair === undefined) return;
    let detail = '';
    if (event.type === 'ChannelStateChange') detail = ` → ${event.channel.state ?? '?'}`;
    else if (event.type === 'ChannelDestroyed') detail = ` (cause ${event.cause} ${event.cause_txt})`;
    else if (event.type === 'Dial') detail = ` ${event.dialstatus}`;
    else if (event.type === 'ChannelEnteredBridge' || event.type === 'ChannelLeftBridge') detail = ` ${event.bridge.id}`;
    this.#note(pair.callerChannelId, `${event.type} ${channel.role}${detail}`);
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
