import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { errorMessage } from '../../../engine/src/common/errors.js';
import { AmiConnection, endpointVisible, type AmiConnectionOptions } from '../ami/index.js';
import { findInconsistencies } from '../realtime/sync.js';
import { schemaVersion } from '../realtime/migrate.js';
import { MIGRATIONS } from '../realtime/migrations/index.js';

/** One line of `tandem verify-config`: what was checked, whether it passed, and how to fix it. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Not configured, so not checked: shown but not a failure. */
  skipped?: boolean;
}

export const skipped = (name: string, detail: string): CheckResult => ({ name, ok: true, skipped: true, detail });

const failed = (name: string, detail: string, fix: string): CheckResult => ({ name, ok: false, detail, fix });

export async function checkDatabase(pool: Pool): Promise<CheckResult> {
  const name = 'PostgreSQL reachable and migrated';
  const want = Math.max(...MIGRATIONS.map((m) => m.id));
  try {
    const have = await schemaVersion(pool);
    if (have < want) return failed(name, `schema version ${have}, need ${want}`, 'run `tandem migrate`');
    return { name, ok: true, detail: `schema version ${have}` };
  } catch (err) {
    return failed(name, errorMessage(err), 'check DATABASE_URL and that PostgreSQL accepts connections from this host');
  }
}

export async function checkRealtimeConsistency(pool: Pool): Promise<CheckResult> {
  const name = 'ps_endpoints / ps_auths / ps_aors consistent with extensions';
  try {
    const problems = await findInconsistencies(pool);
    if (problems.length > 0) {
      return failed(name, `${problems.length} rows differ (${problems.slice(0, 3).join(', ')}${problems.length > 3 ? ', …' : ''})`, 'run `tandem sync-extensions --prune`');
    }
    return { name, ok: true, detail: 'every extension has exactly its three rows' };
  } catch (err) {
    return failed(name, errorMessage(err), 'run `tandem migrate`, then `tandem sync-extensions`');
  }
}

export async function checkRedis(url: string): Promise<CheckResult> {
  const name = 'Redis reachable';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    return { name, ok: pong === 'PONG', detail: `PING → ${pong}` };
  } catch (err) {
    return failed(name, errorMessage(err), 'start Redis or fix REDIS_URL (unset it to keep pairs in memory)');
  } finally {
    redis.disconnect();
  }
}

export interface AriCheckOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  timeoutMs?: number;
}

/** ARI reachable, credentials valid, and the Stasis app registered (a `tandem start` is connected). */
export async function checkAri(options: AriCheckOptions): Promise<CheckResult[]> {
  const base = options.url.replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}` };
  const signal = AbortSignal.timeout(options.timeoutMs ?? 3000);
  let info: Response;
  try {
    info = await fetch(`${base}/ari/asterisk/info`, { headers, signal });
  } catch (err) {
    return [failed('ARI reachable', `${base}: ${errorMessage(err)}`, 'check ARI_URL and http.conf (enabled, bindaddr, bindport)')];
  }
  const reachable: CheckResult = { name: 'ARI reachable', ok: true, detail: `${base} answered ${info.status}` };
  if (info.status === 401) {
    return [reachable, failed('ARI credentials valid', '401 Authentication required', 'ARI_USERNAME / ARI_PASSWORD must match a user in ari.conf')];
  }
  if (!info.ok) return [reachable, failed('ARI credentials valid', `GET /ari/asterisk/info → ${info.status}`, 'check ari.conf [general] enabled = yes')];
  const version = ((await info.json().catch(() => ({}))) as { system?: { version?: string } }).system?.version;
  const credentials: CheckResult = { name: 'ARI credentials valid', ok: true, detail: version ? `Asterisk ${version}` : 'authenticated' };
  const app = await fetch(`${base}/ari/applications/${encodeURIComponent(options.app)}`, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 3000) }).catch(
    (err: unknown) => err as Error,
  );
  if (app instanceof Error) return [reachable, credentials, failed(`ARI app ${options.app} registered`, app.message, 'retry; Asterisk stopped answering')];
  if (app.status === 404) {
    return [reachable, credentials, failed(`ARI app ${options.app} registered`, 'not registered', 'start `tandem start` (the app registers when its event WebSocket connects); the dialplan must say Stasis(' + options.app + ',…)')];
  }
  return [reachable, credentials, { name: `ARI app ${options.app} registered`, ok: app.ok, detail: `GET /ari/applications/${options.app} → ${app.status}` }];
}

/** AMI login, and over AMI that Asterisk itself sees realtime endpoints. */
export async function checkAmi(options: AmiConnectionOptions, endpoints: readonly string[]): Promise<CheckResult[]> {
  const connection = new AmiConnection({ ...options, heartbeatIntervalMs: 0, connectTimeoutMs: options.connectTimeoutMs ?? 3000, loginTimeoutMs: options.loginTimeoutMs ?? 3000 });
  try {
    await connection.connect();
  } catch (err) {
    return [failed('AMI login', `${options.host ?? '127.0.0.1'}:${options.port ?? 5038}: ${errorMessage(err)}`, 'check AMI_HOST/AMI_PORT/AMI_USERNAME/AMI_SECRET against manager.conf (enabled, bindaddr, the user section, permit)')];
  }
  const results: CheckResult[] = [{ name: 'AMI login', ok: true, detail: `${options.username}@${options.host ?? '127.0.0.1'}:${options.port ?? 5038}` }];
  try {
    for (const id of endpoints) {
      const name = `Asterisk sees realtime endpoint ${id}`;
      try {
        const visible = await endpointVisible(connection, id, { timeoutMs: 3000 });
        results.push(visible ? { name, ok: true, detail: `pjsip show endpoint ${id}` } : failed(name, 'Unable to find object', 'check sorcery.conf / extconfig.conf / res_odbc.conf and the ODBC DSN (asterisk/*.conf)'));
      } catch (err) {
        results.push(failed(name, errorMessage(err), 'the AMI user needs the command permission (manager.conf write=system,command,...)'));
      }
    }
  } finally {
    await connection.close();
  }
  return results;
}

/** No other process holds a UDP port in the engine's range (the kernel's own table). */
export async function checkPortRange(range: { min: number; max: number }, address = '127.0.0.1'): Promise<CheckResult> {
  const name = `engine port range ${range.min}-${range.max} free`;
  const busy: number[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const port = local ? parseInt(local.split(':').pop() ?? '', 16) : NaN;
      if (port >= range.min && port <= range.max) busy.push(port);
    }
  }
  if (busy.length > 0) {
    return failed(name, `${busy.length} ports in use (${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''}) on ${address}`, 'stop what holds them (is a Tandem engine already running?) or choose another --ports / TANDEM_PORT_RANGE');
  }
  return { name, ok: true, detail: `${range.max - range.min + 1} ports, ${Math.floor((range.max - range.min + 1) / 2)} pairs` };
}
