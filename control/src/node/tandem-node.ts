import { hostname } from 'node:os';
import { ConfigError, errorMessage } from '../../../engine/src/common/errors.js';
import { logger } from '../../../engine/src/common/logger.js';
import { redactUrlPassword } from '../../../engine/src/common/redact-url.js';
import { MediaEngine, type EngineConfigInput } from '../../../engine/src/index.js';
import { createPairStore, parsePairStoreSettings, type PairStore, type PairStoreConfig } from '../alloc/index.js';
import { AriClientAdapter, type AriClient } from '../ari/index.js';
import { mediaUrlFromAriUrl, CallApp, parseCallConfig, type CallConfigInput } from '../calls/index.js';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { AmiPresenceService, type AmiConnectionOptions } from '../ami/index.js';
import { createControlApi, registerCallRoutes, registerPresenceRoutes, registerTranslationRoutes, type ControlApi, type ListenAddress } from '../http/index.js';
import { createPgPool } from '../realtime/db.js';
import { PgPresenceStore } from '../realtime/presence-store.js';
import { registerTranscriptRoutes } from '../http/transcript-routes.js';
import { PgTranscriptStore, TranscriptHub } from '../transcripts/index.js';
import { CallRecords, PgCallRecordStore, buildCallRecord } from '../records/index.js';
import { logRedisLink } from '../redis/link-log.js';
import { PairAvailabilitySync } from './pair-availability.js';
import { PairReachabilitySync } from './pair-reachability.js';

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
  /** PostgreSQL with the realtime schema: pairs follow PJSIP realtime, presence is stored. */
  database?: { url: string; availabilityIntervalMs?: number };
  /** AMI for presence (needs `database`). */
  ami?: AmiConnectionOptions;
}

/**
 * A whole Tandem node: media engine, pair store, ARI connection, the
 * pair_session app and the internal API, started in dependency order and
 * closed in reverse, each part once.
 */
export class TandemNode {
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
  readonly #closers: Array<() => Promise<void>>;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
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
    closers: Array<() => Promise<void>>;
  }) {
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
    this.#closers = parts.closers;
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
      const node = options.store?.node ?? `${hostname()}:${process.pid}`;
      const store = createPairStore({ ...(options.store ?? {}), node });
      closers.push(() => store.close());
      const { legBPresence } = parsePairStoreSettings({ ...(options.store ?? {}), node });
      if (legBPresence === 'require-online' && !options.ami) {
        throw new ConfigError('legBPresence', 'require-online hands out only pairs whose leg B AMI presence knows online: it needs AMI (AMI_USERNAME, AMI_SECRET) and DATABASE_URL');
      }
      let db: Pool | null = null;
      if (options.database) {
        const pool = createPgPool({ connectionString: options.database.url });
        db = pool;
        closers.push(() => pool.end());
        const availability = new PairAvailabilitySync(store, pool);
        closers.push(async () => availability.stop());
        const report = await availability.start(options.database.availabilityIntervalMs);
        log.info({ enabled: report.enabled, disabled: report.disabled.length }, 'pair pool follows PJSIP realtime');
      }
      const engine = await MediaEngine.start({ codec: calls.format, ...(options.engine ?? {}) });
      closers.push(() => engine.close());
      const { waitForAsterisk, ...ariOptions } = options.ari;
      const ari = await AriClientAdapter.connect({ ...ariOptions, app: calls.app }, { waitForAsterisk: waitForAsterisk ?? false, ...(options.signal ? { signal: options.signal } : {}) });
      closers.push(() => ari.close());
      const redisUrl = options.store?.redisUrl;
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
      const app = new CallApp({ ari, engine, store, config: calls, node });
      closers.push(() => app.close());
      app.on('callended', (call) => records.add(buildCallRecord(call, { node })));
      // The caller's channel id tells calls on the same pair apart.
      engine.on('transcript', (event) => transcripts.publish({ ...event, callId: app.pair(event.pairId)?.callerChannelId ?? null }));
      await app.start();
      let presence: AmiPresenceService | null = null;
      let presenceStore: PgPresenceStore | null = null;
      let reachability: PairReachabilitySync | null = null;
      if (options.ami && db) {
        presenceStore = new PgPresenceStore(db);
        const service = new AmiPresenceService({ ami: options.ami, store: presenceStore, redis, redisPrefix: options.store?.redisKeyPrefix ?? 'tandem:' });
        presence = service;
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
      if (options.api) {
        const controlApi = createControlApi({ store, ...options.api });
        api = controlApi;
        if (presence && presenceStore) registerPresenceRoutes(controlApi.app, { feed: presence.tracker, store: presenceStore });
        registerTranslationRoutes(controlApi.app, { engine });
        registerTranscriptRoutes(controlApi.app, { hub: transcripts, store: transcriptStore, pool: store.pool });
        registerCallRoutes(controlApi.app, { records });
        closers.push(() => controlApi.close());
        apiAddress = await controlApi.listen();
      }
      log.info({ app: calls.app, ari: redactUrlPassword(options.ari.url), store: options.store?.redisUrl ? 'redis' : 'memory', api: apiAddress, realtime: Boolean(db), ami: Boolean(presence) }, 'tandem node started');
      return new TandemNode({ engine, store, ari, app, api, apiAddress, presence, reachability, transcripts, records, closers });
    } catch (err) {
      if (options.signal?.aborted) log.info('start abandoned (stopping)');
      else log.error({ err: errorMessage(err) }, 'tandem node failed to start');
      await closeAll();
      throw err;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const close of this.#closers.splice(0).reverse()) await close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
