import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import type { EngineStats, MediaEngine } from '../../engine/src/engine.js';
import type { Direction } from '../../engine/src/pipeline/stage.js';
import type { TranscriptEvent } from '../../engine/src/pipeline/transcript-event.js';
import type { DirectionEvent } from '../../engine/src/pipeline/translation/translating-stage.js';
import { ConversationTally } from './conversation-tally.js';
import { delta, snapshotEngine, vadSection, type EngineSnapshot } from './engine-snapshot.js';
import { LoadTestError } from './errors.js';
import type { ConversationSpec, CoreResult } from './generator-protocol.js';
import { HEAP_GROWTH_TOLERANCE_MB, round, type LoadTestReport } from './report.js';
import { pacingWithinAnswers, summarize, type TranslationSection } from './translation-report.js';

const MB = 1024 * 1024;
const SAMPLE_MS = 1000;
/** After the generator's last frame, how long without a new utterance end before the rest count as missed, and the most to wait. */
const SETTLE = { quietMs: 3000, maxMs: 30_000 };
const log = logger('loadtest.translation');

/** Listens to the engine during a run and turns what it saw into the report's `translation` section. */
export class TranslationCollector {
  readonly #serviceCpuMs: () => number | null;
  #engine: MediaEngine | null = null;
  #startedAt = 0;
  #counting = false;
  #timer: NodeJS.Timeout | null = null;
  #sampling = false;
  readonly #counts = { detected: 0, speechStarts: 0, transcripts: 0, providerErrors: 0, disconnects: 0, answeredBeforeDecision: 0 };
  readonly #errorsByCode: Record<string, number> = {};
  readonly #total: number[] = [];
  readonly #provider: number[] = [];
  readonly #tandem: number[] = [];
  readonly #ingress: number[] = [];
  readonly #egress: number[] = [];
  readonly #vad: number[] = [];
  readonly #endpointing: number[] = [];
  readonly #lateness: number[] = [];
  readonly #recognition: number[] = [];
  readonly #translation: number[] = [];
  readonly #synthesis: number[] = [];
  readonly #timeline: TranslationSection['memory']['timeline'] = [];
  #rssPeak = 0;
  #heapPeak = 0;
  #mainHeapPeak = 0;
  #rssStart: number | null = null;
  #rssEnd: number | null = null;
  #mainHeapStart: number | null = null;
  #mainHeapEnd: number | null = null;
  #start: Promise<EngineSnapshot | null> = Promise.resolve(null);
  #windowStart: { at: number; serviceCpuMs: number | null } | null = null;
  #serviceCpuPct: number | null = null;
  /** How long events were counted (measured window + drain). */
  #countedMs = 0;
  #end: EngineSnapshot | null = null;
  #begin: EngineSnapshot | null = null;
  #generator: CoreResult | null = null;
  readonly #conversation = new ConversationTally();

  constructor(serviceCpuMs: () => number | null) {
    this.#serviceCpuMs = serviceCpuMs;
  }

  attach(engine: MediaEngine): void {
    this.#engine = engine;
    this.#startedAt = performance.now();
    engine.on('translation', this.#onEvent);
    engine.on('transcript', this.#onTranscript);
    this.#timer = setInterval(() => void this.#sample(), SAMPLE_MS);
    void this.#sample();
  }

  measuring(): void {
    this.#counting = true;
    const memory = process.memoryUsage();
    this.#rssStart = memory.rss;
    this.#mainHeapStart = memory.heapUsed;
    this.#windowStart = { at: performance.now(), serviceCpuMs: this.#serviceCpuMs() };
    this.#start = this.#stats().then((stats) => (stats === null ? null : snapshotEngine(stats)));
  }

  async measured(generator: CoreResult): Promise<void> {
    this.#counting = false;
    this.#stopSampling();
    const now = performance.now();
    const start = this.#windowStart;
    if (start !== null) this.#countedMs = now - start.at;
    const cpuNow = this.#serviceCpuMs();
    if (start !== null && start.serviceCpuMs !== null && cpuNow !== null && now > start.at) {
      this.#serviceCpuPct = round(((cpuNow - start.serviceCpuMs) / (now - start.at)) * 100, 1);
    }
    const memory = process.memoryUsage();
    this.#rssEnd = memory.rss;
    this.#rssPeak = Math.max(this.#rssPeak, this.#rssEnd);
    this.#mainHeapEnd = memory.heapUsed;
    this.#mainHeapPeak = Math.max(this.#mainHeapPeak, memory.heapUsed);
    this.#generator = generator;
    const stats = await this.#stats();
    this.#end = stats === null ? null : snapshotEngine(stats);
    this.#begin = await this.#start;
    if (this.#end !== null) this.#heapPeak = Math.max(this.#heapPeak, this.#end.workerHeapBytes);
    // A conversation counts every utterance: the last ones' ends may still be on their way through the VAD.
    if (generator.conversation !== undefined) await this.#conversation.settle(generator.conversation.sent, SETTLE);
  }

  section(x: {
    report: LoadTestReport;
    service: Omit<TranslationSection['service'], 'cpu_pct'>;
    languages: { A: string; B: string };
    between: TranslationSection['between'];
    vadGate: TranslationSection['vad_gate'];
    conversation: ConversationSpec | undefined;
  }): TranslationSection {
    const g = this.#generator;
    if (g === null) throw new LoadTestError('GENERATOR_FAILED', 'the translation run ended without the generator result');
    const r = x.report;
    const end = this.#end;
    const lost = end === null ? null : Math.max(0, g.sentTotal - end.rx);
    const pacing = pacingWithinAnswers(g.pacing);
    const total = summarize(this.#total);
    const tandem = summarize(this.#tandem);
    const begin = this.#begin;
    const stages = end === null ? null : delta(begin?.stages, end.stages);
    const legs = end === null ? null : delta(begin?.legs, end.legs);
    const vad = vadSection(end === null ? null : delta(begin?.vad, end.vad));
    const rxDropped: Record<string, number> = {};
    for (const [key, n] of Object.entries(legs ?? {})) if (key.startsWith('rx_dropped_') && n !== 0) rxDropped[key.slice('rx_dropped_'.length)] = n;
    const jitter = (key: string): number | null => (legs === null ? null : (legs[`jitter_${key}`] ?? 0));
    const pathDrops = stages === null ? null : (stages['droppedNotConnected'] ?? 0) + (stages['droppedBackpressure'] ?? 0) + (stages['queueDroppedSamples'] ?? 0) + (stages['utterancesDropped'] ?? 0);
    const windowLoss = legs === null ? null : (jitter('lost') ?? 0) + (jitter('late') ?? 0) + (jitter('overflow') ?? 0) + Object.values(rxDropped).reduce((a, b) => a + b, 0);
    const conversation = g.conversation === undefined || x.conversation === undefined ? null : this.#conversation.section(g.conversation, x.conversation);
    const mb = (b: number | null): number | null => (b === null ? null : round(b / MB, 1));
    const growth = (start: number | null, endBytes: number | null): number | null => (start === null || endBytes === null ? null : round((endBytes - start) / MB, 1));
    const workerHeapStart = begin?.workerHeapBytes ?? null;
    const workerHeapEnd = end?.workerHeapBytes ?? null;
    return {
      service: { ...x.service, cpu_pct: this.#serviceCpuPct },
      languages: x.languages,
      between: x.between,
      vad_gate: x.vadGate,
      directions: r.pairs * 2,
      utterances: {
        detected: this.#counts.detected,
        detected_per_direction_per_min: this.#countedMs > 0 ? round((this.#counts.detected / (r.pairs * 2)) * (60_000 / this.#countedMs), 2) : 0,
        speech_starts: this.#counts.speechStarts,
        answered: total.count,
        answered_before_decision: this.#counts.answeredBeforeDecision,
        transcripts: this.#counts.transcripts,
        provider_errors: this.#counts.providerErrors,
        provider_errors_by_code: { ...this.#errorsByCode },
        disconnects: this.#counts.disconnects,
      },
      latency: {
        total,
        endpointing: summarize(this.#endpointing),
        provider: summarize(this.#provider),
        tandem,
        tandem_ingress: summarize(this.#ingress),
        tandem_vad: summarize(this.#vad),
        tandem_egress: summarize(this.#egress),
        provider_recognition: summarize(this.#recognition),
        provider_translation: summarize(this.#translation),
        provider_synthesis: summarize(this.#synthesis),
        end_frame_arrival_lateness: summarize(this.#lateness),
      },
      ingress: {
        generator_sent: g.sentTotal,
        engine_received: end?.rx ?? null,
        lost,
        loss_pct: lost === null ? null : g.sentTotal > 0 ? round((lost / g.sentTotal) * 100, 4) : 0,
        rx_dropped: rxDropped,
        jitter_lost: jitter('lost'),
        jitter_late: jitter('late'),
        jitter_overflow: jitter('overflow'),
        jitter_accelerated: jitter('accelerated'),
        jitter_concealed: jitter('concealed'),
        jitter_target_ms_avg: r.engine.jitter_target_ms_avg,
        rcvbuf_errors: r.rcvbuf_errors,
      },
      provider_path: stages,
      egress: {
        engine_sent: end?.tx ?? null,
        generator_received: g.receivedTotal,
        pacing_jitter_p50_ms: pacing.p50,
        pacing_jitter_p99_ms: pacing.p99,
        pacing_intervals: pacing.intervals,
        answer_gaps: pacing.gaps,
      },
      memory: {
        rss_mb: { start: mb(this.#rssStart), end: mb(this.#rssEnd), peak: round(this.#rssPeak / MB, 1), growth: growth(this.#rssStart, this.#rssEnd) },
        worker_heap_mb: { start: mb(workerHeapStart), end: mb(workerHeapEnd), peak: round(this.#heapPeak / MB, 1), growth: growth(workerHeapStart, workerHeapEnd) },
        main_heap_mb: { start: mb(this.#mainHeapStart), end: mb(this.#mainHeapEnd), peak: round(this.#mainHeapPeak / MB, 1), growth: growth(this.#mainHeapStart, this.#mainHeapEnd) },
        heap_after_gc_mb: { start: r.heap_start_mb, end: r.heap_end_mb, growth: r.heap_growth_mb },
        heap_growth_tolerance_mb: HEAP_GROWTH_TOLERANCE_MB,
        timeline: this.#timeline,
      },
      vad,
      conversation,
      cpu: {
        engine_pct: r.cpu_pct,
        engine_wait_pct: r.cpu_wait_pct,
        generator_pct: r.generator.cpu_pct,
        service_pct: this.#serviceCpuPct,
        engine_pct_per_pair: round(r.cpu_pct / r.pairs, 3),
        all_pct_per_pair: this.#serviceCpuPct === null ? null : round((r.cpu_pct + r.generator.cpu_pct + this.#serviceCpuPct) / r.pairs, 3),
      },
      targets: {
        tandem_p99_at_most_30_ms: tandem.p99_ms === null ? null : tandem.p99_ms <= 30,
        no_ingress_loss: lost === null || windowLoss === null ? null : lost === 0 && windowLoss === 0 && (r.rcvbuf_errors ?? 0) === 0,
        no_provider_path_drops: pathDrops === null ? null : pathDrops === 0,
        every_utterance_transcribed: this.#counts.detected > 0 && this.#counts.transcripts >= 0.99 * this.#counts.detected,
        vad_kept_up: vad === null ? null : vad.dropped_chunks === 0 && vad.errors === 0,
        no_utterance_missed: conversation === null ? null : conversation.sent > 0 && conversation.missed === 0,
        memory_bounded: r.heap_growth_mb === null ? null : r.heap_growth_mb < HEAP_GROWTH_TOLERANCE_MB,
      },
    };
  }

  close(): void {
    this.#stopSampling();
    this.#engine?.off('translation', this.#onEvent);
    this.#engine?.off('transcript', this.#onTranscript);
  }

  readonly #onEvent = (pairId: string, direction: Direction, event: DirectionEvent): void => {
    // The conversation's counts cover the whole run (what the generator sent from its first frame on).
    if (event.type === 'speech' && event.state === 'end') this.#conversation.speechEnded(pairId, direction);
    else if (event.type === 'latency') this.#conversation.answered(pairId, direction, event.tandemMs);
    if (!this.#counting) return;
    switch (event.type) {
      case 'speech':
        if (event.state === 'end') this.#counts.detected++;
        else this.#counts.speechStarts++;
        break;
      case 'latency':
        if (event.answeredBeforeDecision === true) this.#counts.answeredBeforeDecision++;
        this.#total.push(event.totalMs);
        this.#provider.push(event.providerMs);
        this.#tandem.push(event.tandemMs);
        this.#ingress.push(event.ingressMs);
        this.#egress.push(event.egressMs);
        this.#vad.push(event.vadMs);
        this.#endpointing.push(event.endpointingMs);
        this.#lateness.push(event.arrivalLatenessMs);
        if (event.recognitionMs !== undefined) this.#recognition.push(event.recognitionMs);
        if (event.translationMs !== undefined) this.#translation.push(event.translationMs);
        if (event.synthesisMs !== undefined) this.#synthesis.push(event.synthesisMs);
        break;
      case 'error':
        this.#counts.providerErrors++;
        this.#errorsByCode[event.code] = (this.#errorsByCode[event.code] ?? 0) + 1;
        break;
      case 'connection':
        if (event.state === 'disconnected') this.#counts.disconnects++;
        break;
      case 'mark':
        break;
    }
  };

  readonly #onTranscript = (event: TranscriptEvent): void => {
    if (event.final) this.#conversation.transcribed(event.pairId, event.direction);
    if (this.#counting && event.final) this.#counts.transcripts++;
  };

  #stopSampling(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #sample(): Promise<void> {
    // A slow stats call must not pile up behind the next tick.
    if (this.#sampling || this.#timer === null) return;
    this.#sampling = true;
    try {
      const { rss, heapUsed } = process.memoryUsage();
      const heap = await this.#workerHeap();
      this.#rssPeak = Math.max(this.#rssPeak, rss);
      this.#mainHeapPeak = Math.max(this.#mainHeapPeak, heapUsed);
      if (heap !== null) this.#heapPeak = Math.max(this.#heapPeak, heap);
      this.#timeline.push({
        t: round((performance.now() - this.#startedAt) / 1000, 1),
        rss_mb: round(rss / MB, 1),
        worker_heap_mb: heap === null ? null : round(heap / MB, 1),
        main_heap_mb: round(heapUsed / MB, 1),
      });
    } finally {
      this.#sampling = false;
    }
  }

  async #workerHeap(): Promise<number | null> {
    const stats = await this.#stats();
    if (stats === null) return null;
    return stats.shards.reduce((n, s) => n + s.heapUsedBytes, 0);
  }

  async #stats(): Promise<EngineStats | null> {
    const engine = this.#engine;
    if (engine === null || engine.closed) return null;
    try {
      return await engine.stats();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'engine stats failed');
      return null;
    }
  }
}
