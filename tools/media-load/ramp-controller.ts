import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import type { MediaEngine } from '../../engine/src/engine.js';
import type { GeneratorLink } from './generator-link.js';
import type { WindowSample } from './generator-protocol.js';
import { STEP_TIMEOUT_MS, type Resolved, type ResolvedRamp } from './load-options.js';
import { connectPairs, openPairs } from './pair-setup.js';
import type { ProgressTracker } from './progress-tracker.js';
import type { RampReport, RampStopReason, TimelineSample } from './report.js';
import { buildTimeline } from './timeline.js';

const log = logger('loadtest');

/** Whether a 1 s window met the ramp's thresholds. */
export function windowPasses(ramp: ResolvedRamp, s: TimelineSample): boolean {
  return s.loss_pct <= ramp.lossPct && s.latency_p99_ms !== null && s.latency_p99_ms <= ramp.latencyMs;
}

/**
 * The knee: walking the measured windows in order, the pair count of the last
 * window that met both thresholds before the first that did not.
 */
export function findKnee(ramp: { lossPct: number; latencyMs: number }, timeline: readonly TimelineSample[], warmupSeconds: number): number | null {
  let knee: number | null = null;
  for (const s of timeline) {
    // Warm-up, and seconds with nothing measured (every pair still settling), say nothing.
    if (s.t <= warmupSeconds || s.pairs === 0 || (s.latency_p99_ms === null && s.loss_pct === 0)) continue;
    if (!windowPasses({ pairsPerSecond: 0, ...ramp }, s)) break;
    knee = knee === null ? s.pairs : Math.max(knee, s.pairs);
  }
  return knee;
}

export function rampReport(ramp: ResolvedRamp, warmupSeconds: number, timeline: readonly TimelineSample[], reason: RampStopReason, maxPairs: number): RampReport {
  return {
    pairs_per_second: ramp.pairsPerSecond,
    loss_threshold_pct: ramp.lossPct,
    latency_threshold_ms: ramp.latencyMs,
    knee_pairs: findKnee(ramp, timeline, warmupSeconds),
    max_pairs: maxPairs,
    stopped_because: reason,
  };
}

/**
 * Adds pairs once a second while the measured window runs, watches the
 * generator's settled windows and ends the run (generator 'finish') at the
 * first window over a threshold, or once a window at the cap has passed.
 */
export class RampController {
  readonly #engine: MediaEngine;
  readonly #link: GeneratorLink;
  readonly #o: Resolved;
  readonly #ramp: ResolvedRamp;
  readonly #progress: ProgressTracker;
  #pairs: number;
  #reason: RampStopReason | null = null;
  #halted = false;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;

  constructor(engine: MediaEngine, link: GeneratorLink, o: Resolved, ramp: ResolvedRamp, pairs: number, progress: ProgressTracker) {
    this.#engine = engine;
    this.#link = link;
    this.#o = o;
    this.#ramp = ramp;
    this.#pairs = pairs;
    this.#progress = progress;
  }

  get pairs(): number {
    return this.#pairs;
  }

  get reason(): RampStopReason | null {
    return this.#reason;
  }

  start(draining: Promise<void>): void {
    this.#progress.onWindow = (w) => this.#onWindow(w);
    void draining.then(
      () => this.#stop('time'),
      () => this.halt(),
    );
    this.#loop = this.#run().catch((err: unknown) => {
      log.error({ err: errorMessage(err) }, 'the ramp failed to add pairs; ending the run');
      this.#stop('error');
    });
  }

  /** Resolves once the add loop has returned. */
  stopped(): Promise<void> {
    return this.#loop;
  }

  halt(): void {
    this.#halted = true;
    this.#progress.onWindow = () => {};
    this.#wake?.();
  }

  #stop(reason: RampStopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    log.info({ reason, pairs: this.#pairs }, 'ramp stopping');
    // 'time': the generator ended the window itself; otherwise it is told to.
    if (reason !== 'time') {
      try {
        this.#link.send({ type: 'finish' });
      } catch {
        // The generator is gone: the run fails on its own with that error.
      }
    }
    this.halt();
  }

  #onWindow(w: WindowSample): void {
    if (this.#reason !== null) return;
    // Warm-up windows do not count (the jitter buffers are still settling).
    if (w.index + 1 <= this.#o.warmupSeconds || w.sent === 0) return;
    const [sample] = buildTimeline([w], new Map());
    if (sample === undefined) return;
    if (sample.loss_pct > this.#ramp.lossPct) this.#stop('loss');
    else if (sample.latency_p99_ms === null || sample.latency_p99_ms > this.#ramp.latencyMs) this.#stop('latency');
    else if (w.pairs >= this.#o.pairs) this.#stop('cap');
  }

  async #run(): Promise<void> {
    while (!this.#halted && this.#pairs < this.#o.pairs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
      if (this.#halted) return;
      const count = Math.min(this.#ramp.pairsPerSecond, this.#o.pairs - this.#pairs);
      const first = this.#pairs;
      const opened = await openPairs(this.#engine, this.#o, first, count);
      const added = this.#link.waitFor('pairsAdded', STEP_TIMEOUT_MS);
      this.#link.send({ type: 'addPairs', pairs: opened.map((p, i) => ({ index: first + i, legA: p.legA, legB: p.legB })) });
      const { ports } = await added;
      await connectPairs(this.#engine, opened, first, ports);
      this.#pairs = first + count;
      this.#progress.pairs = this.#pairs;
    }
  }
}
