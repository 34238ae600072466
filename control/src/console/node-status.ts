import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { EngineSampler } from '../metrics/engine-sampler.js';

import type { NodeStatus } from '../../web/types.js';

export type { NodeStatus };

/**
 * What the console's node page shows, sampled on demand: the main thread's CPU
 * and event-loop delay since the last call, each engine worker's load and
 * lateness, and the state of every link.
 */
export class NodeStatusProbe {
  readonly #sampler: EngineSampler;
  readonly #links: () => Promise<Record<string, boolean>>;
  readonly #delay: IntervalHistogram;
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();

  constructor(sampler: EngineSampler, links: () => Promise<Record<string, boolean>>) {
    this.#sampler = sampler;
    this.#links = links;
    this.#delay = monitorEventLoopDelay({ resolution: 20 });
    this.#delay.enable();
  }

  async status(): Promise<NodeStatus> {
    const [sample, links] = await Promise.all([this.#sampler.sample(), this.#links()]);
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu);
    const cpuPct = now > this.#cpuAt ? (100 * (cpu.user + cpu.system)) / 1000 / (now - this.#cpuAt) : 0;
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    const lag = { mean: ns(this.#delay.mean), p99: ns(this.#delay.percentile(99)), max: ns(this.#delay.max) };
    this.#delay.reset();
    return {
      at: sample.at,
      uptimeS: Math.round(process.uptime()),
      cpuPct: Math.round(cpuPct * 10) / 10,
      rssBytes: process.memoryUsage.rss(),
      eventLoopLagMs: lag,
      workers: sample.stats.shards.map((s) => ({ shard: s.shard, pairs: s.pairs, sockets: s.sockets, heapUsedBytes: s.heapUsedBytes, lateTicks: s.lateTicks, maxTickLatenessMs: s.maxTickLatenessMs })),
      pairs: sample.stats.pairs,
      links,
    };
  }

  close(): void {
    this.#delay.disable();
  }
}

function ns(value: number): number {
  return Number.isFinite(value) ? Math.round(value / 1e4) / 100 : 0;
}
