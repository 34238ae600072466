import type { ConversationSection } from './conversation-tally.js';
import type { HistogramSnapshot } from './histogram.js';
import { round, type LoadTestReport } from './report.js';

/**
 * What a translation load run adds to the load test's report, under the
 * `translation` key (snake_case: the JSON file is the contract). The relay
 * view of the base report (tagged frames A → B) does not apply here: the
 * listener hears the translation, not the speaker's frames.
 */
export interface LatencySummary {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  mean_ms: number | null;
}

export interface TranslationSection {
  service: {
    /** child-process: started for this run (its CPU is its own); external: a URL given to the run; in-process: cascade doubles in the engine's process (tests). */
    kind: 'child-process' | 'external' | 'in-process';
    /** The Tandem-protocol service's URL; a cascade's: the recognizer double's. */
    url: string;
    /** tandem: the pairs' provider speaks docs/media-streaming-protocol.md; cascade: recognizer → translator → synthesizer. */
    provider: 'tandem' | 'cascade';
    /** The cascade's parts and the doubles' URLs (local parts, Apertium and espeak-ng, have none). Null for tandem. */
    cascade: {
      recognizer: string;
      translator: string;
      synthesizer: string;
      /** Deepgram's own endpointing (see cascade-doubles.ts). */
      recognizer_endpointing_ms: number;
      /**
       * How long the doubles took to answer: the profile (none: at once; realistic: docs/cascade.md), its seed and
       * each delayed answer's range [min, max] ms. What they actually drew is in `stats.<double>.delays`.
       */
      delays: { profile: string; seed: number; ranges_ms: Record<string, [number, number]> };
      urls: Record<string, string>;
    } | null;
    /** The service process's CPU over the measured window with its exited children's (espeak-ng, sox), % of one core (child only). */
    cpu_pct: number | null;
    /** What the service reported when it stopped (the reference service: cache hits/misses, synthesis). */
    stats: Record<string, unknown> | null;
  };
  languages: { A: string; B: string };
  /** What the listener's leg carried between answers: a continuous silence stream, or nothing (a talkspurt per answer). */
  between: 'silence' | 'nothing';
  /** The VAD's energy gate: adaptive (learnt noise floor and the −60 dBFS floor, the default) or absolute (the floor only). */
  vad_gate: 'adaptive' | 'absolute';
  /** Translated directions (two per pair). */
  directions: number;
  /** Counted over the measured window and the drain. */
  utterances: {
    /** The engine's VAD ended an utterance (speech_end). */
    detected: number;
    /** detected per direction and minute: the same speech gives the same rate, so a drop means the VAD or the media path fell behind. */
    detected_per_direction_per_min: number;
    speech_starts: number;
    /**
     * Latency events: an answer's first frame was injected into the listener's
     * leg. Fewer than detected when the next utterance of a direction ends
     * before the previous one's answer arrived (one is timed at a time).
     */
    answered: number;
    /**
     * Of answered: the provider's first answer audio came while the VAD still heard speech (its own endpointing
     * was faster), timed at the VAD's decision with provider 0 (DirectionEvent latency `answeredBeforeDecision`).
     */
    answered_before_decision: number;
    /** Final transcripts (transcript and translation both final). */
    transcripts: number;
    provider_errors: number;
    provider_errors_by_code: Record<string, number>;
    disconnects: number;
  };
  /**
   * End of speech → first translated frame injected (total = endpointing + provider + tandem, per utterance).
   * endpointing: the configured silence that confirms the speaker stopped; provider: the VAD's decision → the
   * provider's first answer audio; tandem: Tandem's own share (ingress + VAD decision + egress).
   */
  latency: {
    total: LatencySummary;
    endpointing: LatencySummary;
    provider: LatencySummary;
    tandem: LatencySummary;
    /** Of tandem: from the end-of-speech frame's arrival to its hand-over to the VAD and the provider. */
    tandem_ingress: LatencySummary;
    /** Of tandem: the VAD's decision, after the audio that completed its silence window was handed over. */
    tandem_vad: LatencySummary;
    /** Of tandem: the answer's wait for its 20 ms tick on the way out. */
    tandem_egress: LatencySummary;
    /**
     * Cascade only (count 0 otherwise): provider split into its parts, per utterance — the VAD's decision to the
     * final transcript, translating it, and the translation to the first synthesized audio reaching Tandem.
     */
    provider_recognition: LatencySummary;
    provider_translation: LatencySummary;
    provider_synthesis: LatencySummary;
    /**
     * Not in total: how late each end-of-speech frame arrived against its stream's timing (the generator's
     * lateness, or time in the kernel while the engine's worker was busy). Bounds what the shares cannot see.
     */
    end_frame_arrival_lateness: LatencySummary;
  };
  /** The media path into the engine. */
  ingress: {
    /** Whole run (exact): every datagram the generator put on the wire, against every one the engine's legs received. */
    generator_sent: number;
    engine_received: number | null;
    lost: number | null;
    loss_pct: number | null;
    /** Measured window: datagrams the legs dropped before their jitter buffers, by reason. */
    rx_dropped: Record<string, number>;
    /** Measured window, summed over legs: never arrived / arrived too late to play / dropped for depth (all loss), shed while shrinking toward the target depth, repeat-and-fade frames. */
    jitter_lost: number | null;
    jitter_late: number | null;
    jitter_overflow: number | null;
    jitter_accelerated: number | null;
    jitter_concealed: number | null;
    /** Mean adaptive jitter-buffer target depth at the end (base report): what the listener's side waits; recognition reads each frame on arrival. */
    jitter_target_ms_avg: number;
    /** Host-wide UDP RcvbufErrors over the measured window (from the base report). */
    rcvbuf_errors: number | null;
  };
  /** Between the engine and the provider over the measured window: each direction's stage counters (StreamingStage stats, framesOffered, vadErrors; a cascade's stage and recognizer counters), summed. */
  provider_path: Record<string, number> | null;
  /** The injected (translated) streams as the generator received them. */
  egress: {
    engine_sent: number | null;
    generator_received: number;
    /** |interarrival − 20 ms| within answers; an interval of 100 ms or more is the silence between two answers, counted in answer_gaps instead. */
    pacing_jitter_p50_ms: number | null;
    pacing_jitter_p99_ms: number | null;
    pacing_intervals: number;
    answer_gaps: number;
  };
  /**
   * The engine process's memory. start: when the measured window started (setup and warm-up done); end: when it
   * ended; peak: the most seen from engine start on (1 s samples); growth: end − start. RSS and the sampled heaps
   * move with the garbage collector's rhythm; the verdict (targets.memory_bounded) is the heap after a full GC.
   */
  memory: {
    rss_mb: { start: number | null; end: number | null; peak: number; growth: number | null };
    /** Engine workers' V8 heap in use (no GC first), summed over workers. */
    worker_heap_mb: { start: number | null; end: number | null; peak: number; growth: number | null };
    /** The engine process's main thread V8 heap in use (no GC first; in-process doubles live here too). */
    main_heap_mb: { start: number | null; end: number | null; peak: number; growth: number | null };
    /** Main + workers after a full GC, from the base report (null without the heap probe). */
    heap_after_gc_mb: { start: number | null; end: number | null; growth: number | null };
    /** Heap-after-GC growth below this is noise (V8's caches settling), not a leak. */
    heap_growth_tolerance_mb: number;
    /** One sample a second from engine start: seconds since then, RSS, worker heap, main-thread heap. */
    timeline: Array<{ t: number; rss_mb: number; worker_heap_mb: number | null; main_heap_mb: number }>;
  };
  /**
   * The workers' Silero VAD over the measured window, summed: 32 ms chunks the model heard (pre-rolls and
   * warming included), chunks the energy gate decided without it, and chunks dropped because inference
   * fell behind (each a 32 ms hole in what the VAD heard: an utterance can be missed). Null: not reported.
   */
  vad: {
    model_chunks: number;
    gated_chunks: number;
    pre_rolled: number;
    dropped_chunks: number;
    errors: number;
    batches: number;
    mean_batch_size: number | null;
    /** The share of the audio's chunks Silero ran on (pre-rolled and warmed chunks count once). */
    model_share: number | null;
  } | null;
  /** Turn-taking (the default): utterances sent by the generator against those the engine detected, per direction, whole run. Null: both legs talked at once. */
  conversation: ConversationSection | null;
  cpu: {
    engine_pct: number;
    engine_wait_pct: number | null;
    generator_pct: number;
    service_pct: number | null;
    /** The engine's CPU per translated pair (two directions), % of one core. */
    engine_pct_per_pair: number;
    /** Engine, generator and service together per pair (null without the service's CPU). */
    all_pct_per_pair: number | null;
  };
  targets: {
    tandem_p99_at_most_30_ms: boolean | null;
    no_ingress_loss: boolean | null;
    no_provider_path_drops: boolean | null;
    /** Final transcripts ≥ 99 % of the utterances detected (the edges of the window blur the count by a few). */
    every_utterance_transcribed: boolean;
    /** The VAD dropped no chunk and no model run failed: it heard all the audio. */
    vad_kept_up: boolean | null;
    /** Turn-taking: every utterance sent was detected (missed = Σ max(0, sent − detected) per stream is 0). Null: not a conversation. */
    no_utterance_missed: boolean | null;
    /** The heap after a full GC grew less than memory.heap_growth_tolerance_mb over the window. Null: no heap probe. */
    memory_bounded: boolean | null;
  };
}

export type TranslationLoadReport = LoadTestReport & { translation: TranslationSection };

/** Nearest-rank summary of raw samples (a load run has at most a few thousand utterances). */
export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => round(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!, 2);
  return {
    count: sorted.length,
    p50_ms: at(50),
    p99_ms: at(99),
    max_ms: round(sorted[sorted.length - 1]!, 2),
    mean_ms: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 2),
  };
}

/** Pacing of the injected streams, within answers: intervals ≥ 100 ms (jitter ≥ 80 ms) are gaps between answers. */
export function pacingWithinAnswers(pacing: HistogramSnapshot, gapJitterMs = 80): { p50: number | null; p99: number | null; intervals: number; gaps: number } {
  const kept = pacing.buckets.filter(([index]) => (index + 1) * pacing.bucketWidth <= gapJitterMs).sort((a, b) => a[0] - b[0]);
  const intervals = kept.reduce((n, [, c]) => n + c, 0);
  const pick = (p: number): number | null => {
    if (intervals === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * intervals));
    let seen = 0;
    for (const [index, count] of kept) {
      seen += count;
      if (seen >= rank) return round((index + 1) * pacing.bucketWidth, 3);
    }
    return null;
  };
  return { p50: pick(50), p99: pick(99), intervals, gaps: pacing.count - intervals };
}

const mark = (ok: boolean | null): string => (ok === null ? '?' : ok ? 'ok' : 'MISSED');
const ms = (s: LatencySummary): string => `p50 ${s.p50_ms ?? '?'} ms, p99 ${s.p99_ms ?? '?'} ms, max ${s.max_ms ?? '?'} ms`;

/** The human-readable summary of a translation run (the relay's loss and latency lines do not apply and are left out). */
export function formatTranslationReport(r: TranslationLoadReport): string {
  const t = r.translation;
  const u = t.utterances;
  const errors = Object.entries(u.provider_errors_by_code).map(([k, v]) => `${k}=${v}`).join(' ');
  const drops = Object.entries(t.ingress.rx_dropped).map(([k, v]) => `${k}=${v}`).join(' ');
  const p = t.provider_path;
  const m = t.memory;
  const lines = [
    `tandem loadtest --translate: ${r.pairs} pairs (${t.directions} translated directions, ${t.languages.A}↔${t.languages.B}, between answers: ${t.between}, VAD gate ${t.vad_gate}), ${r.seconds} s measured after ${r.warmup_seconds} s warm-up, ${r.workers} engine workers, ${r.codec}, ${r.audio_source} audio`,
    `  machine          ${r.machine.cpu_model}, ${r.machine.cores} cores, node ${r.machine.node}, load ${r.machine.loadavg_1m_at_start} → ${r.machine.loadavg_1m_at_end}`,
    `  service          ${serviceLine(t.service)}, CPU ${t.service.cpu_pct ?? '?'} %`,
    `  utterances       detected ${u.detected} (${u.detected_per_direction_per_min} per direction per minute), answered ${u.answered} (${u.answered_before_decision} before the VAD's decision), final transcripts ${u.transcripts}; provider errors ${u.provider_errors}${errors ? ` {${errors}}` : ''}, disconnects ${u.disconnects}   [every utterance transcribed: ${mark(t.targets.every_utterance_transcribed)}]`,
    `  latency total    ${ms(t.latency.total)}   (end of speech → first translated frame injected)`,
    `    endpointing    ${ms(t.latency.endpointing)}   (the VAD's configured silence: the speaker is done)`,
    `    provider       ${ms(t.latency.provider)}   (VAD decision → first answer audio)`,
    ...(t.service.provider === 'cascade'
      ? [
          `      recognition (VAD decision → final transcript)        ${ms(t.latency.provider_recognition)}`,
          `      translation (final transcript → translated text)     ${ms(t.latency.provider_translation)}`,
          `      synthesis   (translated text → first audio)          ${ms(t.latency.provider_synthesis)}`,
        ]
      : []),
    `    tandem         ${ms(t.latency.tandem)}   [target p99 ≤ 30 ms: ${mark(t.targets.tandem_p99_at_most_30_ms)}]`,
    `      in  (arrival → VAD and provider)      ${ms(t.latency.tandem_ingress)}`,
    `      VAD (silence heard → decision)        ${ms(t.latency.tandem_vad)}`,
    `      out (answer → its first frame sent)   ${ms(t.latency.tandem_egress)}`,
    `    not counted: the end frame's arrival lateness ${ms(t.latency.end_frame_arrival_lateness)}   (sender late, or queued in the kernel while a worker was busy)`,
    `  ingress          generator sent ${t.ingress.generator_sent}, engine received ${t.ingress.engine_received ?? '?'}, lost ${t.ingress.lost ?? '?'} (${t.ingress.loss_pct ?? '?'} %); drops{${drops}} jitter lost ${t.ingress.jitter_lost ?? '?'}, late ${t.ingress.jitter_late ?? '?'}, overflow ${t.ingress.jitter_overflow ?? '?'} (accelerated ${t.ingress.jitter_accelerated ?? '?'}, concealed ${t.ingress.jitter_concealed ?? '?'}), mean target depth ${t.ingress.jitter_target_ms_avg} ms; RcvbufErrors +${t.ingress.rcvbuf_errors ?? '?'}   [no loss: ${mark(t.targets.no_ingress_loss)}]`,
    `  to provider      ${p === null ? '?' : `frames sent ${p['framesSent'] ?? 0}, dropped not-connected ${p['droppedNotConnected'] ?? 0}, backpressure ${p['droppedBackpressure'] ?? 0}; answer frames played ${p['framesPlayed'] ?? 0}, answer samples dropped ${p['queueDroppedSamples'] ?? 0}; VAD errors ${p['vadErrors'] ?? 0}${t.service.provider === 'cascade' ? `; cascade finals ${p['finals'] ?? 0}, utterances done ${p['utterancesDone'] ?? 0}, dropped ${p['utterancesDropped'] ?? 0}, translate failures ${p['translateFailures'] ?? 0}, synthesis failures ${p['synthesisFailures'] ?? 0}, timeouts ${p['timeouts'] ?? 0}` : ''}`}   [no drops: ${mark(t.targets.no_provider_path_drops)}]`,
    `  egress           engine sent ${t.egress.engine_sent ?? '?'}, generator received ${t.egress.generator_received}; pacing within answers p50 ${t.egress.pacing_jitter_p50_ms ?? '?'} ms, p99 ${t.egress.pacing_jitter_p99_ms ?? '?'} ms over ${t.egress.pacing_intervals} intervals (${t.egress.answer_gaps} gaps between answers)`,
    `  CPU              engine ${t.cpu.engine_pct} % of one core (run-queue wait ${t.cpu.engine_wait_pct ?? '?'} %), generator ${t.cpu.generator_pct} %, service ${t.cpu.service_pct ?? '?'} %; per pair: engine ${t.cpu.engine_pct_per_pair} %, all three ${t.cpu.all_pct_per_pair ?? '?'} %`,
    `  memory           RSS ${m.rss_mb.start ?? '?'} → ${m.rss_mb.end ?? '?'} MB (peak ${m.rss_mb.peak} MB, growth ${m.rss_mb.growth ?? '?'} MB); heap in use: main ${m.main_heap_mb.start ?? '?'} → ${m.main_heap_mb.end ?? '?'} MB (peak ${m.main_heap_mb.peak} MB), workers ${m.worker_heap_mb.start ?? '?'} → ${m.worker_heap_mb.end ?? '?'} MB (peak ${m.worker_heap_mb.peak} MB)`,
    `    after full GC  ${m.heap_after_gc_mb.start ?? '?'} → ${m.heap_after_gc_mb.end ?? '?'} MB, growth ${m.heap_after_gc_mb.growth ?? '?'} MB (tolerance ${m.heap_growth_tolerance_mb} MB)   [memory bounded: ${mark(t.targets.memory_bounded)}]`,
    `  engine ticks     late ${r.engine.late_ticks}, skipped ${r.engine.skipped_ticks}, max lateness ${r.engine.max_tick_lateness_ms} ms`,
    `  VAD              ${
      t.vad === null
        ? 'not reported'
        : `model ${t.vad.model_chunks} chunks in ${t.vad.batches} batches (mean ${t.vad.mean_batch_size ?? '?'}), gated ${t.vad.gated_chunks} (pre-rolled ${t.vad.pre_rolled}), model share ${t.vad.model_share === null ? '?' : `${round(t.vad.model_share * 100, 1)} %`}; dropped ${t.vad.dropped_chunks}, errors ${t.vad.errors}`
    }   [VAD kept up: ${mark(t.targets.vad_kept_up)}]`,
  ];
  if (t.conversation !== null) lines.splice(4, 0, ...conversationLines(t.conversation, t.targets.no_utterance_missed));
  return `${lines.join('\n')}\n`;
}

function serviceLine(s: TranslationSection['service']): string {
  if (s.cascade === null) return `${s.kind} ${s.url}`;
  const c = s.cascade;
  const urls = Object.entries(c.urls).map(([k, v]) => `${k} ${v}`).join(', ');
  const d = c.delays;
  const delays = d.profile === 'none' ? 'answering at once' : `delays ${d.profile} (seed ${d.seed}: ${Object.entries(d.ranges_ms).map(([k, [lo, hi]]) => `${k} ${lo}–${hi} ms`).join(', ')})`;
  return `cascade ${c.recognizer} (endpointing ${c.recognizer_endpointing_ms} ms) → ${c.translator} → ${c.synthesizer} (doubles ${s.kind}, ${delays}: ${urls})`;
}

function conversationLines(c: ConversationSection, ok: boolean | null): string[] {
  const dir = (name: 'A->B' | 'B->A'): string => {
    const d = c.directions[name];
    return `    ${name}           sent ${d.sent}, detected ${d.detected}, missed ${d.missed}, extra ${d.extra}${d.muted > 0 ? ` (muted on purpose ${d.muted})` : ''}; answered ${d.answered}, final transcripts ${d.transcripts}; Tandem p50 ${d.tandem.p50_ms ?? '?'} ms, p99 ${d.tandem.p99_ms ?? '?'} ms`;
  };
  return [
    `  conversation     turns of ${c.turn_ms} ms (answer wait ${c.answer_wait_ms} ms, pauses ${c.background_dbfs === null ? 'digital silence' : `noise at ${c.background_dbfs} dBFS`}) over ${c.script_utterances} sentences, whole run: sent ${c.sent}, detected ${c.detected}, missed ${c.missed} (sent − detected), extra ${c.extra}; waited ${c.settle_ms} ms for the last   [no utterance missed: ${mark(ok)}]`,
    dir('A->B'),
    dir('B->A'),
  ];
}
