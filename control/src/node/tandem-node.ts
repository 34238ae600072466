import { ConfigError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { redactUrlPassword } from '../../../common/src/redact-url.js';
import { MediaEngine, type EngineConfigInput } from '../../../engine/src/index.js';
import { createPairStore, parsePairStoreSettings, type PairStore, type PairStoreConfig } from '../alloc/index.js';
import { AriClientAdapter, type AriClient } from '../ari/index.js';
import { mediaUrlFromAriUrl, CallApp, parseCallConfig, type CallConfigInput } from '../calls/index.js';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { AmiPresenceService, type AmiConnectionOptions } from '../ami/index.js';
import { createControlApi, registerCallRoutes, registerNodeRoutes, registerPresenceRoutes, registerTranslationRoutes, type ControlApi, type ListenAddress } from '../http/index.js';
import { createPgPool, pingPostgres } from '../realtime/db.js';
import { pgExtensionLanguages } from '../calls/extension-languages.js';
import { PgPresenceStore } from '../realtime/presence-store.js';
import { registerTranscriptRoutes } from '../http/transcript-routes.js';
import { PgTranscriptStore, TranscriptHub } from '../transcripts/index.js';
import { CallRecords, PgCallRecordStore } from '../records/index.js';
import { recordCalls } from './record-calls.js';
import { terminateEngineWorker } from './fault-drills.js';
import { logRedisLink } from '../redis/link-log.js';
import { PairAvailabilitySync } from './pair-availability.js';
import { EngineSampler } from '../metrics/engine-sampler.js';
import { NodeMetrics } from '../metrics/node-metrics.js';
import { registerMetricsRoutes } from '../metrics/metrics-routes.js';
import { registerConsole } from '../console/console-routes.js';
import { recordsRecordingLookup, registerRecordingRoutes } from '../http/recording-routes.js';
import { OperatorHolds } from '../console/operator-holds.js';
import { PairReachabilitySync } from './pair-reachability.js';
import { defaultNodeName, NodeIdentityClaim } from './node-identity.js';

export interface TandemNodeOptions {
  engine?: EngineConfigInput;
  store?: PairStoreConfig;
  /** `waitForAsterisk`: at start, retry with backoff while Asterisk is unreachable (not on refused credentials). */
  ari: { url: string; username: string; password: string; requestTimeoutMs?: number; maxConcurrentRequests?: number; waitForAsterisk?: boolean };
  /** Aborts a start still waiting (for Asterisk): start() rejects with the signal's reason. */
  signal?: AbortSignal;
  calls?: CallConfigInput;
  /** The internal HTTP API; omitted = not served. */
  api?: { token?: string; host?: string; port?: number; socketPath?: string };
  /** The operator console on the API's address (needs `api` with a token); default on when the API is on TCP. */
  console?: boolean;
  /** Listen-in from the console (docs/console.md): most listeners at once (default 8), ICE servers (default none). */
  listen?: { maxListeners?: number; iceServers?: { urls: string | string[]; username?: string; credential?: string }[] };
  /** Node.js process metrics on /metrics (default true). */
  processMetrics?: boolean;
  /**
   * PostgreSQL with the realtime schema: pairs follow PJSIP realtime, presence is stored, and
   * translated calls re-read their extensions' languages every `languageFollowMs` (default 2000; 0 = at call start only).
   */
  database?: { url: string; availabilityIntervalMs?: number; languageFollowMs?: number };
  /** AMI for presence (needs `database`). */
  ami?: AmiConnectionOptions;
  /** With Redis: how long the claim on this node's name outlives a node that stopped renewing it (default 5000 ms). */
  identity?: { claimTtlMs?: number };
  /** How long a drain (SIGTERM, `tandem drain`) lets calls in flight finish before tearing them down (default 30000 ms). */
  drainTimeoutMs?: number;
  /** At start, adopt the calls a previous process of this node left up (default true); false = tear them down (docs/drain.md). */
  adoptCalls?: boolean;
  /** Fault drills over the API (`POST /v1/node/workers/:shard/terminate`); off unless asked for (the soak). */
  faultDrills?: boolean;
}

/** What a drain did: calls that ended by themselves before the deadline, and those torn down at it. */
export interface DrainReport {
  finished: number;
  tornDown: number;
  waitedMs: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/**
 * A whole Tandem node: media engine, pair store, ARI connection, the
 * pair_session app and the internal API, started in dependency order and
 * closed in reverse, each part once.
 */
export class TandemNode {
  /** This node's name in the pair store (`store.node`, default `<hostname>:<ARI app>`): stable across restarts. */
  readonly node: string;
  readonly engine: MediaEngine;
  readonly store: PairStore;
  readonly ari: AriClient;
  readonly app: CallApp;
  readonly api: ControlApi | null;
  readonly apiAddress: ListenAddress | null;
  readonly presence: AmiPresenceService | null;
  /** Leg B presence → pair store (with AMI, unless `legBPresence` is `ignore`). */
  readonly reachability: PairReachabilitySync | null;
  /** Every transcript of every translated pair: in-process, Redis, SSE, and stored when there is a database. */
  readonly transcripts: TranscriptHub;
  /** A record of every finished call: logged, kept in memory, and stored when there is a database. */
  readonly records: CallRecords;
  /** Engine stats shared by /metrics and the console (one round trip per interval however many read them). */
  readonly sampler: EngineSampler;
  /** Everything `GET /metrics` serves. */
  readonly metrics: NodeMetrics;
  /** Where the operator console is (null when not served). */
  readonly consoleUrl: string | null;
  readonly #closers: Array<() => Promise<void>>;
  readonly #drainTimeoutMs: number;
  readonly #drainState: { draining: boolean };
  #closing: Promise<void> | null = null;
  #drained: Promise<DrainReport> | null = null;
  readonly #stopped: Promise<void>;
  #markStopped!: () => void;

  private constructor(parts: {
    node: string;
    engine: MediaEngine;
    store: PairStore;
    ari: AriClient;
    app: CallApp;
    api: ControlApi | null;
    apiAddress: ListenAddress | null;
    presence: AmiPresenceService | null;
    reachability: PairReachabilitySync | null;
    transcripts: TranscriptHub;
    records: CallRecords;
    sampler: EngineSampler;
    metrics: NodeMetrics;
    consoleUrl: string | null;
    closers: Array<() => Promise<void>>;
    drainTimeoutMs: number;
    drainState: { draining: boolean };
  }) {
    this.node = parts.node;
    this.engine = parts.engine;
    this.store = parts.store;
    this.ari = parts.ari;
    this.app = parts.app;
    this.api = parts.api;
    this.apiAddress = parts.apiAddress;
    this.presence = parts.presence;
    this.reachability = parts.reachability;
    this.transcripts = parts.transcripts;
    this.records = parts.records;
    this.sampler = parts.sampler;
    this.metrics = parts.metrics;
    this.consoleUrl = parts.consoleUrl;
    this.#closers = parts.closers;
    this.#drainTimeoutMs = parts.drainTimeoutMs;
    this.#drainState = parts.drainState;
    this.#stopped = new Promise<void>((resolve) => (this.#markStopped = resolve));
  }

  /** Resolves once the node is closed (by close(), or at the end of a drain however it was asked for). */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /** True from the moment a drain begins: /readyz answers 503 (`draining`) and new callers are turned away. */
  get draining(): boolean {
    return this.#drainState.draining;
  }

  /**
   * Graceful stop: /readyz turns unready and new callers are rejected at once, calls in flight
   * finish by themselves up to the deadline, what is left is torn down, and the node closes
   * (every lease released, every part closed). Later calls return the same drain.
   */
  drain(timeoutMs: number = this.#drainTimeoutMs): Promise<DrainReport> {
    this.#drained ??= (async () => {
      const log = logger('control.node');
      const began = Date.now();
      this.#drainState.draining = true;
      const inFlight = this.app.pairCount;
      log.info({ calls: inFlight, timeoutMs }, 'draining: no new calls; waiting for calls in flight to end');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), timeoutMs);
      });
      const outcome = await Promise.race([this.app.drain().then(() => 'idle' as const), deadline]);
      clearTimeout(timer);
      const tornDown = outcome === 'idle' ? 0 : this.app.pairCount;
      const report: DrainReport = { finished: Math.max(0, inFlight - tornDown), tornDown, waitedMs: Date.now() - began };
      if (tornDown > 0) log.warn({ ...report }, 'drain deadline reached: tearing down the calls left');
      await this.close();
      log.info({ ...report }, 'drained');
      return report;
    })();
    return this.#drained;
  }

  static async start(options: TandemNodeOptions): Promise<TandemNode> {
    const log = logger('control.node');
    // chan_websocket serves its media WebSockets on the HTTP server ARI is on.
    const calls = parseCallConfig({ mediaUrl: mediaUrlFromAriUrl(options.ari.url), ...(options.calls ?? {}) });
    if (options.ami && !options.database) throw new ConfigError('ami', 'AMI presence needs a database (DATABASE_URL) to store it in');
    // Closed in reverse order of opening, each once, on failure and on close().
    const closers: Array<() => Promise<void>> = [];
    const closeAll = async (): Promise<void> => {
      for (const close of closers.splice(0).reverse()) await close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'close step failed'));
    };
    try {
      const node = options.store?.node ?? defaultNodeName(calls.app);
      const redisUrl = options.store?.redisUrl;
      if (redisUrl) {
        // Before anything else, so a second live process with this name fails before it touches a thing;
        // closed last, once this node's teardowns are done.
        const claim = await NodeIdentityClaim.acquire({
          redisUrl,
          keyPrefix: options.store?.redisKeyPrefix ?? 'tandem:',
          node,
          log,
          ...(options.identity?.claimTtlMs !== undefined && { ttlMs: options.identity.claimTtlMs }),
        });
        closers.push(() => claim.close());
      }
      const store = createPairStore({ ...(options.store ?? {}), node });
      closers.push(() => store.close());
      const { legBPresence } = parsePairStoreSettings({ ...(options.store ?? {}), node });
      if (legBPresence === 'require-online' && !options.ami) {
        throw new ConfigError('legBPresence', 'require-online hands out only pairs whose leg B AMI presence knows online: it needs AMI (AMI_USERNAME, AMI_SECRET) and DATABASE_URL');
      }
      let db: Pool | null = null;
      // Pairs the operator took out of service from the console: availability passes leave them out.
      const holds = new OperatorHolds();
      if (options.database) {
        const pool = createPgPool({ connectionString: options.database.url });
        db = pool;
        closers.push(() => pool.end());
        const availability = new PairAvailabilitySync(store, pool, { held: holds });
        closers.push(async () => availability.stop());
        const report = await availability.start(options.database.availabilityIntervalMs);
        log.info({ enabled: report.enabled, disabled: report.disabled.length }, 'pair pool follows PJSIP realtime');
      }
      const engine = await MediaEngine.start({ codec: calls.format, ...(options.engine ?? {}) });
      closers.push(() => engine.close());
      const { waitForAsterisk, ...ariOptions } = options.ari;
      const ari = await AriClientAdapter.connect({ ...ariOptions, app: calls.app }, { waitForAsterisk: waitForAsterisk ?? false, ...(options.signal ? { signal: options.signal } : {}) });
      closers.push(() => ari.close());
      // One publishing connection for presence and transcripts (the pair store keeps its own).
      const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 2000 }) : null;
      if (redis) {
        const unwatch = logRedisLink(redis, { log, role: 'presence and transcript publisher', url: redisUrl ?? '' });
        closers.push(async () => {
          redis.disconnect();
          unwatch();
        });
      }
      const transcriptStore = db ? new PgTranscriptStore(db) : null;
      const transcripts = new TranscriptHub({ redis, prefix: options.store?.redisKeyPrefix ?? 'tandem:', store: transcriptStore });
      // Closed after the API (its streams) and before the pool (its last writes).
      closers.push(() => transcripts.close());
      // Closed after the app (whose teardowns still add records) and before the pool (its last writes).
      const records = new CallRecords({ store: db ? new PgCallRecordStore(db) : null });
      closers.push(() => records.close());
      const app = new CallApp({
        ari,
        engine,
        store,
        config: calls,
        node,
        ...(db ? { extensionLanguages: pgExtensionLanguages(db) } : {}),
        ...(options.database?.languageFollowMs !== undefined && { languageFollowMs: options.database.languageFollowMs }),
        ...(options.adoptCalls !== undefined && { adopt: options.adoptCalls }),
      });
      // Shared with the readiness check and the drain route, which exist before the node object.
      const drainState = { draining: false };
      let drainNode: ((timeoutMs?: number) => Promise<DrainReport>) | null = null;
      closers.push(() => app.close());
      const sampler = new EngineSampler(engine);
      const metrics = new NodeMetrics({
        sampler,
        pairs: app,
        workers: engine.config.workers,
        processMetrics: options.processMetrics ?? true,
        links: {
          ari: () => ari.connected,
          redis: () => (redis ? redis.status === 'ready' : null),
          postgresql: () => (db ? pingPostgres(db) : null),
        },
      });
      closers.push(async () => metrics.close());
      app.on('pairallocated', () => metrics.callStarted());
      // An adopted call was set up by a previous process: its age is no setup time.
      app.on('pairactive', (pair) => {
        if (!pair.adopted) metrics.callSetUp(Date.now() - pair.facts.startedAt);
      });
      app.on('callrejected', (_channelId, reason) => metrics.callRejected(reason));
      engine.on('translation', (_pairId, _direction, event) => metrics.translationEvent(event));
      recordCalls({ app, engine, records, node, onRecord: (record, call) => metrics.callEnded(record, call.engine) });
      // The caller's channel id tells calls on the same pair apart.
      engine.on('transcript', (event) => transcripts.publish({ ...event, callId: app.pair(event.pairId)?.callerChannelId ?? null }));
      await app.start();
      let presence: AmiPresenceService | null = null;
      let amiUp: (() => boolean) | null = null;
      let presenceStore: PgPresenceStore | null = null;
      let reachability: PairReachabilitySync | null = null;
      if (options.ami && db) {
        presenceStore = new PgPresenceStore(db);
        const service = new AmiPresenceService({ ami: options.ami, store: presenceStore, redis, redisPrefix: options.store?.redisKeyPrefix ?? 'tandem:' });
        presence = service;
        amiUp = () => service.connection.loggedIn;
        closers.push(() => service.close());
        if (legBPresence !== 'ignore') {
          // Subscribed before AMI starts, so the first snapshot already feeds the pool.
          const sync = new PairReachabilitySync({ store, feed: service.tracker, statuses: presenceStore, link: service.connection, policy: legBPresence });
          reachability = sync;
          sync.start();
          closers.push(() => sync.close());
        }
        // A first failure is logged; supervision keeps retrying in the background.
        await service.start().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'AMI not reachable yet; retrying'));
      }
      let api: ControlApi | null = null;
      let apiAddress: ListenAddress | null = null;
      let consoleOn = false;
      if (options.api) {
        const controlApi = createControlApi({ store, ...options.api });
        api = controlApi;
        if (presence && presenceStore) registerPresenceRoutes(controlApi.app, { feed: presence.tracker, store: presenceStore });
        registerTranslationRoutes(controlApi.app, {
          engine: {
            setTranslation: async (pairId, translation) => {
              await engine.setTranslation(pairId, translation);
              // The API said otherwise: the call stops following its extensions' languages.
              app.translationSetByApi(pairId);
            },
            clearPlayback: (pairId, direction) => engine.clearPlayback(pairId, direction),
          },
        });
        registerTranscriptRoutes(controlApi.app, { hub: transcripts, store: transcriptStore, pool: store.pool });
        registerCallRoutes(controlApi.app, { records });
        registerNodeRoutes(controlApi.app, {
          drain: () => {
            if (drainNode === null) throw new Error('node not started');
            const calls = app.pairCount;
            void drainNode();
            return { calls, timeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS };
          },
          ...(options.faultDrills === true ? { terminateWorker: (shard: number) => terminateEngineWorker(engine, app, shard) } : {}),
        });
        registerRecordingRoutes(controlApi.app, { recordings: recordsRecordingLookup(records, engine.config.recording?.dir ?? null) });
        if (amiUp) metrics.setLink('ami', amiUp);
        registerMetricsRoutes(controlApi.app, {
          metrics,
          readiness: [
            // First: a draining node must stop receiving work at once, whatever else holds.
            { name: 'draining', check: () => !drainState.draining },
            { name: 'ari', check: () => ari.connected },
            { name: 'store', check: async () => (await store.get(store.pool.pairIdAt(0)), true) },
            { name: 'engine', check: async () => (await sampler.sample()).stats.shards.length === engine.config.workers },
          ],
        });
        if ((options.console ?? options.api.socketPath === undefined) && options.api.token !== undefined) {
          consoleOn = true;
          registerConsole(controlApi.app, {
            token: options.api.token,
            node: { app, ari, store, engine, sampler, transcripts, holds, presence: presence && presenceStore ? { feed: presence.tracker, store: presenceStore } : null, links: () => metrics.links() },
            listen: {
              ...options.listen,
              onCount: (n) => metrics.setListeners(n),
              onDropped: (frames) => metrics.listenDropped(frames),
            },
          });
        }
        closers.push(() => controlApi.close());
        apiAddress = await controlApi.listen();
      }
      log.info({ node, app: calls.app, ari: redactUrlPassword(options.ari.url), store: options.store?.redisUrl ? 'redis' : 'memory', api: apiAddress, realtime: Boolean(db), ami: Boolean(presence) }, 'tandem node started');
      const consoleUrl = consoleOn && apiAddress !== null && 'url' in apiAddress ? `${apiAddress.url}/console` : null;
      const tandem = new TandemNode({
        node,
        engine,
        store,
        ari,
        app,
        api,
        apiAddress,
        presence,
        reachability,
        transcripts,
        records,
        sampler,
        metrics,
        consoleUrl,
        closers,
        drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        drainState,
      });
      drainNode = (timeoutMs) => tandem.drain(timeoutMs);
      return tandem;
    } catch (err) {
      if (options.signal?.aborted) log.info('start abandoned (stopping)');
      else log.error({ err: errorMessage(err) }, 'tandem node failed to start');
      await closeAll();
      throw err;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#drainState.draining = true;
      for (const close of this.#closers.splice(0).reverse()) await close().catch(() => undefined);
      this.#markStopped();
    })();
    return this.#closing;
  }
}
