import type { ChildProcess } from 'node:child_process';
import type { EngineConfigInput } from '../../engine/src/config/engine-config.js';
import type { MediaEngine } from '../../engine/src/engine.js';
import type { PairTranslationInput } from '../../engine/src/pipeline/translation/config.js';
import type { ConversationSpec, CoreResult, Impairment } from './generator-protocol.js';
import { isLoadCodecName, type LoadCodecName } from './load-codec.js';
import { LoadTestError } from './errors.js';
import type { GeneratorCoreKind } from './native-core.js';

/** What one load test runs: load shape, engine settings, generator and diagnostics. */
export interface LoadTestOptions {
  /** Engine settings beyond the ones the load test chooses itself (e.g. alignMarginMs, jitter depths). */
  engine?: Pick<EngineConfigInput, 'alignMarginMs' | 'jitter' | 'scheduleSlots' | 'workerNice' | 'io' | 'vad'>;
  pairs: number;
  /** Measured seconds (after the warm-up). */
  seconds: number;
  /** Engine worker threads. Default: one per core. */
  workers?: number;
  /** What the generator sends and every pair opens with. Default ulaw. */
  codec?: LoadCodecName;
  /** Generator-side network impairment. Default none. */
  impairment?: Partial<Impairment>;
  /**
   * Ramp instead of a fixed load: start with `pairsPerSecond` pairs, add as
   * many every second until a 1 s window loses more than `lossPct` or its p99
   * latency passes `latencyMs`, `pairs` (the cap) is reached, or `seconds`
   * (which then bounds the ramp) runs out.
   */
  ramp?: { pairsPerSecond?: number; lossPct?: number; latencyMs?: number };
  /** Unmeasured seconds before the measured window (jitter buffers settle, JIT warms up). Default 5, ramps 2. */
  warmupSeconds?: number;
  /** Time after the last send for in-flight frames to come back. Default 600 ms (> 200 ms max jitter depth). */
  drainMs?: number;
  /** Generator core threads. Default: one per 250 pairs, at most 2. */
  generatorThreads?: number;
  /** Engine leg ports. Default 10000–19999: below Linux's ephemeral range where the generator binds. */
  portRange?: { min: number; max: number };
  /** Kernel socket buffers, engine and generator. Default 2 MiB. */
  socketBufferBytes?: number;
  /** Play the tone sweep even when espeak-ng is installed (tests). */
  preferTone?: boolean;
  /** Measure engine heap after a full GC at both ends of the window. Default true. */
  heapProbe?: boolean;
  /** Profile every engine thread over the measured window and write .cpuprofile files here (a diagnostic). */
  cpuProfileDir?: string;
  /** Overall deadline; default scales with pairs and seconds. */
  deadlineMs?: number;
  /** Generator cores: C processes (default when they build) or Node worker threads. */
  generatorCore?: GeneratorCoreKind;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Every pair opens translated with these settings (translation-load.ts); default: plain relay. */
  translation?: PairTranslationInput;
  /** Turn-taking (conversation.ts): the legs of a pair speak in turns instead of both all the time. */
  conversation?: ConversationSpec;
  /**
   * Observation points: for tests (the engine and the child, to check they are
   * gone afterwards) and for translation-load.ts (the measured window's bounds;
   * `measured` runs after the generator's result, while the engine is still open).
   */
  hooks?: LoadTestHooks;
}

export interface LoadTestHooks {
  engineStarted?: (engine: MediaEngine) => void;
  generatorForked?: (child: ChildProcess) => void;
  measuring?: () => void;
  measured?: (generator: CoreResult) => Promise<void>;
}

export interface LoadTestProgress {
  phase: 'warmup' | 'measuring' | 'draining';
  /** Pairs open now (grows during a ramp). */
  elapsedSeconds: number;
  pairs: number;
  /** Packets per second the generator sent (engine in) and received (engine out) since the last line. */
  ppsOut: number;
  ppsIn: number;
  /** Measured-window loss so far; includes frames still in flight, so slightly high while running. */
  lossSoFarPct: number;
  generatorMaxSendLateMs: number;
}

/** How long one step (hello, ready, a batch of added pairs) may take before the run fails. */
export const STEP_TIMEOUT_MS = 30_000;

export interface ResolvedRamp {
  pairsPerSecond: number;
  lossPct: number;
  latencyMs: number;
}

export interface Resolved {
  pairs: number;
  codec: LoadCodecName;
  impairment: Impairment;
  ramp: ResolvedRamp | null;
  seconds: number;
  workers: number | undefined;
  warmupSeconds: number;
  drainMs: number;
  generatorThreads: number;
  portRange: { min: number; max: number };
  socketBufferBytes: number;
  preferTone: boolean;
  heapProbe: boolean;
  cpuProfileDir: string | undefined;
  deadlineMs: number;
  generatorCore: GeneratorCoreKind | undefined;
  engine: Pick<EngineConfigInput, 'alignMarginMs' | 'jitter' | 'scheduleSlots' | 'workerNice' | 'io' | 'vad'>;
  translation: PairTranslationInput | undefined;
  conversation: ConversationSpec | undefined;
  hooks: LoadTestHooks;
}

export function resolveOptions(o: LoadTestOptions): Resolved {
  const bad = (msg: string): never => {
    throw new LoadTestError('INVALID_OPTIONS', msg);
  };
  if (!Number.isInteger(o.pairs) || o.pairs < 1) bad(`pairs must be a positive integer, got ${o.pairs}`);
  if (!(o.seconds > 0) || o.seconds > 3600) bad(`seconds must be in (0, 3600], got ${o.seconds}`);
  const codec = o.codec ?? 'ulaw';
  if (!isLoadCodecName(codec)) bad(`codec must be ulaw, alaw or slin16, got ${String(o.codec)}`);
  const impairment: Impairment = { jitterMs: o.impairment?.jitterMs ?? 0, lossPct: o.impairment?.lossPct ?? 0, reorderPct: o.impairment?.reorderPct ?? 0 };
  if (!(impairment.jitterMs >= 0 && impairment.jitterMs <= 1000)) bad(`jitter must be in [0, 1000] ms, got ${impairment.jitterMs}`);
  if (!(impairment.lossPct >= 0 && impairment.lossPct <= 100)) bad(`loss must be in [0, 100] %, got ${impairment.lossPct}`);
  if (!(impairment.reorderPct >= 0 && impairment.reorderPct <= 100)) bad(`reorder must be in [0, 100] %, got ${impairment.reorderPct}`);
  let ramp: ResolvedRamp | null = null;
  if (o.ramp !== undefined) {
    ramp = { pairsPerSecond: o.ramp.pairsPerSecond ?? 10, lossPct: o.ramp.lossPct ?? 0.1, latencyMs: o.ramp.latencyMs ?? 100 };
    if (!Number.isInteger(ramp.pairsPerSecond) || ramp.pairsPerSecond < 1) bad(`ramp pairs per second must be a positive integer, got ${ramp.pairsPerSecond}`);
    if (!(ramp.lossPct >= 0)) bad(`ramp loss threshold must be ≥ 0 %, got ${ramp.lossPct}`);
    if (!(ramp.latencyMs > 0)) bad(`ramp latency threshold must be > 0 ms, got ${ramp.latencyMs}`);
  }
  const warmupSeconds = o.warmupSeconds ?? (ramp ? 2 : 5);
  if (!(warmupSeconds >= 0) || warmupSeconds > 600) bad(`warmupSeconds must be in [0, 600], got ${warmupSeconds}`);
  const portRange = o.portRange ?? { min: 10000, max: 19999 };
  if (portRange.max - portRange.min + 1 < o.pairs * 2) bad(`port range ${portRange.min}-${portRange.max} is too small for ${o.pairs} pairs`);
  const generatorThreads = o.generatorThreads ?? Math.min(2, Math.max(1, Math.ceil(o.pairs / 250)));
  if (!Number.isInteger(generatorThreads) || generatorThreads < 1 || generatorThreads > 16) bad(`generatorThreads must be 1-16, got ${generatorThreads}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) bad(`workers must be a positive integer, got ${o.workers}`);
  const drainMs = o.drainMs ?? 600;
  return {
    pairs: o.pairs,
    codec,
    impairment,
    ramp,
    seconds: o.seconds,
    workers: o.workers,
    warmupSeconds,
    drainMs,
    generatorThreads,
    portRange,
    socketBufferBytes: o.socketBufferBytes ?? 2 * 1024 * 1024,
    preferTone: o.preferTone ?? false,
    heapProbe: o.heapProbe ?? true,
    cpuProfileDir: o.cpuProfileDir,
    engine: o.engine ?? {},
    translation: o.translation,
    conversation: o.conversation,
    hooks: o.hooks ?? {},
    generatorCore: o.generatorCore,
    // A conversation waits up to 30 s more after the drain for its last utterances (translation-collector.ts).
    deadlineMs: o.deadlineMs ?? 60_000 + o.pairs * 50 + (warmupSeconds + o.seconds) * 1000 + drainMs + 30_000 + (o.conversation !== undefined ? 30_000 : 0),
  };
}
