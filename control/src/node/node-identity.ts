import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import { logRedisLink } from '../redis/link-log.js';

/**
 * The node's name in the pair store when TANDEM_NODE is not set: `<hostname>:<ARI app>`.
 * It must survive a restart, so that the restarted node's reconciliation knows its
 * predecessor's call leases as its own and frees them (and their channels and bridges) at
 * once instead of leaving them to a lease TTL (issue 11: with `<hostname>:<pid>`, five leg
 * B channels stayed ~60 s on dead air). The app is part of it because two nodes on one host
 * talking to one Asterisk must use different Stasis apps anyway (Asterisk gives an app's
 * events to one WebSocket only), so the default tells them apart; two nodes on one host
 * with the same app against two Asterisks must set TANDEM_NODE (the claim below refuses
 * the second start otherwise).
 */
export function defaultNodeName(app: string): string {
  return `${hostname()}:${app}`;
}

/** Another live process already runs under this node name. */
export class NodeIdentityInUseError extends Error {
  override readonly name = 'NodeIdentityInUseError';
  readonly code = 'NODE_IDENTITY_IN_USE';
  constructor(
    readonly node: string,
    readonly holder: ClaimHolder | null,
  ) {
    const who = holder ? `${holder.pid === undefined ? 'a process' : `process ${holder.pid}`} on ${holder.host ?? 'an unknown host'}, since ${holder.since ?? '?'}` : 'another process';
    super(
      `node name "${node}" is in use by ${who}, which is alive: two live nodes with one name would free each other's calls. Give each node its own TANDEM_NODE`,
    );
  }
}

export interface ClaimHolder {
  host?: string;
  pid?: number;
  since?: string;
  token?: string;
}

export interface NodeIdentityClaimOptions {
  redisUrl: string;
  keyPrefix: string;
  node: string;
  log: Logger;
  /** The claim lapses this long after its holder stopped renewing it (renewed every third of it). Default 5000. */
  ttlMs?: number;
  /** Whether a process of this host is alive (default: signal 0). */
  isAlive?: (pid: number) => boolean;
}

export type NodeIdentityClaimEvents = {
  /** The claim was found held by another process: two live nodes share the name. */
  lost: [holder: ClaimHolder | null];
  listenererror: [event: string, error: unknown];
};

/** Renews the claim if it is ours (1), takes it back if it lapsed (2), or says it is another's (0). */
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
/** Replaces the claim only if it still is the predecessor's value we read. */
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * One live process per node name, with Redis: a key `<prefix>node:<name>` with a short TTL
 * that the running node renews. At start: free → taken; held by a dead process of this
 * host (or by this very pid: a restart in a fresh PID namespace) → taken over at once, so
 * the restarted node reconciles its predecessor's leftovers immediately; held by a live
 * process of this host → refused; held from another host → waited for until it lapses
 * (a dead holder stops renewing it), refused if it is still renewed.
 */
export class NodeIdentityClaim extends TypedEmitter<NodeIdentityClaimEvents> {
  readonly node: string;
  readonly key: string;
  readonly #redis: Redis;
  readonly #unwatch: () => void;
  readonly #value: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | null = null;
  #lostReported = false;
  #renewFailing = false;
  #closed = false;

  private constructor(options: NodeIdentityClaimOptions, redis: Redis, unwatch: () => void) {
    super();
    this.node = options.node;
    this.key = `${options.keyPrefix}node:${options.node}`;
    this.#redis = redis;
    this.#unwatch = unwatch;
    this.#ttlMs = options.ttlMs ?? 5000;
    this.#log = options.log;
    const holder: ClaimHolder = { host: hostname(), pid: process.pid, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
    this.#value = JSON.stringify(holder);
  }

  /** Claims the name, or rejects with NodeIdentityInUseError (or a Redis error). */
  static async acquire(options: NodeIdentityClaimOptions): Promise<NodeIdentityClaim> {
    const ttlMs = options.ttlMs ?? 5000;
    if (!Number.isInteger(ttlMs) || ttlMs < 30) throw new RangeError(`claim ttlMs must be an integer >= 30, got ${ttlMs}`);
    const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000, connectionName: 'tandem-node-identity' });
    const unwatch = logRedisLink(redis, { log: options.log, role: 'node identity claim', url: options.redisUrl });
    const claim = new NodeIdentityClaim(options, redis, unwatch);
    try {
      await claim.#acquire(options.isAlive ?? isProcessAlive);
    } catch (err) {
      claim.#dispose();
      throw err;
    }
    claim.#timer = setInterval(() => void claim.#renew(), Math.max(10, Math.floor(ttlMs / 3)));
    claim.#timer.unref();
    return claim;
  }

  /** Gives the name up (only if still ours). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#redis.eval(RELEASE, 1, this.key, this.#value).catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'releasing the node name failed; it lapses by itself'));
    this.#dispose();
  }

  async #acquire(isAlive: (pid: number) => boolean): Promise<void> {
    const ttl = String(this.#ttlMs);
    // A live holder renews every third of the TTL: still held after a TTL and a half means alive.
    const deadline = Date.now() + this.#ttlMs * 1.5;
    let waiting = false;
    for (;;) {
      if ((await this.#redis.set(this.key, this.#value, 'PX', this.#ttlMs, 'NX')) === 'OK') return;
      const raw = await this.#redis.get(this.key);
      if (raw === null) continue;
      const holder = parseHolder(raw);
      if (holder?.host === hostname() && holder.pid !== undefined) {
        if (holder.pid !== process.pid && isAlive(holder.pid)) throw new NodeIdentityInUseError(this.node, holder);
        // Our predecessor on this host is dead: its leftovers are ours to reconcile now.
        if (Number(await this.#redis.eval(TAKE_OVER, 1, this.key, raw, this.#value, ttl)) === 1) {
          this.#log.info({ node: this.node, predecessor: holder }, 'node name taken over from a process that is gone');
          return;
        }
        continue;
      }
      if (Date.now() > deadline) throw new NodeIdentityInUseError(this.node, holder);
      if (!waiting) this.#log.warn({ node: this.node, holder }, 'node name held from another host; waiting for it to lapse');
      waiting = true;
      await sleep(Math.max(10, Math.min(250, Math.floor(this.#ttlMs / 4))));
    }
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    try {
      const result = Number(await this.#redis.eval(RENEW, 1, this.key, this.#value, String(this.#ttlMs)));
      if (this.#renewFailing) this.#log.info({ node: this.node }, 'node name renewed again');
      this.#renewFailing = false;
      if (result === 2) this.#log.warn({ node: this.node }, 'node name had lapsed (Redis unreachable for a while); claimed again');
      if (result !== 0) {
        this.#lostReported = false;
        return;
      }
      if (this.#lostReported) return;
      this.#lostReported = true;
      const holder = parseHolder((await this.#redis.get(this.key).catch(() => null)) ?? '');
      this.#log.error({ node: this.node, holder }, 'another live process claimed this node name: give each node its own TANDEM_NODE');
      this.safeEmit('lost', holder);
    } catch (err) {
      if (!this.#renewFailing) this.#log.warn({ err: errorMessage(err), node: this.node }, 'renewing the node name failed; retrying');
      this.#renewFailing = true;
    }
  }

  #dispose(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#unwatch();
    this.#redis.disconnect();
    this.removeAllListeners();
  }
}

function parseHolder(raw: string): ClaimHolder | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    return {
      ...(typeof v['host'] === 'string' && { host: v['host'] }),
      ...(typeof v['pid'] === 'number' && { pid: v['pid'] }),
      ...(typeof v['since'] === 'string' && { since: v['since'] }),
    };
  } catch {
    return null;
  }
}

/** Signal 0 checks existence: ESRCH = gone; EPERM = alive under another user. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
