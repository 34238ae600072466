import type { FromGenerator, GeneratorProgress, WindowSample } from './generator-protocol.js';
import type { LoadTestProgress } from './load-options.js';
import { round } from './report.js';

/** Turns the generator's once-a-second totals into progress lines. */
export class ProgressTracker {
  /** Pairs open now: a ramp raises it. */
  pairs: number;
  readonly #onProgress: ((p: LoadTestProgress) => void) | undefined;
  #phase: LoadTestProgress['phase'] = 'warmup';
  #last: { at: number; p: GeneratorProgress } | null = null;

  constructor(pairs: number, onProgress: ((p: LoadTestProgress) => void) | undefined) {
    this.pairs = pairs;
    this.#onProgress = onProgress;
  }

  onPhase: (phase: 'probe' | 'measuring' | 'draining') => void = () => {};
  onWindow: (window: WindowSample) => void = () => {};

  onMessage(m: FromGenerator): void {
    if (m.type === 'phase') {
      if (m.phase !== 'probe') this.#phase = m.phase;
      this.onPhase(m.phase);
    }
    if (m.type === 'window') this.onWindow(m.window);
    if (m.type !== 'progress') return;
    const last = this.#last;
    this.#last = { at: m.elapsedMs, p: m.progress };
    if (!this.#onProgress || !last) return;
    const dt = (m.elapsedMs - last.at) / 1000;
    if (dt <= 0) return;
    const p = m.progress;
    this.#onProgress({
      phase: this.#phase,
      elapsedSeconds: round(m.elapsedMs / 1000, 1),
      pairs: this.pairs,
      ppsOut: Math.round((p.sent - last.p.sent) / dt),
      ppsIn: Math.round((p.received - last.p.received) / dt),
      lossSoFarPct: p.measuredSent > 0 ? round(((p.measuredSent - p.measuredReceived) / p.measuredSent) * 100, 3) : 0,
      generatorMaxSendLateMs: round(p.maxSendLateMs, 1),
    });
  }
}
