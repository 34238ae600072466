import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LegStats, PairStats } from '../../../engine/src/index.js';
import type { DirectionEvent } from '../../../engine/src/index.js';
import type { CallRecord } from '../records/call-record.js';
import { CALL_REJECT_CAUSES, type CallRejectCause } from '../calls/call-rejections.js';
import { cascadeTotals, type CascadeTotals } from './cascade-totals.js';
import type { EngineSample, EngineSampler } from './engine-sampler.js';
import { VadMetrics } from './vad-metrics.js';

/** The links whose state the node reports (`tandem_link_up{link}`). */
export type LinkName = 'ari' | 'ami' | 'redis' | 'postgresql';

/** Answers whether a link is up now; null = this node does not use it (no series). */
export type LinkProbe = () => boolean | null | Promise<boolean | null>;

/** A pair as the active-pairs gauge sees it (CallPair is one). */
export interface PairStateSource {
  pairs(): ReadonlyArray<{ state: string }>;
}

export interface NodeMetricsOptions {
  sampler: EngineSampler;
  pairs: PairStateSource;
  /** Engine worker threads configured. */
  workers: number;
  links: Partial<Record<LinkName, LinkProbe>>;
  /** Node.js process metrics (CPU, memory, event-loop lag, GC); default true. Off in tests that build many registries. */
  processMetrics?: boolean;
}

/** Per-leg counters summed over every pair, as monotonically growing totals. */
interface LegTotals {
  rxPackets: number;
  txPackets: number;
  played: number;
  lost: number;
  concealed: number;
  late: number;
  overflow: number;
}

const LEG_COUNTERS: ReadonlyArray<keyof LegTotals> = ['rxPackets', 'txPackets', 'played', 'lost', 'concealed', 'late', 'overflow'];

function legTotals(leg: LegStats): LegTotals {
  const j = leg.jitter;
  return { rxPackets: leg.rxPackets, txPackets: leg.txPackets, played: j.played, lost: j.lost, concealed: j.concealed, late: j.late, overflow: j.overflow };
}

const LATENCY_PARTS = ['totalMs', 'providerMs', 'tandemMs', 'ingressMs', 'endpointingMs', 'vadMs', 'egressMs'] as const;
const CASCADE_PARTS = ['recognitionMs', 'translationMs', 'synthesisMs'] as const;

/**
 * Prometheus metrics of one Tandem node (`GET /metrics`). Every series is a
 * node-wide aggregate: no pair, extension or caller labels, so the number of
 * series stays fixed however many calls run. Counters of live pairs are
 * accumulated from engine samples as deltas (a pair's last delta comes from its
 * final stats at teardown), so `rate()` works during long calls too.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly #started: Counter<never>;
  readonly #ended: Counter<'reason' | 'hangup_by'>;
  readonly #rejected: Counter<'reason'>;
  readonly #setup: Histogram<never>;
  readonly #duration: Histogram<never>;
  readonly #lossPct: Histogram<'leg'>;
  readonly #jitter: Histogram<'leg'>;
  readonly #mos: Histogram<'leg'>;
  readonly #legFrames: Counter<'leg' | 'kind'>;
  readonly #latency: Histogram<'part'>;
  readonly #translationErrors: Counter<never>;
  readonly #answersBeforeDecision: Counter<never>;
  readonly #early: Counter<'outcome'>;
  readonly #fallbackSwitches: Counter<'part' | 'to'>;
  readonly #fallbackCalls: Counter<'part'>;
  /** Per pair, the cascade totals already counted. */
  readonly #cascadeCounted = new Map<string, CascadeTotals>();
  readonly #lateTicks: Counter<never>;
  readonly #listeners: Gauge<never>;
  readonly #listenDropped: Counter<never>;
  /** Per pair, the leg totals already counted (so each sample adds only what is new). */
  readonly #counted = new Map<string, { A: LegTotals; B: LegTotals; seenAt: number }>();
  /** Per shard thread, late ticks already counted (a restarted shard starts again from 0). */
  readonly #lateTicksCounted = new Map<number, number>();
  readonly #unsubscribe: () => void;
  readonly #links = new Map<LinkName, LinkProbe>();
  readonly #vad: VadMetrics;

  constructor(options: NodeMetricsOptions) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#started = new Counter({ name: 'tandem_calls_started_total', help: 'Calls given a pair (caller accepted, setup begun).', registers });
    this.#ended = new Counter({ name: 'tandem_calls_ended_total', help: 'Calls ended, by teardown reason and by whose side ended them.', labelNames: ['reason', 'hangup_by'], registers });
    this.#rejected = new Counter({ name: 'tandem_calls_rejected_total', help: 'Callers turned away before any pair was set up, by cause.', labelNames: ['reason'], registers });
    for (const reason of CALL_REJECT_CAUSES) this.#rejected.inc({ reason }, 0);
    const states = ['setting-up', 'ringing', 'active', 'tearing-down'] as const;
    new Gauge({
      name: 'tandem_pairs',
      help: 'Pairs with a call on this node, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(states.map((s) => [s, 0]));
        for (const pair of options.pairs.pairs()) if (counts.has(pair.state)) counts.set(pair.state, (counts.get(pair.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.#setup = new Histogram({
      name: 'tandem_call_setup_seconds',
      help: "From the caller's StasisStart until the whole media path was up.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.#duration = new Histogram({ name: 'tandem_call_duration_seconds', help: 'From start to end of each finished call.', buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600], registers });
    this.#lossPct = new Histogram({ name: 'tandem_leg_loss_percent', help: "Per finished call and leg: audio the listener lost (lost + overflow + decode errors), in percent.", labelNames: ['leg'], buckets: [0, 0.1, 0.5, 1, 2, 5, 10, 20, 50], registers });
    this.#jitter = new Histogram({ name: 'tandem_leg_jitter_seconds', help: 'Per finished call and leg: mean RFC 3550 interarrival jitter.', labelNames: ['leg'], buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32], registers });
    this.#mos = new Histogram({ name: 'tandem_leg_mos', help: 'Per finished call and leg: E-model (G.107) MOS estimate.', labelNames: ['leg'], buckets: [1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 4.5], registers });
    this.#legFrames = new Counter({
      name: 'tandem_leg_packets_total',
      help: 'Summed over every pair, per leg: RTP packets received (rx) and sent (tx), and jitter-buffer frames played, lost, concealed, late, overflowed.',
      labelNames: ['leg', 'kind'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'tandem_translation_latency_seconds',
      help: "Per utterance, end of speech to first translated audio out, and its parts (provider = the provider's share, tandem = ingress + vad + egress).",
      labelNames: ['part'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    this.#translationErrors = new Counter({ name: 'tandem_translation_errors_total', help: 'Errors a translated direction reported (provider failures and the like).', registers });
    this.#answersBeforeDecision = new Counter({
      name: 'tandem_translation_answers_before_decision_total',
      help: 'Utterances whose first answer audio came while the VAD still heard speech (timed with a provider share of 0).',
      registers,
    });
    this.#early = new Counter({ name: 'tandem_cascade_early_translations_total', help: 'Cascade translations of a stable partial: started, and at the final reused, extended (only the rest translated), replaced or failed.', labelNames: ['outcome'], registers });
    this.#fallbackSwitches = new Counter({ name: 'tandem_cascade_fallback_switches_total', help: 'A cascade direction switched a part to its offline fallback (to="fallback") or back to the cloud provider (to="cloud").', labelNames: ['part', 'to'], registers });
    this.#fallbackCalls = new Counter({ name: 'tandem_cascade_fallback_calls_total', help: 'Cascade calls answered by the offline fallback part.', labelNames: ['part'], registers });
    this.#listeners = new Gauge({ name: 'tandem_console_listeners', help: 'Operators listening in on a leg over WebRTC right now.', registers });
    this.#listenDropped = new Counter({ name: 'tandem_console_listen_dropped_frames_total', help: 'Tapped 20 ms frames the engine dropped because a listener fell a whole ring (1 s) behind.', registers });
    this.#lateTicks = new Counter({ name: 'tandem_engine_late_ticks_total', help: 'Engine playout ticks that ran late, summed over workers.', registers });
    this.#vad = new VadMetrics(this.registry);
    const sampler = options.sampler;
    const engineGauge = (name: string, help: string, read: (s: EngineSample) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(read(await sampler.sample()));
        },
      });
    };
    new Gauge({ name: 'tandem_engine_workers', help: 'Engine worker threads configured.', registers }).set(options.workers);
    engineGauge('tandem_engine_workers_up', 'Engine workers that answered the last stats request.', (s) => s.stats.shards.length);
    engineGauge('tandem_engine_pairs', 'Pairs open in the engine.', (s) => s.stats.pairs);
    engineGauge('tandem_engine_sockets', 'Media sockets open in the engine.', (s) => s.stats.sockets);
    engineGauge('tandem_engine_max_tick_lateness_seconds', 'Worst tick lateness any worker has seen since it started.', (s) => Math.max(0, ...s.stats.shards.map((x) => x.maxTickLatenessMs)) / 1000);
    engineGauge('tandem_engine_heap_bytes', 'V8 heap in use, summed over workers.', (s) => s.stats.shards.reduce((n, x) => n + x.heapUsedBytes, 0));
    // Counters fed by the sample: refreshed before the registry reads them.
    new Gauge({
      name: 'tandem_engine_sample_age_seconds',
      help: 'Age of the engine sample this scrape used (samples are shared with the console).',
      registers,
      async collect() {
        const sample = await sampler.sample();
        this.set(Math.max(0, Date.now() - sample.at) / 1000);
      },
    });
    const links = this.#links;
    for (const [link, probe] of Object.entries(options.links)) links.set(link as LinkName, probe);
    new Gauge({
      name: 'tandem_link_up',
      help: 'Connection state of each link the node uses: 1 up, 0 down.',
      labelNames: ['link'],
      registers,
      async collect() {
        for (const [link, probe] of links) {
          const up = await Promise.resolve(probe()).catch(() => false);
          if (up !== null) this.set({ link }, up ? 1 : 0);
        }
      },
    });
    this.#unsubscribe = sampler.onSample((sample) => this.#accumulate(sample));
  }

  /** Adds (or replaces) a link's probe: parts started after the metrics (AMI) join here. */
  setLink(link: LinkName, probe: LinkProbe): void {
    this.#links.set(link, probe);
  }

  /** Every link's state now (links this node does not use are left out), for the console's node page. */
  async links(): Promise<Partial<Record<LinkName, boolean>>> {
    const out: Partial<Record<LinkName, boolean>> = {};
    for (const [link, probe] of this.#links) {
      const up = await Promise.resolve(probe()).catch(() => false);
      if (up !== null) out[link] = up;
    }
    return out;
  }

  /** A caller was given a pair. */
  /** Listen-in: how many listen now. */
  setListeners(count: number): void {
    this.#listeners.set(count);
  }

  /** Listen-in: frames a listener's tap dropped (counted when the listener ends). */
  listenDropped(frames: number): void {
    if (frames > 0) this.#listenDropped.inc(frames);
  }

  callStarted(): void {
    this.#started.inc();
  }

  callRejected(reason: CallRejectCause): void {
    this.#rejected.inc({ reason });
  }

  /** The whole media path of a call is up, `setupMs` after its StasisStart. */
  callSetUp(setupMs: number): void {
    this.#setup.observe(Math.max(0, setupMs) / 1000);
  }

  /** A call ended: its record feeds the outcome, quality histograms, and its pair's last counter deltas. */
  callEnded(record: CallRecord, finalStats: PairStats | null): void {
    this.#ended.inc({ reason: record.teardownReason, hangup_by: record.hangupBy });
    this.#duration.observe(record.durationMs / 1000);
    if (finalStats !== null) this.#countPair(finalStats, Date.now());
    this.#counted.delete(record.pairId);
    this.#cascadeCounted.delete(record.pairId);
    for (const [leg, r] of Object.entries(record.legs ?? {})) {
      if (r.played + r.lost === 0) continue;
      this.#lossPct.observe({ leg }, r.lossPct);
      this.#jitter.observe({ leg }, r.jitterMeanMs / 1000);
      if (r.mos !== null) this.#mos.observe({ leg }, r.mos);
    }
  }

  /** What a translated direction reported: latency of each utterance and its parts, errors. */
  translationEvent(event: DirectionEvent): void {
    if (event.type === 'latency') {
      for (const part of LATENCY_PARTS) this.#latency.observe({ part: part.slice(0, -2) }, Math.max(0, event[part]) / 1000);
      // A cascade splits the provider's share into its parts.
      for (const part of CASCADE_PARTS) {
        const ms = event[part];
        if (ms !== undefined) this.#latency.observe({ part: part.slice(0, -2) }, Math.max(0, ms) / 1000);
      }
      if (event.answeredBeforeDecision === true) this.#answersBeforeDecision.inc();
    } else if (event.type === 'error') {
      this.#translationErrors.inc();
    }
  }

  /** Prometheus text exposition of every metric. */
  async text(): Promise<{ contentType: string; body: string }> {
    // A sample first, so the counters fed by it are current in this scrape.
    await this.registry.getSingleMetric('tandem_engine_sample_age_seconds')?.get();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.#unsubscribe();
    this.registry.clear();
  }

  #accumulate(sample: EngineSample): void {
    this.#vad.accumulate(sample);
    for (const shard of sample.stats.shards) {
      const before = this.#lateTicksCounted.get(shard.threadId) ?? 0;
      const delta = shard.lateTicks >= before ? shard.lateTicks - before : shard.lateTicks;
      if (delta > 0) this.#lateTicks.inc(delta);
      this.#lateTicksCounted.set(shard.threadId, shard.lateTicks);
      for (const pair of shard.pairStats) this.#countPair(pair, sample.at);
    }
    // A pair the engine lost without a call ending (worker crash) stops being tracked after a minute.
    for (const [pairId, entry] of this.#counted) {
      if (sample.at - entry.seenAt > 60_000) {
        this.#counted.delete(pairId);
        this.#cascadeCounted.delete(pairId);
      }
    }
  }

  #countPair(pair: PairStats, at: number): void {
    const now = { A: legTotals(pair.legA), B: legTotals(pair.legB) };
    const before = this.#counted.get(pair.pairId);
    for (const leg of ['A', 'B'] as const) {
      for (const kind of LEG_COUNTERS) {
        const was = before?.[leg][kind] ?? 0;
        // Lower than before: a new call on the same pair, counting from 0 again.
        const delta = now[leg][kind] >= was ? now[leg][kind] - was : now[leg][kind];
        if (delta > 0) this.#legFrames.inc({ leg, kind: kindLabel(kind) }, delta);
      }
    }
    this.#counted.set(pair.pairId, { ...now, seenAt: at });
    this.#countCascade(pair);
  }

  #countCascade(pair: PairStats): void {
    const now = cascadeTotals(pair);
    const before = this.#cascadeCounted.get(pair.pairId) ?? {};
    for (const [key, n] of Object.entries(now)) {
      const was = before[key] ?? 0;
      // Lower than before: the stages were rebuilt (new languages) or a new call, counting from 0 again.
      const delta = n >= was ? n - was : n;
      if (delta <= 0) continue;
      const [part, what] = key.split('.') as [string, string];
      if (part === 'early') this.#early.inc({ outcome: what }, delta);
      else if (what === 'fallbackCalls') this.#fallbackCalls.inc({ part }, delta);
      else this.#fallbackSwitches.inc({ part, to: what === 'toFallback' ? 'fallback' : 'cloud' }, delta);
    }
    if (Object.keys(now).length > 0) this.#cascadeCounted.set(pair.pairId, now);
  }
}

function kindLabel(kind: keyof LegTotals): string {
  return kind === 'rxPackets' ? 'rx' : kind === 'txPackets' ? 'tx' : kind;
}
