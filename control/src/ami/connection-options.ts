/** What an AMI connection is given, checked and filled with defaults, and its reconnect backoff. */
import { ConfigError } from '../../../common/src/errors.js';

export interface AmiBackoffOptions {
  /** First retry delay. Default 500 ms. */
  initialDelayMs?: number;
  /** Cap. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** ± fraction of randomness so a fleet does not reconnect in lockstep. Default 0.2. */
  jitter?: number;
}

export interface AmiConnectionOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 5038. */
  port?: number;
  username: string;
  /** Never logged. */
  secret: string;
  /** TCP connect + banner. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Login answer (a refused Login is answered after ≈ 1 s). Default 5000 ms. */
  loginTimeoutMs?: number;
  /** Default for `action()`. Default 10 000 ms. */
  actionTimeoutMs?: number;
  /** Ping period while logged in; 0 disables. Default 15 000 ms. */
  heartbeatIntervalMs?: number;
  /** A Ping unanswered this long means the link is dead. Default 5000 ms. */
  heartbeatTimeoutMs?: number;
  backoff?: AmiBackoffOptions;
  /** Largest single message accepted. Default 1 MiB. */
  maxMessageChars?: number;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  connectTimeoutMs: number;
  loginTimeoutMs: number;
  actionTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  backoff: Required<AmiBackoffOptions>;
  maxMessageChars: number;
}

/** Validates once; a bad setting is a `ConfigError` naming its key. */
export function resolveAmiConnectionOptions(options: AmiConnectionOptions): ResolvedOptions {
  const int = (key: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min) throw new ConfigError(key, `must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  if (typeof options.username !== 'string' || options.username.length === 0) throw new ConfigError('ami.username', 'must be a non-empty string');
  if (typeof options.secret !== 'string') throw new ConfigError('ami.secret', 'must be a string');
  const port = int('ami.port', options.port, 5038, 1);
  if (port > 65535) throw new ConfigError('ami.port', `must be <= 65535, got ${port}`);
  const b = options.backoff ?? {};
  const factor = b.factor ?? 2;
  const jitter = b.jitter ?? 0.2;
  if (!(factor >= 1)) throw new ConfigError('ami.backoff.factor', 'must be >= 1');
  if (!(jitter >= 0 && jitter < 1)) throw new ConfigError('ami.backoff.jitter', 'must be in [0, 1)');
  const initialDelayMs = int('ami.backoff.initialDelayMs', b.initialDelayMs, 500, 1);
  const maxDelayMs = int('ami.backoff.maxDelayMs', b.maxDelayMs, 30_000, initialDelayMs);
  return {
    host: options.host ?? '127.0.0.1',
    port,
    username: options.username,
    secret: options.secret,
    connectTimeoutMs: int('ami.connectTimeoutMs', options.connectTimeoutMs, 5000, 1),
    loginTimeoutMs: int('ami.loginTimeoutMs', options.loginTimeoutMs, 5000, 1),
    actionTimeoutMs: int('ami.actionTimeoutMs', options.actionTimeoutMs, 10_000, 1),
    heartbeatIntervalMs: int('ami.heartbeatIntervalMs', options.heartbeatIntervalMs, 15_000, 0),
    heartbeatTimeoutMs: int('ami.heartbeatTimeoutMs', options.heartbeatTimeoutMs, 5000, 1),
    backoff: { initialDelayMs, maxDelayMs, factor, jitter },
    maxMessageChars: int('ami.maxMessageChars', options.maxMessageChars, 1024 * 1024, 1024),
  };
}

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with ± jitter. */
export function backoffDelay(attempt: number, backoff: Required<AmiBackoffOptions>, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * backoff.factor ** Math.min(attempt, 64));
  const spread = base * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(backoff.maxDelayMs, base + spread)));
}
