import type { AsteriskSimulator } from '../asterisk-simulator/ari/index.js';
import { countTcpConnectionsTo, countUdpSockets } from '../call-load/process-stats.js';
import { TandemProcess } from '../call-load/tandem-process.js';
import { apiGet, apiPost, fdCount, metricSum, round, sleep } from './probes.js';

export interface SoakNodeOptions {
  env: Readonly<Record<string, string>>;
  apiSocket: string;
  portRange: { min: number; max: number };
  sim: AsteriskSimulator;
  workers: number;
}

/**
 * The `tandem start` under soak: one process at a time (a restart replaces it under the same
 * name), and what the soak reads of it: its API (leases, metrics) and /proc (fds, sockets).
 */
export class SoakNode {
  readonly #options: SoakNodeOptions;
  #process: TandemProcess;

  private constructor(options: SoakNodeOptions, process: TandemProcess) {
    this.#options = options;
    this.#process = process;
  }

  static async start(options: SoakNodeOptions): Promise<SoakNode> {
    const node = new SoakNode(options, await SoakNode.#spawn(options));
    await node.waitAppConnected();
    return node;
  }

  static #spawn(options: SoakNodeOptions): Promise<TandemProcess> {
    const { min, max } = options.portRange;
    return TandemProcess.start({ args: ['--workers', String(options.workers), '--ports', `${min}-${max}`], env: options.env, readyTimeoutMs: 120_000 });
  }

  get process(): TandemProcess {
    return this.#process;
  }

  get pid(): number {
    return this.#process.pid;
  }

  get portRange(): { min: number; max: number } {
    return this.#options.portRange;
  }

  /** Until Tandem's Stasis app has its event WebSocket (up to 60 s). */
  async waitAppConnected(): Promise<void> {
    const until = Date.now() + 60_000;
    while (!this.#options.sim.isAppConnected('pair_session') && Date.now() < until) await sleep(10);
  }

  /** A crash (SIGKILL: nothing torn down), then a new process under the same name. */
  async crashAndRestart(): Promise<{ code: number | null; signal: string | null }> {
    const exit = await this.#process.kill('SIGKILL');
    this.#process = await SoakNode.#spawn(this.#options);
    await this.waitAppConnected();
    return exit;
  }

  /** Terminates engine worker `shard` (the node's fault drill): the pairs it carried, or why it was refused. */
  async terminateWorker(shard: number): Promise<{ pairs: string[] } | { refused: string }> {
    const answer = await apiPost(this.#options.apiSocket, `/v1/node/workers/${shard}/terminate`);
    if (answer?.status !== 200) return { refused: answer ? `${answer.status} ${answer.body.slice(0, 200)}` : 'no answer' };
    return { pairs: (JSON.parse(answer.body) as { pairs: string[] }).pairs };
  }

  /** Until `/readyz` answers 200 (every engine worker up again, among the rest), up to `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await apiGet(this.#options.apiSocket, '/readyz'))?.status === 200) return true;
      await sleep(20);
    }
    return false;
  }

  async leases(): Promise<number | null> {
    const answer = await apiGet(this.#options.apiSocket, '/v1/pairs');
    if (answer?.status !== 200) return null;
    try {
      return (JSON.parse(answer.body) as { pairs: unknown[] }).pairs.length;
    } catch {
      return null;
    }
  }

  async metrics(): Promise<string | null> {
    const answer = await apiGet(this.#options.apiSocket, '/metrics');
    return answer?.status === 200 ? answer.body : null;
  }

  async heapMb(): Promise<number | null> {
    const body = await this.metrics();
    const bytes = body === null ? null : metricSum(body, 'nodejs_heap_size_used_bytes');
    return bytes === null ? null : round(bytes / 1048576);
  }

  /** Calls this process ended since it started (`tandem_calls_ended_total`). */
  async callsEnded(): Promise<number | null> {
    const body = await this.metrics();
    return body === null ? null : (metricSum(body, 'tandem_calls_ended_total') ?? 0);
  }

  /** Errors translated directions reported since this process started (`tandem_translation_errors_total`). */
  async translationErrors(): Promise<number | null> {
    const body = await this.metrics();
    return body === null ? null : (metricSum(body, 'tandem_translation_errors_total') ?? 0);
  }

  /** Whether the node reports a link up (`tandem_link_up{link}`); null: no answer or no such link. */
  async linkUp(link: 'ami' | 'postgresql' | 'redis' | 'ari'): Promise<boolean | null> {
    const body = await this.metrics();
    const value = body === null ? null : metricSum(body, `tandem_link_up{link="${link}"}`);
    return value === null ? null : value === 1;
  }

  fds(): number | null {
    return fdCount(this.#process.pid);
  }

  engineSockets(): number | null {
    return countUdpSockets(this.#process.pid, this.#options.portRange);
  }

  /** The ARI client's TCP connections to Asterisk's HTTP server (keep-alive pool and event WebSocket). */
  ariConnections(): number | null {
    return countTcpConnectionsTo(this.#process.pid, Number(new URL(this.#options.sim.ariUrl).port));
  }

  /**
   * Idle fds: the fewest of a few reads (the sampler's own API request may hold one a moment),
   * with the ARI connections among them at that read.
   */
  async idleFds(): Promise<{ fds: number; ari: number | null } | null> {
    let least: { fds: number; ari: number | null } | null = null;
    for (let i = 0; i < 5; i++) {
      const fds = this.fds();
      const ari = this.ariConnections();
      if (fds !== null && (least === null || fds < least.fds)) least = { fds, ari };
      await sleep(200);
    }
    return least;
  }

  stop(deadlineMs: number): ReturnType<TandemProcess['stop']> {
    return this.#process.stop(deadlineMs);
  }
}
