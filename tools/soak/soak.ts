import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { AmiSimulator, AsteriskSimulator, tone, type EndpointConfig } from '../asterisk-simulator/index.js';
import { deleteRedisPrefix } from '../call-load/tandem-under-test.js';
import { ReferenceService } from '../reference-service/reference-service.js';
import { CallDriver, LEG_B_TONE_HZ } from './call-driver.js';
import { runDrain } from './drain.js';
import { defaultFaults, type FaultTargets } from './faults.js';
import { runPhase, type PhaseContext } from './phase.js';
import { seededRandom } from '../doubles/seeded-random.js';
import { percentile, round, rssMb, sleep } from './probes.js';
import { SoakDatabase } from './soak-database.js';
import { SoakNode } from './soak-node.js';
import { TcpProxy } from './tcp-proxy.js';
import type { DrainReport, FaultName, PhaseReport, SoakOptions, SoakReport, SoakSample } from './types.js';
import { SOAK_LIVENESS, judge } from './verdict.js';

export type { FaultName, PhaseReport, SoakOptions, SoakReport, SoakSample } from './types.js';

const log = logger('tools.soak');

/** Side A of pair_001; the answering leg B endpoints are 7001, 7003, … */
const BASE_EXTENSION = 7000;

/**
 * `tandem soak`: churn through `tandem start` against the Asterisk simulator, in phases, each
 * with a fault injected a third of the way in; then a drain. Bounded by call count and time.
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const calls = options.calls ?? 10_000;
  const rate = options.ratePerSecond ?? 20;
  const maxConcurrent = options.maxConcurrent ?? 40;
  const holdMs = options.holdMs ?? [200, 3000];
  const maxSeconds = options.maxSeconds ?? 3600;
  // Below Linux's ephemeral ports (32768…), so no bind(0) socket lands in it.
  const portRange = options.portRange ?? { min: 29000, max: 30999 };
  const random = seededRandom(options.seed ?? 1);
  const progress = options.onProgress ?? (() => undefined);
  const poolSize = maxConcurrent * 2 + 10;
  const password = randomBytes(12).toString('hex');
  const redisPrefix = options.redisUrl ? `tandem:soak:${randomBytes(6).toString('hex')}:` : null;
  const endpoints: Record<string, EndpointConfig> = {};
  // Each leg B rings a little, differently: hangups while ringing meet real ringing.
  for (let i = 0; i < poolSize; i++) endpoints[String(BASE_EXTENSION + 1 + i * 2)] = { behaviour: 'answer', answerAfterMs: Math.floor(random() * 150), audio: tone(LEG_B_TONE_HZ) };
  const sim = await AsteriskSimulator.start({ username: 'tandem', password, endpoints, maxHeardSeconds: 2, retainEndedPhones: 64, recordEvents: false, sessionLimit: options.sessionLimit ?? 100 });
  const closers: Array<() => Promise<unknown>> = [() => sim.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'soak cleanup step failed'));
  };
  const env: Record<string, string> = {
    ARI_URL: sim.ariUrl,
    ARI_USERNAME: 'tandem',
    ARI_PASSWORD: password,
    TANDEM_POOL_SIZE: String(poolSize),
    TANDEM_PAIR_BASE: String(BASE_EXTENSION),
    TANDEM_NODE: 'soak-node',
    // The worker-kill fault is a drill over the API, off in any other node.
    TANDEM_FAULT_DRILLS: 'true',
    TANDEM_DRAIN_TIMEOUT_MS: String(holdMs[1] + 5000),
    TANDEM_LOG_LEVEL: process.env['TANDEM_LOG_LEVEL'] ?? 'warn',
  };
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  let node: SoakNode;
  let database: SoakDatabase | null = null;
  let ami: AmiSimulator | undefined;
  let postgresProxy: TcpProxy | undefined;
  let provider: ReferenceService | undefined;
  try {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-soak-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    env['TANDEM_API_SOCKET'] = join(dir, 'api.sock');
    if (options.redisUrl && redisPrefix) {
      env['REDIS_URL'] = options.redisUrl;
      env['TANDEM_REDIS_PREFIX'] = redisPrefix;
      const redisUrl = options.redisUrl;
      closers.push(() => deleteRedisPrefix(redisUrl, redisPrefix));
    }
    if (options.databaseUrl) {
      // Tandem reaches the soak's own database through a proxy the PostgreSQL fault cuts; the server is never touched.
      const db = await SoakDatabase.create(options.databaseUrl, { count: poolSize, baseExtension: BASE_EXTENSION });
      database = db;
      closers.push(() => db.drop());
      const proxy = await TcpProxy.start(db.serverAddress);
      postgresProxy = proxy;
      closers.push(() => proxy.close());
      const amiSecret = randomBytes(12).toString('hex');
      const amiSim = await AmiSimulator.start({ accounts: { tandem: amiSecret } });
      ami = amiSim;
      closers.push(() => amiSim.close());
      Object.assign(env, { DATABASE_URL: db.urlVia('127.0.0.1', proxy.port), AMI_HOST: amiSim.host, AMI_PORT: String(amiSim.port), AMI_USERNAME: 'tandem', AMI_SECRET: amiSecret });
    }
    if (options.translate) {
      // Duck mode: the original stays audible under the translation, so both phones still hear the
      // other party's tone and a stalled provider costs the translation, not the call's audio.
      const token = randomBytes(12).toString('hex');
      const service = await ReferenceService.start({ host: '127.0.0.1', port: 0, token });
      provider = service;
      closers.push(() => service.close());
      Object.assign(env, { TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: service.url, TANDEM_TRANSLATE_TOKEN: token, TANDEM_TRANSLATE_MODE: 'duck', TANDEM_LANG_A: 'en', TANDEM_LANG_B: 'es' });
      // Short liveness deadlines, so the provider-stall fault (3 s by default) is one the node must notice.
      Object.assign(env, { TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS: String(SOAK_LIVENESS.intervalMs), TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS: String(SOAK_LIVENESS.timeoutMs) });
    }
    Object.assign(env, options.tandemEnv ?? {});
    node = await SoakNode.start({ env, apiSocket: env['TANDEM_API_SOCKET'], portRange, sim, workers: options.workers ?? 1 });
  } catch (err) {
    await closeAll();
    throw err;
  }

  const started = Date.now();
  const samples: SoakSample[] = [];
  const phases: PhaseReport[] = [];
  const driver = new CallDriver(sim, random, holdMs, options.setupTimeoutMs);
  let stoppedByTime = false;
  const timeUp = (): boolean => {
    if (Date.now() - started > maxSeconds * 1000) stoppedByTime = true;
    return stoppedByTime;
  };
  const sample = async (): Promise<SoakSample> => {
    const setups = driver.takeRecentSetups().sort((a, b) => a - b);
    const s: SoakSample = {
      t_s: round((Date.now() - started) / 1000),
      pid: node.pid,
      rss_mb: rssMb(node.pid),
      heap_used_mb: await node.heapMb(),
      fds: node.fds(),
      ari_connections: node.ariConnections(),
      sockets: node.engineSockets(),
      leases: await node.leases(),
      channels: sim.channels().length,
      bridges: sim.bridges().length,
      calls_up: driver.callsUp,
      setup_p50_ms: percentile(setups, 50),
      setup_p99_ms: percentile(setups, 99),
    };
    samples.push(s);
    return s;
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample().catch(() => undefined);
      await sleep(1000);
    }
  })();

  const faults: FaultTargets = {
    sim,
    node,
    random,
    durationMs: options.faultMs ?? 3000,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(ami ? { ami } : {}),
    ...(postgresProxy ? { postgresProxy } : {}),
    ...(provider ? { provider } : {}),
  };
  const ctx: PhaseContext = { sim, node, driver, faults, database, rate, maxConcurrent, started, timeUp };
  const phase = async (name: string, fault: FaultName, count: number): Promise<void> => {
    const report = await runPhase(ctx, name, fault, count);
    phases.push(report);
    progress(
      `phase ${name}: ${report.attempted} attempted, ${report.set_up} set up, ${report.completed} completed, dropped ${JSON.stringify(report.dropped)}, lost within reach ${report.lost_within_reach}, ` +
        `failed ${JSON.stringify(report.failed)}, setup p50/p99 ${report.setup_p50_ms}/${report.setup_p99_ms} ms, recovery ${report.recovery_ms ?? '-'} ms` +
        `${report.link_recovery_ms !== null ? `, link up after ${report.link_recovery_ms} ms` : ''}${report.provider_stall ? `, provider stall ${JSON.stringify(report.provider_stall)}` : ''}, leftovers ${JSON.stringify(report.leftovers)}`,
    );
  };

  let drain: DrainReport | null = null;
  /** `tandem start` ended by itself (not by a fault): the run stops there, with its last output as evidence. */
  let diedWith: string | null = null;
  try {
    const faultList: readonly FaultName[] = !(options.faults ?? true) ? [] : (options.faultList ?? defaultFaults({ redis: options.redisUrl !== undefined, database: database !== null, translate: provider !== undefined }));
    // Half the calls churn with no fault; the rest are shared by the fault phases.
    const churnCalls = faultList.length === 0 ? calls : Math.ceil(calls / 2);
    const perFault = faultList.length === 0 ? 0 : Math.max(3, Math.floor((calls - churnCalls) / faultList.length));
    // Warm-up, not judged for fds and heap: the ARI client's connection pool and the engine grow to the load first.
    await phase('warmup', 'none', Math.min(churnCalls, maxConcurrent * 2));
    await phase('churn', 'none', churnCalls);
    for (const fault of faultList) {
      if (timeUp() || node.process.exited) break;
      await phase(fault, fault, perFault);
    }
    if (node.process.exited) diedWith = `tandem start exited by itself during ${phases.at(-1)?.name ?? 'the run'}; its last output:\n${node.process.output().split('\n').slice(-15).join('\n')}`;
    if ((options.drain ?? true) && !timeUp() && !node.process.exited) {
      drain = await runDrain(sim, node, driver, { maxConcurrent, holdMs });
      progress(`drain: ${drain.calls_in_flight} calls in flight, exit ${drain.exit_code ?? drain.exit_signal}, leftovers ${JSON.stringify(drain.leftovers)}`);
    }
  } finally {
    sampling = false;
    await sampler;
    driver.close();
    await node.stop(30_000).catch(() => undefined);
    await closeAll();
  }

  const { failures, heapFloor } = judge(phases, samples, drain);
  if (diedWith !== null) failures.unshift(diedWith);
  return {
    mode: 'soak',
    tandem_command: node.process.command,
    store: options.redisUrl ? 'redis' : 'memory',
    database: database !== null,
    translate: provider !== undefined,
    calls_planned: calls,
    rate_per_s: rate,
    max_concurrent: maxConcurrent,
    hold_ms: holdMs,
    phases,
    drain,
    samples,
    duration_s: round((Date.now() - started) / 1000),
    stopped_by_time_limit: stoppedByTime,
    heap_floor_growth_mb: heapFloor,
    verdict: failures.length === 0 ? 'pass' : 'fail',
    failures,
  };
}
