import { latencyHistogram, type Histogram } from '../media-load/index.js';

/**
 * Per-call bookkeeping of a via-ARI load run, free of sockets and timers: the
 * driver feeds it what happened (call placed, Tandem's events, what the phones
 * heard on each poll) with an injected clock, and it decides each call's
 * outcome and setup time. That keeps the measurement rules in one testable place.
 *
 * Setup time of a call: from the caller's StasisStart (the simulator emits it
 * synchronously inside placeCall, so the driver's clock read just before
 * placeCall is the event time) to the moment BOTH phones have heard audio
 * through the engine: the caller's phone its first audible frame (the probe
 * decides what counts) from the engine on externalMedia A, and leg B's phone
 * its first on externalMedia B. Each phone shares its bridge with nothing but
 * its externalMedia leg, so what it hears can only have come from the engine,
 * and the engine plays on a leg only what it received on the other: both legs
 * carry audio both ways. The moment is observed by polling, so it is late by
 * at most one poll interval plus event-loop delay (both reported).
 */

export type CallOutcome = 'pending' | 'set-up' | 'failed' | 'rejected';

export interface CallRecord {
  readonly index: number;
  readonly channelId: string;
  readonly placedAt: number;
  pairId: string | null;
  legBId: string | null;
  /** When Tandem reported the pair active (its media path bridged: caller + externalMedia A, leg B + externalMedia B). */
  activeAt: number | null;
  /** Tandem's own CallPair.setupMs (pair created → media path bridged; excludes allocation). */
  tandemSetupMs: number | null;
  callerHeardAt: number | null;
  legBHeardAt: number | null;
  outcome: CallOutcome;
  reason: string | null;
  /** The caller's channel is gone (we hung up, or Tandem did). */
  ended: boolean;
}

/** What the phones heard so far: true once the phone on `channelId` has heard any audio. */
export interface PhoneProbe {
  hasHeard(channelId: string): boolean;
}

export interface TrackerSummary {
  placed: number;
  setUp: number;
  failed: number;
  rejected: number;
  pending: number;
  failures: Record<string, number>;
  rejections: Record<string, number>;
  /** Pairs Tandem tore down before the driver hung up, by Tandem's reason. */
  earlyTeardowns: Record<string, number>;
  setup: Histogram;
  /** StasisStart → Tandem's `pairactive`, everything bridged (the ARI part of setup). */
  control: Histogram;
  /** `pairactive` → both phones heard audio (the media part: first RTP through the engine). */
  media: Histogram;
  tandemSetup: Histogram;
}

export class CallTracker {
  readonly #probe: PhoneProbe;
  readonly #now: () => number;
  readonly #setupTimeoutMs: number;
  readonly #onSetUp: ((record: CallRecord) => void) | undefined;
  readonly #byChannel = new Map<string, CallRecord>();
  readonly #byPair = new Map<string, CallRecord>();
  readonly #pending = new Set<CallRecord>();
  readonly #records: CallRecord[] = [];
  readonly #earlyTeardowns = new Map<string, number>();
  readonly #setup = latencyHistogram();
  readonly #control = latencyHistogram();
  readonly #media = latencyHistogram();
  readonly #tandemSetup = latencyHistogram();
  #ended = 0;

  /** `onSetUp` is told of each call the moment it counts as set up. */
  constructor(opts: { probe: PhoneProbe; now: () => number; setupTimeoutMs: number; onSetUp?: (record: CallRecord) => void }) {
    if (!(opts.setupTimeoutMs > 0)) throw new RangeError(`setupTimeoutMs must be > 0, got ${opts.setupTimeoutMs}`);
    this.#probe = opts.probe;
    this.#now = opts.now;
    this.#setupTimeoutMs = opts.setupTimeoutMs;
    this.#onSetUp = opts.onSetUp;
  }

  get placedCount(): number {
    return this.#records.length;
  }

  /** Calls placed whose caller is still up. */
  get inProgress(): number {
    return this.#records.length - this.#ended;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Calls neither set up nor failed yet. */
  pending(): IterableIterator<CallRecord> {
    return this.#pending.values();
  }

  /** Pending calls whose pair Tandem has not been matched to yet. */
  unmappedPending(): CallRecord[] {
    return [...this.#pending].filter((r) => r.pairId === null);
  }

  records(): readonly CallRecord[] {
    return this.#records;
  }

  get(channelId: string): CallRecord | undefined {
    return this.#byChannel.get(channelId);
  }

  /** `placedAt` is the clock read just before placeCall (the StasisStart moment). */
  add(channelId: string, placedAt: number): CallRecord {
    const record: CallRecord = {
      index: this.#records.length,
      channelId,
      placedAt,
      pairId: null,
      legBId: null,
      activeAt: null,
      tandemSetupMs: null,
      callerHeardAt: null,
      legBHeardAt: null,
      outcome: 'pending',
      reason: null,
      ended: false,
    };
    this.#records.push(record);
    this.#byChannel.set(channelId, record);
    this.#pending.add(record);
    return record;
  }

  /** A call the simulator could not even put into Stasis (no app WebSocket). */
  notInStasis(record: CallRecord): void {
    this.#fail(record, 'not-in-stasis');
    this.markEnded(record);
  }

  rejected(channelId: string, reason: string): void {
    const record = this.#byChannel.get(channelId);
    if (!record || record.outcome !== 'pending') return;
    this.#pending.delete(record);
    record.outcome = 'rejected';
    record.reason = reason;
    this.markEnded(record);
  }

  /** Tandem allocated `pairId` for this caller (seen in its registry). */
  mapPair(channelId: string, pairId: string, legBId: string): void {
    const record = this.#byChannel.get(channelId);
    if (!record || record.pairId !== null) return;
    record.pairId = pairId;
    record.legBId = legBId;
    this.#byPair.set(pairId, record);
  }

  /** Tandem has the pair's media path bridged (`at`: when that was seen, default now). */
  active(channelId: string, pairId: string, legBId: string, tandemSetupMs: number | null, at: number = this.#now()): void {
    this.mapPair(channelId, pairId, legBId);
    const record = this.#byChannel.get(channelId);
    if (!record || record.activeAt !== null) return;
    record.activeAt = at;
    record.tandemSetupMs = tandemSetupMs;
    this.#check(record);
  }

  /** Tandem tore a pair down; before our hangup that is a failure (if not yet set up) or an early drop. */
  pairClosed(pairId: string, reason: string): void {
    const record = this.#byPair.get(pairId);
    if (!record || record.ended) return;
    if (record.outcome === 'pending') this.#fail(record, `torn-down:${reason}`);
    else this.#earlyTeardowns.set(reason, (this.#earlyTeardowns.get(reason) ?? 0) + 1);
    this.markEnded(record);
  }

  /** Looks at what the pending calls' phones heard; fails calls past the setup timeout. */
  poll(): void {
    const now = this.#now();
    for (const record of this.#pending) {
      this.#check(record, now);
      if (record.outcome === 'pending' && now - record.placedAt > this.#setupTimeoutMs) {
        this.#fail(record, `no-audio-within-${this.#setupTimeoutMs}ms`);
      }
    }
  }

  /** The driver is about to hang up this caller: a call not set up by now has failed. */
  hangingUp(record: CallRecord): void {
    this.#check(record);
    if (record.outcome === 'pending') this.#fail(record, 'not-set-up-before-hangup');
  }

  /** The run is being stopped by its deadline. */
  abandon(record: CallRecord): void {
    if (record.outcome === 'pending') this.#fail(record, 'run-deadline');
  }

  markEnded(record: CallRecord): void {
    if (record.ended) return;
    record.ended = true;
    this.#ended++;
  }

  summary(): TrackerSummary {
    const count = (outcome: CallOutcome): number => this.#records.filter((r) => r.outcome === outcome).length;
    const byReason = (outcome: CallOutcome): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of this.#records) if (r.outcome === outcome && r.reason !== null) out[r.reason] = (out[r.reason] ?? 0) + 1;
      return out;
    };
    return {
      placed: this.#records.length,
      setUp: count('set-up'),
      failed: count('failed'),
      rejected: count('rejected'),
      pending: count('pending'),
      failures: byReason('failed'),
      rejections: byReason('rejected'),
      earlyTeardowns: Object.fromEntries(this.#earlyTeardowns),
      setup: this.#setup,
      control: this.#control,
      media: this.#media,
      tandemSetup: this.#tandemSetup,
    };
  }

  #check(record: CallRecord, now = this.#now()): void {
    if (record.outcome !== 'pending') return;
    if (record.callerHeardAt === null && this.#probe.hasHeard(record.channelId)) record.callerHeardAt = now;
    // Leg B's id comes back with its pair (chan_pair_001_B): until this call's
    // leg B is up, the id may still name an earlier call's phone and its recording.
    if (record.legBHeardAt === null && record.legBId !== null && record.activeAt !== null && this.#probe.hasHeard(record.legBId)) record.legBHeardAt = now;
    if (record.callerHeardAt === null || record.legBHeardAt === null || record.activeAt === null) return;
    this.#pending.delete(record);
    record.outcome = 'set-up';
    const done = Math.max(record.callerHeardAt, record.legBHeardAt);
    this.#setup.record(done - record.placedAt);
    this.#control.record(record.activeAt - record.placedAt);
    this.#media.record(done - record.activeAt);
    if (record.tandemSetupMs !== null) this.#tandemSetup.record(record.tandemSetupMs);
    this.#onSetUp?.(record);
  }

  #fail(record: CallRecord, reason: string): void {
    if (record.outcome !== 'pending') return;
    this.#pending.delete(record);
    record.outcome = 'failed';
    record.reason = reason;
  }
}
