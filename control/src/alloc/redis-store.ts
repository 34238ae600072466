import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { PoolExhaustedError, StoreUnavailableError } from './errors.js';
import { checkSettableState, checkToken, isLeaseOwner, isPairState, leaseOwnerOf, newLeaseToken, reachabilityIndexes, toPairLease, type LeaseRecord } from './lease.js';
import { PairPool } from './pool.js';
import { ALLOCATE_LUA, INIT_LUA, READ_LUA, RELEASE_LUA, RENEW_LUA, SET_ENABLED_LUA, SET_REACHABILITY_LUA, SET_STATE_LUA } from './redis-scripts.js';
import type { AllocateRequest, PairLease, PairState, PairStore, ReachabilityUpdate, ReleaseOptions } from './types.js';

export interface RedisPairStoreOptions {
  /** `redis://host:port/db`; ignored when `client` is given. */
  redisUrl?: string;
  /**
   * An existing connection to use; the store then does not close it. Give it
   * `enableOfflineQueue: false` and a `commandTimeout`, as the store's own connection
   * has, or a command queued during an outage may run after its caller gave up.
   */
  client?: Redis;
  /** Every key of the store starts with it (default `tandem:`). */
  keyPrefix?: string;
  baseExtension?: number;
  poolSize?: number;
  leaseTtlMs?: number;
  /** How long a pair released as suspect waits at the back of the line (default 60 000; 0 = not at all). */
  suspectCooldownMs?: number;
  node?: string;
  /** A command that got no answer after this long rejects with StoreUnavailableError (default 2000). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Record every grant, release and expiry in `<prefix>pairs:journal` (tests: proves no double grant). */
  journal?: boolean;
}

type Reply = unknown;
type ScriptArg = string | number | readonly number[];
type ScriptFn = (...args: ScriptArg[]) => Promise<Reply>;
interface PairCommands {
  tandemPairInit: ScriptFn;
  tandemPairAllocate: ScriptFn;
  tandemPairRelease: ScriptFn;
  tandemPairRenew: ScriptFn;
  tandemPairSetState: ScriptFn;
  tandemPairSetEnabled: ScriptFn;
  tandemPairSetReachability: ScriptFn;
  tandemPairRead: ScriptFn;
}

const SCRIPTS: Record<keyof PairCommands, string> = {
  tandemPairInit: INIT_LUA,
  tandemPairAllocate: ALLOCATE_LUA,
  tandemPairRelease: RELEASE_LUA,
  tandemPairRenew: RENEW_LUA,
  tandemPairSetState: SET_STATE_LUA,
  tandemPairSetEnabled: SET_ENABLED_LUA,
  tandemPairSetReachability: SET_REACHABILITY_LUA,
  tandemPairRead: READ_LUA,
};

const log = logger('control.alloc.redis');

/**
 * Pairs shared by every Tandem process on one Redis. Each operation is one Lua script
 * (see redis-scripts.ts for the data model), so a pair is never granted twice, and the
 * pairs of a crashed process come back once their lease expires.
 *
 * Keys live under `<keyPrefix>pairs:`. A lost Redis never hangs a caller: commands reject with StoreUnavailableError within
 * `commandTimeoutMs`, and ioredis keeps reconnecting in the background, so the store
 * works again as soon as Redis does. An allocate whose reply is lost (the script ran,
 * the answer timed out) leaves a lease nobody holds: it lapses after one TTL.
 */
export class RedisPairStore implements PairStore {
  readonly pool: PairPool;
  readonly leaseTtlMs: number;
  readonly suspectCooldownMs: number;
  readonly keyPrefix: string;
  /** Where this store's keys live: `<keyPrefix>pairs:`, so other areas may share the prefix. */
  readonly namespace: string;
  readonly #redis: Redis & PairCommands;
  readonly #ownsClient: boolean;
  readonly #node: string;
  readonly #journal: string;
  readonly #commandTimeoutMs: number;
  #initialised: Promise<void> | null = null;
  #linkWait: Promise<void> | null = null;
  #reachable = true;
  #closed = false;

  constructor(options: RedisPairStoreOptions) {
    this.pool = new PairPool({
      ...(options.baseExtension !== undefined && { baseExtension: options.baseExtension }),
      ...(options.poolSize !== undefined && { size: options.poolSize }),
    });
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    if (!Number.isInteger(this.leaseTtlMs) || this.leaseTtlMs <= 0) throw new RangeError(`leaseTtlMs must be a positive integer, got ${this.leaseTtlMs}`);
    this.suspectCooldownMs = options.suspectCooldownMs ?? 60_000;
    if (!Number.isInteger(this.suspectCooldownMs) || this.suspectCooldownMs < 0) {
      throw new RangeError(`suspectCooldownMs must be a non-negative integer, got ${this.suspectCooldownMs}`);
    }
    this.keyPrefix = options.keyPrefix ?? 'tandem:';
    this.namespace = `${this.keyPrefix}pairs:`;
    this.#node = options.node ?? `redis:${process.pid}`;
    this.#journal = options.journal === true ? '1' : '0';
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 2000;

    let client = options.client;
    this.#ownsClient = client === undefined;
    if (client === undefined) {
      if (options.redisUrl === undefined) throw new ConfigError('redisUrl', 'required when no client is given');
      const redisOptions: RedisOptions = {
        commandTimeout: options.commandTimeoutMs ?? 2000,
        connectTimeout: options.connectTimeoutMs ?? 2000,
        // No offline queue and no resend after a reconnect: a command that timed out
        // for its caller must not run later behind its back (a ghost allocate would
        // hold a pair nobody knows of). `#connected` waits for the link instead.
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 1,
        retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
        connectionName: `tandem-pairs:${this.#node}`.replace(/\s/g, '_'),
      };
      client = new Redis(options.redisUrl, redisOptions);
    }
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.#redis = client as Redis & PairCommands;
    this.#redis.on('error', this.#onError);
    this.#redis.on('ready', this.#onReady);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once Redis answered and the pool is set up; use it to fail fast at start-up. */
  async ready(): Promise<void> {
    this.#checkOpen();
    await this.#init();
  }

  async allocate(req: AllocateRequest = {}): Promise<PairLease> {
    const owner = leaseOwnerOf(req.owner);
    const token = newLeaseToken();
    const node = req.node ?? this.#node;
    const callerId = req.callerId ?? null;
    const reply = await this.#run('tandemPairAllocate', token, this.leaseTtlMs, node, callerId ?? '', callerId === null ? '0' : '1', owner);
    const [index, second, third] = asStrings(reply, 3, 'allocate');
    if (index === '-1') throw new PoolExhaustedError(this.pool.size, { leased: Number(second), unreachable: Number(third) });
    return toPairLease(this.pool, Number(index), {
      token,
      state: 'allocated',
      assignedAtMs: Number(second),
      callerId,
      node,
      owner,
      expiresAtMs: Number(third),
    });
  }

  async release(pairId: string, leaseToken: string, options: ReleaseOptions = {}): Promise<boolean> {
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    const suspectMs = options.suspect === true ? this.suspectCooldownMs : 0;
    return (await this.#run('tandemPairRelease', index, leaseToken, suspectMs)) === 1;
  }

  async renew(pairId: string, leaseToken: string): Promise<boolean> {
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    return (await this.#run('tandemPairRenew', index, leaseToken, this.leaseTtlMs)) !== null;
  }

  async setState(pairId: string, leaseToken: string, state: PairState): Promise<boolean> {
    const index = this.pool.indexOf(pairId);
    checkToken(leaseToken);
    checkSettableState(state);
    return (await this.#run('tandemPairSetState', index, leaseToken, state)) === 1;
  }

  async get(pairId: string): Promise<PairLease | null> {
    const index = this.pool.indexOf(pairId);
    const rows = await this.#read(String(index));
    return rows[0] ?? null;
  }

  async list(): Promise<PairLease[]> {
    return this.#read('');
  }

  async setEnabled(pairId: string, enabled: boolean): Promise<boolean> {
    const index = this.pool.indexOf(pairId);
    const changed = (await this.#run('tandemPairSetEnabled', index, enabled ? '1' : '0')) === 1;
    // Callers re-assert every pair periodically: only a real change is news.
    if (changed) log.debug({ pairId, enabled }, 'pair availability changed');
    return changed;
  }

  async setReachability(update: ReachabilityUpdate): Promise<void> {
    const { unreachable, reachable } = reachabilityIndexes(this.pool, update);
    // Arrays, not spread arguments: ioredis flattens them, and a pool of 100,000 would overflow a spread.
    await this.#run('tandemPairSetReachability', update.markTtlMs, update.complete === true ? '1' : '0', unreachable.length, unreachable, reachable);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#redis.off('ready', this.#onReady);
    if (!this.#ownsClient) {
      this.#redis.off('error', this.#onError);
      return;
    }
    if (this.#redis.status === 'ready') {
      // QUIT lets pending replies arrive; bounded by commandTimeout like any command.
      await this.#redis.quit().catch(() => undefined);
    }
    this.#redis.disconnect();
    this.#redis.off('error', this.#onError);
  }

  async #read(index: string): Promise<PairLease[]> {
    const reply = await this.#run('tandemPairRead', index);
    if (!Array.isArray(reply)) throw new StoreUnavailableError('unexpected reply from Redis to read');
    const pairLeases: PairLease[] = [];
    for (const row of reply) {
      const parsed = parseLeaseRow(row);
      if (parsed === null || parsed.index >= this.pool.size) {
        log.warn({ prefix: this.keyPrefix }, 'malformed lease row in Redis, skipped');
        continue;
      }
      pairLeases.push(toPairLease(this.pool, parsed.index, parsed.lease));
    }
    return pairLeases.sort((a, b) => (a.pairId < b.pairId ? -1 : a.pairId > b.pairId ? 1 : 0));
  }

  /** Runs one script after initialisation; Redis failures become StoreUnavailableError. */
  async #run(command: Exclude<keyof PairCommands, 'tandemPairInit'>, ...args: ScriptArg[]): Promise<Reply> {
    this.#checkOpen();
    await this.#init();
    await this.#connected(command);
    try {
      return await this.#redis[command](this.namespace, this.#journal, ...args);
    } catch (err) {
      throw this.#unavailable(command, err);
    }
  }

  #init(): Promise<void> {
    this.#initialised ??= this.#doInit().catch((err: unknown) => {
      // Not memoised on failure: the next operation tries again once Redis is back.
      this.#initialised = null;
      throw err;
    });
    return this.#initialised;
  }

  /**
   * Waits for the link to Redis, at most one command timeout (the offline queue is off).
   * Concurrent callers share one wait, so an outage under load adds one listener, not one per call.
   */
  #connected(operation: string): Promise<void> {
    const redis = this.#redis;
    if (redis.status === 'ready') return Promise.resolve();
    if (redis.status === 'end') return Promise.reject(new StoreUnavailableError(`Redis connection ended before ${operation}`));
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
    this.#linkWait ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('end', onEnd);
        this.#linkWait = null;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = (): void => done();
      const onEnd = (): void => done(new StoreUnavailableError('Redis connection ended'));
      const timer = setTimeout(
        () => done(new StoreUnavailableError(`Redis unavailable: not connected within ${this.#commandTimeoutMs} ms (status ${redis.status})`)),
        this.#commandTimeoutMs,
      );
      redis.once('ready', onReady);
      redis.once('end', onEnd);
    });
    return this.#linkWait;
  }

  async #doInit(): Promise<void> {
    await this.#connected('init');
    let reply: Reply;
    try {
      reply = await this.#redis.tandemPairInit(this.namespace, this.#journal, this.pool.size, this.pool.baseExtension);
    } catch (err) {
      throw this.#unavailable('init', err);
    }
    const [size, base] = asStrings(reply, 2, 'init');
    if (Number(size) !== this.pool.size) {
      throw new ConfigError('poolSize', `Redis prefix "${this.keyPrefix}" holds a pool of ${size} pairs, this process is configured for ${this.pool.size}`);
    }
    if (Number(base) !== this.pool.baseExtension) {
      throw new ConfigError('baseExtension', `Redis prefix "${this.keyPrefix}" holds a pool based at ${base}, this process is configured for ${this.pool.baseExtension}`);
    }
  }

  #unavailable(operation: string, err: unknown): StoreUnavailableError {
    if (this.#closed) return new StoreUnavailableError(`pair store closed during ${operation}`, { cause: err });
    return new StoreUnavailableError(`Redis unavailable during ${operation}: ${errorMessage(err)}`, { cause: err });
  }

  readonly #onError = (err: unknown): void => {
    // ioredis reports every failed reconnect; log the transition only, not each attempt.
    if (!this.#reachable) return;
    this.#reachable = false;
    log.warn({ prefix: this.keyPrefix, err: errorMessage(err) }, 'Redis unreachable, pair operations will fail until it returns');
  };

  readonly #onReady = (): void => {
    if (this.#reachable) return;
    this.#reachable = true;
    log.info({ prefix: this.keyPrefix }, 'Redis reachable again');
  };

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('pair store is closed');
  }
}

function asStrings(reply: Reply, count: number, operation: string): string[] {
  if (!Array.isArray(reply) || reply.length < count) throw new StoreUnavailableError(`unexpected reply from Redis to ${operation}`);
  return reply.map((v: unknown) => String(v));
}

function parseLeaseRow(row: unknown): { index: number; lease: LeaseRecord } | null {
  if (!Array.isArray(row) || row.length < 2) return null;
  const fields = new Map<string, string>();
  for (let i = 2; i + 1 < row.length; i += 2) fields.set(String(row[i]), String(row[i + 1]));
  const index = Number(row[0]);
  const expiresAtMs = Number(row[1]);
  const token = fields.get('token');
  const state = fields.get('state');
  const assignedAtMs = Number(fields.get('assignedAt'));
  const node = fields.get('node');
  // A lease written before owners existed is left to its TTL, like an API client's.
  const owner = fields.get('owner') ?? 'api';
  if (!Number.isInteger(index) || index < 0 || !Number.isFinite(expiresAtMs) || !Number.isFinite(assignedAtMs)) return null;
  if (token === undefined || node === undefined || !isPairState(state) || !isLeaseOwner(owner)) return null;
  return { index, lease: { token, state, assignedAtMs, callerId: fields.get('callerId') ?? null, node, owner, expiresAtMs } };
}
