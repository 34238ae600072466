import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { TimeoutError, errorMessage } from '../../common/src/errors.js';
import { pairObjectIds } from '../../control/src/calls/naming.js';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import type { AsteriskSimulator } from '../asterisk-simulator/ari/index.js';
import type { CallTracker } from './call-tracker.js';
import { countUdpSockets, processCpu, readProcessTimes, type ProcessCpu, type ProcessTimes } from './process-stats.js';
import type { SetupObserver } from './setup-observer.js';
import { TandemProcess, type TandemExit } from './tandem-process.js';
import type { ViaAriConfig } from './via-ari-config.js';

/** What a call left behind; null = not observable in this mode. */
export interface Leftovers {
  channels: number;
  bridges: number;
  leases: number | null;
  pairs: number | null;
  engine_pairs: number | null;
  engine_sockets: number | null;
}

/** Tandem's own process (node-process mode), from /proc. */
export interface TandemCpu {
  /** The whole `tandem start` process, % of one core. */
  cpu_pct: number;
  /** Its main thread (control plane: ARI client, pair_session, engine's main side), % of the run. */
  main_thread_cpu_pct: number;
  main_thread_runqueue_wait_pct: number;
  /** Its other threads (engine workers, GC, libuv), % of one core. */
  other_threads_cpu_pct: number;
}

/**
 * The Tandem a via-ARI run drives: a TandemNode in this process, or
 * `tandem start` as a child. The driver sees calls the same way in both (the
 * simulator's side); this hides where Tandem's own view comes from.
 */
export interface TandemUnderTest {
  readonly mode: 'in-process' | 'node-process';
  /** The `tandem start` command line (node-process), null in-process. */
  readonly command: string | null;
  /** Tandem's ARI request bound. */
  readonly ariBound: number;
  /** False once a child exited by itself. */
  readonly alive: boolean;
  /**
   * Feeds Tandem's view of each call (pair, media path bridged, teardown, rejection)
   * into the tracker; `callerChannelOf` finds a call by the caller number it was placed with.
   */
  attach(tracker: CallTracker, observer: SetupObserver, callerChannelOf: (callerNumber: string) => string | undefined): void;
  /** Once per driver poll. */
  poll(tracker: CallTracker): void;
  leftovers(sim: AsteriskSimulator): Promise<Leftovers>;
  /** Starts the CPU window. */
  markCpu(): void;
  /** Engine worker threads' event-loop utilisation since markCpu, % of one core (in-process only). */
  engineCpuPct(): number | null;
  /** Tandem's process CPU since markCpu (node-process only). */
  processCpu(wallMs: number): TandemCpu | null;
  /** Stops Tandem; for a child, how it exited. */
  stop(): Promise<TandemExit | null>;
  /** Output lines the child logged at warn level or above (node-process only). */
  readonly warnings: number | null;
  close(): Promise<void>;
}

/** Side A of pair_001; the simulator's answering endpoints are the B sides above it. */
export const BASE_EXTENSION = 7000;

interface StoreOptions {
  redisUrl?: string;
  redisKeyPrefix?: string;
}

function storeOptions(config: ViaAriConfig, prefix: string | null): StoreOptions {
  return config.redisUrl !== undefined && prefix !== null ? { redisUrl: config.redisUrl, redisKeyPrefix: prefix } : {};
}

/** A TandemNode on the driver's event loop: its events and registry are read directly. */
export class InProcessTandem implements TandemUnderTest {
  readonly mode = 'in-process';
  readonly command = null;
  readonly warnings = null;
  readonly ariBound: number;
  readonly alive = true;
  readonly #node: TandemNode;
  #elu = new Map<number, EventLoopUtilization>();

  private constructor(node: TandemNode, ariBound: number) {
    this.#node = node;
    this.ariBound = ariBound;
  }

  static async start(config: ViaAriConfig, sim: AsteriskSimulator, password: string, redisPrefix: string | null): Promise<InProcessTandem> {
    const node = await TandemNode.start({
      engine: { workers: config.workers, portRange: config.portRange },
      store: { poolSize: config.poolSize, baseExtension: BASE_EXTENSION, ...storeOptions(config, redisPrefix) },
      ari: {
        url: sim.ariUrl,
        username: 'tandem',
        password,
        maxConcurrentRequests: config.ariMaxConcurrentRequests,
        ...(config.ariRequestTimeoutMs !== undefined && { requestTimeoutMs: config.ariRequestTimeoutMs }),
      },
    });
    return new InProcessTandem(node, config.ariMaxConcurrentRequests);
  }

  attach(tracker: CallTracker): void {
    const app = this.#node.app;
    app.on('callrejected', (channelId, reason) => tracker.rejected(channelId, reason));
    app.on('pairactive', (pair) => tracker.active(pair.callerChannelId, pair.pairId, pair.ids.legB, pair.setupMs));
    app.on('pairclosed', (pairId, reason) => tracker.pairClosed(pairId, reason));
  }

  poll(tracker: CallTracker): void {
    if (tracker.unmappedPending().length === 0) return;
    for (const pair of this.#node.app.pairs()) tracker.mapPair(pair.callerChannelId, pair.pairId, pair.ids.legB);
  }

  async leftovers(sim: AsteriskSimulator): Promise<Leftovers> {
    const [leases, stats] = await Promise.all([this.#node.store.list(), this.#node.engine.stats()]);
    return {
      channels: sim.channels().length,
      bridges: sim.bridges().length,
      leases: leases.length,
      pairs: this.#node.app.pairCount,
      engine_pairs: stats.pairs,
      engine_sockets: stats.sockets,
    };
  }

  markCpu(): void {
    this.#elu = new Map(this.#node.engine.threads.map((t) => [t.threadId, t.performance.eventLoopUtilization()]));
  }

  engineCpuPct(): number | null {
    let busy = 0;
    for (const thread of this.#node.engine.threads) {
      const start = this.#elu.get(thread.threadId);
      if (start) busy += thread.performance.eventLoopUtilization(start).utilization;
    }
    return Math.round(busy * 1000) / 10;
  }

  processCpu(): null {
    return null;
  }

  async stop(): Promise<null> {
    await this.#node.close();
    return null;
  }

  close(): Promise<void> {
    return this.#node.close();
  }
}

/**
 * `tandem start` in its own process, configured like a user would: ARI_URL,
 * ARI_PASSWORD, TANDEM_POOL_SIZE… in its environment, engine flags on its
 * command line, its API on a Unix socket (to ask for leases). Its view of a call
 * is read from the requests it makes to the simulator (SetupObserver).
 */
export class ChildTandem implements TandemUnderTest {
  readonly mode = 'node-process';
  readonly ariBound: number;
  readonly #proc: TandemProcess;
  readonly #dir: string;
  readonly #apiSocket: string;
  readonly #ports: { min: number; max: number };
  readonly #stopTimeoutMs: number;
  #cpuStart: ProcessTimes | null = null;
  #closed = false;

  private constructor(proc: TandemProcess, dir: string, apiSocket: string, config: ViaAriConfig) {
    this.#proc = proc;
    this.#dir = dir;
    this.#apiSocket = apiSocket;
    this.#ports = config.portRange;
    this.#stopTimeoutMs = config.stopTimeoutMs;
    this.ariBound = config.ariMaxConcurrentRequests;
  }

  static async start(config: ViaAriConfig, sim: AsteriskSimulator, password: string, redisPrefix: string | null): Promise<ChildTandem> {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-loadtest-'));
    const apiSocket = join(dir, 'api.sock');
    const env: Record<string, string> = {
      ARI_URL: sim.ariUrl,
      ARI_USERNAME: 'tandem',
      ARI_PASSWORD: password,
      TANDEM_POOL_SIZE: String(config.poolSize),
      TANDEM_PAIR_BASE: String(BASE_EXTENSION),
      TANDEM_API_SOCKET: apiSocket,
      // Per-call info lines would cost Tandem the very time being measured.
      TANDEM_LOG_LEVEL: process.env['TANDEM_LOG_LEVEL'] ?? 'warn',
    };
    // Only what a shell hands any program; nothing else of the driver's environment (DATABASE_URL, AMI_*, …).
    for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
    if (config.redisUrl !== undefined && redisPrefix !== null) {
      env['REDIS_URL'] = config.redisUrl;
      env['TANDEM_REDIS_PREFIX'] = redisPrefix;
    }
    const args = ['--workers', String(config.workers), '--ports', `${config.portRange.min}-${config.portRange.max}`];
    let proc: TandemProcess;
    try {
      const nodeArgs = config.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`];
      proc = await TandemProcess.start({ args, env, nodeArgs, readyTimeoutMs: config.readyTimeoutMs });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const tandem = new ChildTandem(proc, dir, apiSocket, config);
    try {
      // Ready means connected; the simulator must also see the app's WebSocket before calls can enter Stasis.
      const deadline = Date.now() + config.readyTimeoutMs;
      while (!sim.isAppConnected('pair_session')) {
        if (Date.now() > deadline || proc.exited) throw new TimeoutError(`tandem start is ready but its event WebSocket never reached the simulator:\n${proc.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } catch (err) {
      await tandem.close();
      throw err;
    }
    return tandem;
  }

  get command(): string {
    return this.#proc.command;
  }

  get alive(): boolean {
    return !this.#proc.exited;
  }

  get warnings(): number {
    return this.#proc.warnings;
  }

  get pid(): number {
    return this.#proc.pid;
  }

  /** The child's last output lines (for errors). */
  output(): string {
    return this.#proc.output();
  }

  attach(tracker: CallTracker, observer: SetupObserver, callerChannelOf: (callerNumber: string) => string | undefined): void {
    // The pair each caller got: from leg B's originate (Tandem passes the caller's number
    // on as its caller id), or from Tandem's PAIR_ID tag on the caller's channel.
    const callerOfPair = new Map<string, string>();
    // Bridged before the pair's caller was known (separate connections may reorder): applied when it is.
    const bridgedEarly = new Map<string, number>();
    const activeIfCurrent = (callerChannelId: string, pairId: string, at: number): boolean => {
      const record = tracker.get(callerChannelId);
      if (!record || record.pairId !== pairId || record.activeAt !== null || record.outcome !== 'pending' || at < record.placedAt) return false;
      tracker.active(callerChannelId, pairId, pairObjectIds(pairId).legB, null, at);
      return true;
    };
    const mapped = (callerChannelId: string, pairId: string): void => {
      const record = tracker.get(callerChannelId);
      if (!record || record.pairId !== null) return;
      callerOfPair.set(pairId, callerChannelId);
      tracker.mapPair(callerChannelId, pairId, pairObjectIds(pairId).legB);
      const early = bridgedEarly.get(pairId);
      bridgedEarly.delete(pairId);
      if (early !== undefined) activeIfCurrent(callerChannelId, pairId, early);
    };
    observer.setListener({
      legBOriginated: (pairId, callerId) => {
        const callerChannelId = callerId === null ? undefined : callerChannelOf(callerId);
        if (callerChannelId !== undefined) mapped(callerChannelId, pairId);
      },
      pairMapped: (callerChannelId, pairId) => mapped(callerChannelId, pairId),
      pairBridged: (pairId, at) => {
        const caller = callerOfPair.get(pairId);
        if (caller === undefined || !activeIfCurrent(caller, pairId, at)) bridgedEarly.set(pairId, at);
      },
      channelHungUp: (channelId, reason) => {
        const record = tracker.get(channelId);
        if (!record || record.ended) return;
        // Tandem hung up a caller: before giving it a pair that is a rejection, after it a teardown.
        const why = `hangup-${reason ?? 'normal'}`;
        if (record.pairId === null) tracker.rejected(channelId, why);
        else tracker.pairClosed(record.pairId, why);
      },
    });
  }

  poll(): void {
    // Everything arrives through the observer.
  }

  async leftovers(sim: AsteriskSimulator): Promise<Leftovers> {
    return {
      channels: sim.channels().length,
      bridges: sim.bridges().length,
      leases: await this.#leaseCount(),
      pairs: null,
      engine_pairs: null,
      engine_sockets: countUdpSockets(this.#proc.pid, this.#ports),
    };
  }

  markCpu(): void {
    this.#cpuStart = readProcessTimes(this.#proc.pid);
  }

  engineCpuPct(): null {
    return null;
  }

  processCpu(wallMs: number): TandemCpu | null {
    const cpu: ProcessCpu | null = processCpu(this.#cpuStart, readProcessTimes(this.#proc.pid), wallMs);
    if (!cpu) return null;
    return { cpu_pct: cpu.cpuPct, main_thread_cpu_pct: cpu.mainThreadCpuPct, main_thread_runqueue_wait_pct: cpu.mainThreadWaitPct, other_threads_cpu_pct: cpu.otherThreadsCpuPct };
  }

  /** SIGTERM and wait; SIGKILL after stopTimeoutMs. */
  stop(): Promise<TandemExit> {
    return this.#proc.stop(this.#stopTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#proc.stop(this.#stopTimeoutMs);
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Leases the pair store holds, through Tandem's own API (GET /v1/pairs on its Unix socket); null if it does not answer. */
  #leaseCount(): Promise<number | null> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.#apiSocket, path: '/v1/pairs', method: 'GET', timeout: 2000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(body) as { pairs?: unknown };
            resolve(res.statusCode === 200 && Array.isArray(parsed.pairs) ? parsed.pairs.length : null);
          } catch {
            resolve(null);
          }
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(null));
      req.end();
    });
  }
}

/** Deletes the run's Redis keys (its own prefix). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { commandTimeout: 5000, maxRetriesPerRequest: 1, lazyConnect: true });
  // A failure reaches us through the rejected command; without a listener ioredis would also print each one.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch (err) {
    throw new Error(`could not delete the run's Redis keys under ${prefix}: ${errorMessage(err)}`);
  } finally {
    redis.disconnect();
  }
}
