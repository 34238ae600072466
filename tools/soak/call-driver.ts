import { pairIdOf } from '../../control/src/calls/naming.js';
import { tone, type AsteriskSimulator } from '../asterisk-simulator/ari/index.js';
import { voicedCount } from './probes.js';

export const CALLER_TONE_HZ = 440;
export const LEG_B_TONE_HZ = 880;
/** A call without audio on both phones by then counts as failed (and is hung up); the soak's default. */
export const DEFAULT_SETUP_TIMEOUT_MS = 10_000;

export type Moment = 'ringing' | 'after-answer' | 'mid-call';

export interface Call {
  channelId: string;
  placedAt: number;
  side: 'caller' | 'legb';
  moment: Moment;
  holdMs: number;
  pairId: string | null;
  setUpAt: number | null;
  ended: boolean;
  outcome: 'pending' | 'completed' | 'abandoned' | 'failed' | 'dropped' | 'lost';
  /** Its pair was on the engine worker a fault killed: ended by Tandem, it is lost within the fault's reach. */
  withinReach: boolean;
  reason: string | null;
  /** For a call that never set up: what the phones had heard by then (the evidence in the report). */
  evidence: string | null;
  hangupTimer: NodeJS.Timeout | null;
  /** Packets Asterisk's externalMedia legs had received from the engine a second after a fault (calls up across it). */
  mediaAfterFault: { at: number; received: number } | null;
}

/**
 * The phones' side of the soak: places calls on the simulator, sees them set up (audio both ways),
 * hangs them up at their moment, and tells what happened to each: completed, abandoned on purpose,
 * failed to set up, or dropped (ended by Tandem, or silent after a fault it was up across).
 */
export class CallDriver {
  readonly live = new Map<string, Call>();
  /** The fault being injected now (or just over): calls up across it keep holding until their audio can be checked. */
  readonly faultWindow = { startedAt: Infinity, endedAt: Infinity };
  /** Setup times (ms) of calls set up since the sampler last took them. */
  readonly #recentSetups: number[] = [];
  readonly #sim: AsteriskSimulator;
  readonly #random: () => number;
  readonly #holdMs: [number, number];
  readonly #setupTimeoutMs: number;
  #callNumber = 0;

  constructor(sim: AsteriskSimulator, random: () => number, holdMs: [number, number], setupTimeoutMs = DEFAULT_SETUP_TIMEOUT_MS) {
    this.#sim = sim;
    this.#random = random;
    this.#holdMs = holdMs;
    this.#setupTimeoutMs = setupTimeoutMs;
  }

  /** Calls placed and not yet ended. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.live.values()) if (!c.ended) n++;
    return n;
  }

  get callsUp(): number {
    let n = 0;
    for (const c of this.live.values()) if (c.setUpAt !== null && !c.ended) n++;
    return n;
  }

  /** The setup times recorded since the last call (the sampler's per-second percentiles). */
  takeRecentSetups(): number[] {
    return this.#recentSetups.splice(0);
  }

  /** A new caller with a random hang-up side, moment and hold. */
  place(): Call {
    const r = this.#random();
    const moment: Moment = r < 0.05 ? 'ringing' : r < 0.2 ? 'after-answer' : 'mid-call';
    const placed = this.#sim.placeCall({ callerNumber: `9${String(this.#callNumber++).padStart(6, '0')}`, audio: tone(CALLER_TONE_HZ) });
    const [min, max] = this.#holdMs;
    const call: Call = {
      channelId: placed.channelId,
      placedAt: Date.now(),
      side: this.#random() < 0.5 ? 'caller' : 'legb',
      moment,
      holdMs: min + Math.floor(this.#random() * (max - min)),
      pairId: null,
      setUpAt: null,
      ended: false,
      outcome: 'pending',
      reason: null,
      evidence: null,
      hangupTimer: null,
      mediaAfterFault: null,
      withinReach: false,
    };
    this.live.set(call.channelId, call);
    if (!placed.enteredStasis) {
      call.ended = true;
      call.outcome = 'failed';
      call.reason = 'not-in-stasis';
    } else if (moment === 'ringing') {
      call.hangupTimer = setTimeout(() => this.hangUp(call), Math.floor(this.#random() * 40));
    }
    return call;
  }

  /**
   * Which pair each caller is in, from the bridges (brg_<PAIR>_A holds the caller). A bridge A
   * holding two callers at once is a pair granted twice: counted, with the first few as evidence.
   */
  pairOfCaller(): Map<string, string> {
    const map = new Map<string, string>();
    for (const bridge of this.#sim.bridges()) {
      const pairId = pairIdOf(bridge.id);
      if (pairId === null || !bridge.id.endsWith('_A')) continue;
      const callers = bridge.channels.filter((id) => pairIdOf(id) === null);
      for (const id of callers) map.set(id, pairId);
      if (callers.length > 1) this.#sawDoubleGrant(pairId, callers);
    }
    return map;
  }

  /** Pairs seen holding two callers at once (each pair and set of callers counted once). */
  doubleGrants = 0;
  readonly doubleGrantExamples: string[] = [];
  readonly #doubleGrantsSeen = new Set<string>();

  #sawDoubleGrant(pairId: string, callers: readonly string[]): void {
    const key = `${pairId}: ${[...callers].sort().join(', ')}`;
    if (this.#doubleGrantsSeen.has(key)) return;
    this.#doubleGrantsSeen.add(key);
    this.doubleGrants++;
    if (this.doubleGrantExamples.length < 10) this.doubleGrantExamples.push(key);
  }

  /** What both externalMedia legs of a pair received from the engine (audio relayed to the phones). */
  mediaReceived(pairId: string): number {
    return (this.#sim.mediaStats(`em_${pairId}_A`)?.received ?? 0) + (this.#sim.mediaStats(`em_${pairId}_B`)?.received ?? 0);
  }

  /** A second after a fault: what each call up across it has received so far (it must receive more). */
  markMediaAfterFault(calls: readonly Call[], injectedAt: number): void {
    for (const c of calls) {
      if (!c.ended && c.setUpAt !== null && c.setUpAt < injectedAt && c.pairId !== null) c.mediaAfterFault = { at: Date.now(), received: this.mediaReceived(c.pairId) };
    }
  }

  hangUp(call: Call): void {
    if (call.ended) return;
    const window = this.faultWindow;
    const upAcrossFault = window.startedAt !== Infinity && call.setUpAt !== null && call.setUpAt < window.startedAt && call.outcome === 'pending';
    if (upAcrossFault && (Date.now() < window.endedAt + 1500 || (call.mediaAfterFault === null && Date.now() < window.endedAt + 5000))) {
      // A caller keeps holding through a fault: its call is outside the fault's reach and must carry audio after it.
      call.hangupTimer = setTimeout(() => this.hangUp(call), 250);
      return;
    }
    call.ended = true;
    if (call.hangupTimer) clearTimeout(call.hangupTimer);
    // A call up across a fault must carry audio again after it, not merely stay up.
    if (call.outcome === 'pending' && call.setUpAt !== null && call.pairId !== null && call.mediaAfterFault !== null && Date.now() - call.mediaAfterFault.at > 500) {
      if (this.mediaReceived(call.pairId) <= call.mediaAfterFault.received) {
        call.outcome = 'dropped';
        call.reason = 'silent-after-fault';
      }
    }
    if (call.outcome === 'pending') {
      if (call.setUpAt !== null) call.outcome = 'completed';
      else if (call.moment === 'ringing') call.outcome = 'abandoned';
      else {
        call.outcome = 'failed';
        call.reason = 'setup-timeout';
        call.evidence = this.#setupEvidence(call);
      }
    }
    const target = call.side === 'legb' && call.pairId !== null ? `chan_${call.pairId}_B` : call.channelId;
    if (!this.#sim.hangup(target)) this.#sim.hangup(call.channelId);
  }

  /** Once per poll: who got set up (audio both ways), who vanished under us. */
  poll(calls: readonly Call[]): void {
    const present = new Set(this.#sim.channels().map((c) => c.id));
    const pairs = this.pairOfCaller();
    const now = Date.now();
    for (const call of calls) {
      if (call.ended) continue;
      if (!present.has(call.channelId)) {
        // Tandem hung the caller up before the driver did.
        call.ended = true;
        if (call.hangupTimer) clearTimeout(call.hangupTimer);
        call.outcome = call.setUpAt !== null ? (call.withinReach ? 'lost' : 'dropped') : 'failed';
        call.reason = call.setUpAt !== null ? 'torn-down-by-tandem' : call.pairId === null ? 'rejected' : 'torn-down-during-setup';
        continue;
      }
      call.pairId ??= pairs.get(call.channelId) ?? null;
      if (call.setUpAt === null && call.pairId !== null) {
        const legB = `chan_${call.pairId}_B`;
        if (voicedCount(this.#sim.heard(call.channelId)) > 0 && voicedCount(this.#sim.heard(legB)) > 0) {
          call.setUpAt = now;
          this.#recentSetups.push(now - call.placedAt);
          const hold = call.moment === 'after-answer' ? 0 : call.holdMs;
          call.hangupTimer = setTimeout(() => this.hangUp(call), hold);
        }
      }
      if (call.setUpAt === null && now - call.placedAt > this.#setupTimeoutMs) this.hangUp(call);
    }
  }

  /** Why a call counts as never set up: its pair, and the voiced frames each phone and externalMedia leg had seen. */
  #setupEvidence(call: Call): string {
    const after = `${call.channelId} after ${Date.now() - call.placedAt} ms`;
    if (call.pairId === null) return `${after}: in no pair's bridge A`;
    const legB = `chan_${call.pairId}_B`;
    const present = new Set(this.#sim.channels().map((c) => c.id));
    const media = (side: 'A' | 'B'): string => {
      const stats = this.#sim.mediaStats(`em_${call.pairId}_${side}`);
      return stats ? `${stats.received} received` : 'absent';
    };
    return (
      `${after}: pair ${call.pairId}, caller heard ${voicedCount(this.#sim.heard(call.channelId))} voiced frames, ` +
      `leg B ${present.has(legB) ? `heard ${voicedCount(this.#sim.heard(legB))}` : 'absent'}, externalMedia A ${media('A')}, B ${media('B')}`
    );
  }

  /** The calls whose pairs a fault takes by definition. */
  markWithinReach(calls: readonly Call[], pairIds: readonly string[]): void {
    const lost = new Set(pairIds);
    for (const c of calls) if (c.pairId !== null && lost.has(c.pairId)) c.withinReach = true;
  }

  /** Forgets ended calls of a phase. */
  forget(calls: readonly Call[]): void {
    for (const c of calls) this.live.delete(c.channelId);
  }

  /** Stops every pending hang-up timer (the run is over). */
  close(): void {
    for (const c of this.live.values()) if (c.hangupTimer) clearTimeout(c.hangupTimer);
  }
}
