import { performance } from 'node:perf_hooks';
import { round } from './report.js';

/** How far ahead of now window 0 starts: time for the 'start' message to reach the generator. */
export const START_LEAD_MS = 300;

/** Engine-process CPU per 1 s window, on the generator's window grid (this process's clock). */
export class CpuWindowSampler {
  readonly samples = new Map<number, number>();
  readonly #startAt: number;
  #index = 0;
  #last: NodeJS.CpuUsage | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(startAt: number) {
    this.#startAt = startAt;
    this.#timer = setTimeout(this.#tick, Math.max(0, startAt - performance.now()));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #tick = (): void => {
    this.#timer = null;
    if (this.#stopped) return;
    const usage = process.cpuUsage();
    if (this.#last !== null) {
      const d = (usage.user - this.#last.user + usage.system - this.#last.system) / 1000;
      this.samples.set(this.#index, round((d / 1000) * 100, 1));
      this.#index++;
    }
    this.#last = usage;
    const next = this.#startAt + (this.#index + 1) * 1000;
    this.#timer = setTimeout(this.#tick, Math.max(0, next - performance.now()));
  };
}
