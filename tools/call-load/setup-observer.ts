import { latencyHistogram, type Histogram } from '../media-load/index.js';
import type { ServedRequest } from './ari-meter.js';

/**
 * Call setup as the simulated Asterisk sees it: every ARI request it served,
 * classified (which operation, which pair), and per pair the moment each setup
 * step was served, plus the first RTP each externalMedia leg sent and got back.
 * It needs nothing from Tandem but its object names (brg_/chan_/em_<PAIR_ID>_A|B),
 * so it works the same whether Tandem runs in this process or in its own.
 *
 * Tandem's view of a call (pair allocated, media path bridged, caller hung up by
 * Tandem) can be read from these requests too: `listener` is told, for a driver
 * that cannot see Tandem's events.
 */

export type AriOp = 'createBridge' | 'originate' | 'externalMedia' | 'addChannel' | 'setVariable' | 'hangup' | 'destroyBridge' | 'read' | 'other';

export interface ClassifiedRequest {
  op: AriOp;
  /** The channel or bridge named in the path or by `channelId`/`bridgeId`. */
  target: string | null;
  query: URLSearchParams;
}

/** The operation and target of a served ARI request, from its method and URL (the forms ari-client sends). */
export function classifyAriRequest(method: string, url: string): ClassifiedRequest {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const seg = path
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => decodeURIComponent(s));
  const [ari, resource, id, sub] = seg;
  const other: ClassifiedRequest = { op: method === 'GET' ? 'read' : 'other', target: null, query };
  if (ari !== 'ari' || (resource !== 'channels' && resource !== 'bridges')) return other;
  if (method === 'POST') {
    if (resource === 'bridges' && id === undefined) return { op: 'createBridge', target: query.get('bridgeId'), query };
    if (resource === 'channels' && id === undefined) return { op: 'originate', target: query.get('channelId'), query };
    if (resource === 'channels' && id === 'externalMedia' && sub === undefined) return { op: 'externalMedia', target: query.get('channelId'), query };
    if (resource === 'bridges' && sub === 'addChannel') return { op: 'addChannel', target: id ?? null, query };
    if (resource === 'channels' && sub === 'variable') return { op: 'setVariable', target: id ?? null, query };
    return other;
  }
  if (method === 'DELETE' && id !== undefined && sub === undefined) return { op: resource === 'channels' ? 'hangup' : 'destroyBridge', target: id, query };
  return other;
}

/** Setup steps, in the order a call goes through them; each is reported as ms after the caller's StasisStart. */
export const SETUP_STEPS = [
  'first_request',
  'bridges_created',
  'originate_served',
  'external_media_served',
  'caller_bridged',
  'media_b_bridged',
  'legb_bridged',
  'rtp_to_engine',
  'rtp_from_engine',
] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

/** What each step means, for the report. */
export const SETUP_STEP_MEANING: Readonly<Record<SetupStep, string>> = {
  first_request: "Tandem's first request for the call reached the simulator",
  bridges_created: 'both bridges created',
  originate_served: 'leg B originated (it answers 2 ms later)',
  external_media_served: 'both externalMedia channels created (engine legs open before)',
  caller_bridged: 'caller and externalMedia A in bridge A',
  media_b_bridged: 'externalMedia B in bridge B',
  legb_bridged: 'leg B in bridge B',
  rtp_to_engine: 'the simulator sent the first RTP to the engine on both legs',
  rtp_from_engine: 'the first RTP from the engine arrived on both legs',
};

/** Raw marks per pair; steps are derived from them. */
type Mark = 'first' | 'bridge_A' | 'bridge_B' | 'originate' | 'em_A' | 'em_B' | 'join_A' | 'join_emB' | 'join_legB' | 'out_A' | 'out_B' | 'in_A' | 'in_B';

export interface SetupObserverListener {
  /** Tandem originated leg B of `pairId` with this caller id (Tandem passes the caller's number on). */
  legBOriginated?(pairId: string, callerId: string | null, at: number): void;
  /** Tandem tagged the caller's channel with its PAIR_ID: the call has its pair. */
  pairMapped?(callerChannelId: string, pairId: string, at: number): void;
  /** The last of the pair's three bridge joins was served: caller + externalMedia A, externalMedia B, leg B (Tandem's `pairactive`). */
  pairBridged?(pairId: string, at: number): void;
  /** A DELETE of a channel reached the simulator (Tandem hanging it up), with its `reason`. */
  channelHungUp?(channelId: string, reason: string | null, at: number): void;
}

/** Per-operation figures of the simulator, as served. */
export interface AriOpStats {
  count: number;
  /** Inside the simulator: request parsed → response handed to the socket. */
  server_p50_ms: number | null;
  server_p99_ms: number | null;
}

/** The media counters the observer polls: the simulator's per-channel RTP stats. */
export type MediaStatsSource = (channelId: string) => { sent: number; received: number } | undefined;

const MARKS_OF_STEP: Readonly<Record<SetupStep, readonly Mark[]>> = {
  first_request: ['first'],
  bridges_created: ['bridge_A', 'bridge_B'],
  originate_served: ['originate'],
  external_media_served: ['em_A', 'em_B'],
  caller_bridged: ['join_A'],
  media_b_bridged: ['join_emB'],
  legb_bridged: ['join_legB'],
  rtp_to_engine: ['out_A', 'out_B'],
  rtp_from_engine: ['in_A', 'in_B'],
};

const PAIR_OBJECT = /^(?:brg|chan|em)_(.+)_([AB])$/;
/** The three bridge joins a call's media path needs. */
const JOINS: readonly Mark[] = ['join_A', 'join_emB', 'join_legB'];

export class SetupObserver {
  #listener: SetupObserverListener;
  readonly #media: MediaStatsSource;
  readonly #marks = new Map<string, Map<Mark, number>>();
  readonly #ops = new Map<AriOp, Histogram>();
  readonly #steps = new Map<SetupStep, Histogram>(SETUP_STEPS.map((s) => [s, latencyHistogram()]));

  constructor(opts: { media: MediaStatsSource; listener?: SetupObserverListener }) {
    this.#media = opts.media;
    this.#listener = opts.listener ?? {};
  }

  /** Who is told of Tandem's view of calls (replaces the previous listener). */
  setListener(listener: SetupObserverListener): void {
    this.#listener = listener;
  }

  /** Op counts and service times restart (e.g. after Tandem connected). */
  resetOps(): void {
    this.#ops.clear();
  }

  /** Feed from AriServerMeter's onServed. */
  served(r: ServedRequest): void {
    const c = classifyAriRequest(r.method, r.url);
    let h = this.#ops.get(c.op);
    if (!h) this.#ops.set(c.op, (h = latencyHistogram()));
    h.record(r.finishedAt - r.startedAt);
    const ok = r.status >= 200 && r.status < 300;
    const owner = c.target === null ? null : PAIR_OBJECT.exec(c.target);
    const pairId = owner?.[1] ?? null;
    const side = owner?.[2] === 'A' ? 'A' : 'B';
    switch (c.op) {
      case 'createBridge':
        if (pairId !== null) this.#setupMark(pairId, `bridge_${side}`, r, ok);
        return;
      case 'originate':
        if (pairId === null) return;
        this.#setupMark(pairId, 'originate', r, ok);
        if (ok) this.#listener.legBOriginated?.(pairId, c.query.get('callerId'), r.finishedAt);
        return;
      case 'externalMedia':
        if (pairId !== null) this.#setupMark(pairId, `em_${side}`, r, ok);
        return;
      case 'addChannel': {
        if (pairId === null) return;
        const channels = (c.query.get('channel') ?? '').split(',');
        if (side === 'A') this.#setupMark(pairId, 'join_A', r, ok);
        if (side === 'B' && channels.includes(`chan_${pairId}_B`)) this.#setupMark(pairId, 'join_legB', r, ok);
        if (side === 'B' && channels.includes(`em_${pairId}_B`)) this.#setupMark(pairId, 'join_emB', r, ok);
        const marks = this.#marks.get(pairId);
        const joined = marks ? JOINS.map((j) => marks.get(j)) : [];
        if (ok && joined.every((t) => t !== undefined) && joined.includes(r.finishedAt)) this.#listener.pairBridged?.(pairId, r.finishedAt);
        return;
      }
      case 'setVariable': {
        const value = c.query.get('value');
        if (c.target === null || c.query.get('variable') !== 'PAIR_ID' || value === null) return;
        this.#setupMark(value, 'first', r, false);
        if (ok) this.#listener.pairMapped?.(c.target, value, r.finishedAt);
        return;
      }
      case 'hangup':
        if (c.target !== null) this.#listener.channelHungUp?.(c.target, c.query.get('reason'), r.finishedAt);
        return;
      case 'destroyBridge':
        // Teardown: whatever comes next for this pair belongs to its next call.
        if (pairId !== null) this.#marks.delete(pairId);
        return;
      default:
        return;
    }
  }

  /** Looks at the pair's externalMedia legs: the first RTP sent to and received from the engine. */
  pollMedia(pairId: string, now: number): void {
    const marks = this.#marks.get(pairId);
    if (!marks) return;
    for (const side of ['A', 'B'] as const) {
      // Each on its own: the engine may send on a leg before the simulator does (it relays the other leg).
      const out = marks.has(`out_${side}`);
      const got = marks.has(`in_${side}`);
      if (out && got) continue;
      const stats = this.#media(`em_${pairId}_${side}`);
      if (!stats) continue;
      if (!out && stats.sent > 0) marks.set(`out_${side}`, now);
      if (!got && stats.received > 0) marks.set(`in_${side}`, now);
    }
  }

  /** A call on `pairId` placed at `placedAt` is set up: its steps go into the step figures. */
  callSetUp(pairId: string, placedAt: number): void {
    const marks = this.#marks.get(pairId);
    if (!marks) return;
    for (const step of SETUP_STEPS) {
      let at = -Infinity;
      for (const mark of MARKS_OF_STEP[step]) at = Math.max(at, marks.get(mark) ?? NaN);
      if (Number.isFinite(at) && at >= placedAt) this.#steps.get(step)?.record(at - placedAt);
    }
  }

  stepHistograms(): ReadonlyMap<SetupStep, Histogram> {
    return this.#steps;
  }

  opStats(): Partial<Record<AriOp, AriOpStats>> {
    const out: Partial<Record<AriOp, AriOpStats>> = {};
    for (const [op, h] of this.#ops) {
      out[op] = { count: h.count, server_p50_ms: h.count === 0 ? null : round(h.percentile(50)), server_p99_ms: h.count === 0 ? null : round(h.percentile(99)) };
    }
    return out;
  }

  #setupMark(pairId: string, mark: Mark, r: ServedRequest, ok: boolean): void {
    let marks = this.#marks.get(pairId);
    if (!marks) this.#marks.set(pairId, (marks = new Map<Mark, number>()));
    // The call's first request: the earliest arrival since the pair's last teardown.
    const first = marks.get('first');
    if (first === undefined || r.startedAt < first) marks.set('first', r.startedAt);
    if (ok && mark !== 'first') marks.set(mark, r.finishedAt);
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;
