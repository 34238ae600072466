import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { errorMessage } from '../../../common/src/errors.js';
import { redactUrlPassword } from '../../../common/src/redact-url.js';
import { AmiConnection, endpointVisible, isDialable, listContacts, type AmiConnectionOptions } from '../ami/index.js';
import { fetchFailure } from '../ari/errors.js';
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
  /** Works, but something deserves a look (shown with its fix; not a failure). */
  warning?: boolean;
}

export const skipped = (name: string, detail: string): CheckResult => ({ name, ok: true, skipped: true, detail });

const failed = (name: string, detail: string, fix: string): CheckResult => ({ name, ok: false, detail, fix });

const warned = (name: string, detail: string, fix: string): CheckResult => ({ name, ok: true, warning: true, detail, fix });

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
    return [failed('ARI reachable', `${redactUrlPassword(base)}: ${fetchFailure(err)}`, 'check ARI_URL and http.conf (enabled, bindaddr, bindport)')];
  }
  const reachable: CheckResult = { name: 'ARI reachable', ok: true, detail: `${redactUrlPassword(base)} answered ${info.status}` };
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

/** A pair the pool would hand out (both extensions ready in PJSIP realtime): leg B is dialled to its extB. */
export interface EnabledPair {
  pairId: string;
  extB: string;
}

/**
 * AMI login; over AMI, that Asterisk itself sees realtime endpoints; and, when
 * `pairs` is given, which pairs' EXT_B has a contact Asterisk would dial.
 */
export async function checkAmi(options: AmiConnectionOptions, endpoints: readonly string[], pairs: readonly EnabledPair[] | null = null): Promise<CheckResult[]> {
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
    if (pairs !== null) results.push(await checkPairRegistrations(connection, pairs));
  } finally {
    await connection.close();
  }
  return results;
}

const PAIR_REGISTRATION = 'pair extensions registered (EXT_B of each enabled pair)';

/**
 * Leg B of a call is originated to PJSIP/<EXT_B>: a pair whose EXT_B has no
 * contact Asterisk would dial fails every call it gets (500 Allocation failed).
 * Some unregistered: a warning naming them. None registered: a failure.
 */
async function checkPairRegistrations(ami: AmiConnection, pairs: readonly EnabledPair[]): Promise<CheckResult> {
  if (pairs.length === 0) return skipped(PAIR_REGISTRATION, 'no enabled pair (run `tandem provision-pairs`)');
  let listing;
  try {
    listing = await listContacts(ami, { timeoutMs: 5000 });
  } catch (err) {
    return failed(PAIR_REGISTRATION, `PJSIPShowContacts: ${errorMessage(err)}`, 'the AMI user needs the reporting permission (manager.conf read/write=reporting)');
  }
  const missing = pairs.filter((p) => ![...(listing.get(p.extB)?.values() ?? [])].some(isDialable)).map((p) => p.extB);
  const fix =
    'register a phone (or SIPp `asterisk/sipp/register.xml`) as each EXT_B, with its password from the extensions table; a registered phone that stops answering qualify is Unreachable and not dialled';
  const registered = pairs.length - missing.length;
  const list = `${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`;
  if (registered === 0) return failed(PAIR_REGISTRATION, `none of ${pairs.length} EXT_B is registered (${list}): every call to 1000 would fail`, fix);
  if (missing.length > 0) return warned(PAIR_REGISTRATION, `${registered} of ${pairs.length}; not registered: ${list} (calls on those pairs fail)`, fix);
  return { name: PAIR_REGISTRATION, ok: true, detail: `all ${pairs.length} EXT_B have a reachable contact` };
}

/** The tables Asterisk reads through ODBC (sorcery.conf / extconfig.conf). */
const PJSIP_TABLES = ['ps_endpoints', 'ps_auths', 'ps_aors'] as const;

/** A role name as SQL: bare when it is a plain lower-case identifier, quoted otherwise. */
export function sqlIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The statements that give `role` what Asterisk needs: read the three ps_* tables (and, with contacts in realtime, write ps_contacts). */
export function odbcGrants(role: string, options: { contacts?: boolean } = {}): string {
  const r = sqlIdentifier(role);
  const lines = [`GRANT SELECT ON ${PJSIP_TABLES.join(', ')} TO ${r};`];
  if (options.contacts) lines.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON ps_contacts TO ${r};`);
  return lines.join(' ');
}

interface TablePrivileges {
  name: string;
  exists: boolean;
  select: boolean | null;
  insert: boolean | null;
  update: boolean | null;
  delete: boolean | null;
  schemaUsage: boolean | null;
  schema: string | null;
}

/**
 * The PostgreSQL role Asterisk logs in as through ODBC (odbc.ini Username,
 * res_odbc.conf username) exists, may log in and connect, and may read
 * ps_endpoints, ps_auths and ps_aors. Says whether it may write ps_contacts
 * (needed only with `contact=realtime,ps_contacts` in sorcery.conf) and warns
 * when it can do more than it needs (superuser, or reading `extensions`).
 */
export async function checkOdbcRole(pool: Pool, role: string): Promise<CheckResult> {
  const name = `ODBC role ${role} can read ${PJSIP_TABLES.join(', ')}`;
  const r = sqlIdentifier(role);
  const create = `run \`psql "$DATABASE_URL" -v role=${role} -v password=… -f asterisk/odbc-role.sql\` as the owner of the tables (or: CREATE ROLE ${r} LOGIN PASSWORD '…'; ${odbcGrants(role)}); the password is the one in res_odbc.conf and odbc.ini`;
  try {
    const found = await pool.query<{ oid: number; login: boolean; superuser: boolean; connect: boolean }>(
      `SELECT oid, rolcanlogin AS login, rolsuper AS superuser, has_database_privilege(oid, current_database(), 'CONNECT') AS connect
         FROM pg_roles WHERE rolname = $1`,
      [role],
    );
    const row = found.rows[0];
    if (row === undefined) return failed(name, `role ${role} does not exist`, create);
    if (!row.login) return failed(name, `role ${role} exists but may not log in (NOLOGIN)`, `ALTER ROLE ${r} LOGIN PASSWORD '…'; (the password in res_odbc.conf and odbc.ini)`);
    if (!row.connect) {
      const db = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? 'tandem';
      return failed(name, `role ${role} may not connect to database ${db}`, `GRANT CONNECT ON DATABASE ${sqlIdentifier(db)} TO ${r};`);
    }
    const tables = await pool.query<TablePrivileges>(
      `SELECT t.name, c.oid IS NOT NULL AS exists,
              has_table_privilege($1::oid, c.oid, 'SELECT') AS select,
              has_table_privilege($1::oid, c.oid, 'INSERT') AS insert,
              has_table_privilege($1::oid, c.oid, 'UPDATE') AS update,
              has_table_privilege($1::oid, c.oid, 'DELETE') AS delete,
              has_schema_privilege($1::oid, c.relnamespace, 'USAGE') AS "schemaUsage",
              n.nspname AS schema
         FROM unnest($2::text[]) AS t(name)
         LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
         LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
      [row.oid, [...PJSIP_TABLES, 'ps_contacts', 'extensions']],
    );
    const of = new Map(tables.rows.map((t) => [t.name, t]));
    const absent = PJSIP_TABLES.filter((t) => of.get(t)?.exists !== true);
    if (absent.length > 0) return failed(name, `tables missing: ${absent.join(', ')}`, 'run `tandem migrate`');
    const noUsage = [...new Set(PJSIP_TABLES.filter((t) => of.get(t)?.schemaUsage !== true).map((t) => of.get(t)?.schema ?? 'public'))];
    const unreadable = PJSIP_TABLES.filter((t) => of.get(t)?.select !== true);
    if (noUsage.length > 0 || unreadable.length > 0) {
      const fixes = [...noUsage.map((schema) => `GRANT USAGE ON SCHEMA ${sqlIdentifier(schema)} TO ${r};`), ...(unreadable.length > 0 ? [odbcGrants(role)] : [])];
      const detail = [noUsage.length > 0 ? `no USAGE on schema ${noUsage.join(', ')}` : '', unreadable.length > 0 ? `no SELECT on ${unreadable.join(', ')}` : ''].filter(Boolean).join('; ');
      return failed(name, `${detail}: Asterisk would find no endpoints (REGISTER refused)`, `${fixes.join(' ')} (or run asterisk/odbc-role.sql)`);
    }
    const contacts = of.get('ps_contacts');
    const contactAccess = contacts?.select && contacts.insert && contacts.update && contacts.delete ? 'read/write' : contacts?.select ? 'read only' : 'no access';
    const detail = `LOGIN, SELECT on all three; ps_contacts ${contactAccess} (write needed only with contact=realtime,ps_contacts in sorcery.conf)`;
    if (row.superuser) return warned(name, `${detail}; but ${role} is a superuser`, `give Asterisk a role of its own with only these grants: asterisk/odbc-role.sql`);
    if (of.get('extensions')?.select === true) {
      return warned(name, `${detail}; but ${role} can also read Tandem's extensions table (SIP passwords, presence)`, `REVOKE ALL ON extensions FROM ${r};`);
    }
    return { name, ok: true, detail };
  } catch (err) {
    return failed(name, errorMessage(err), 'check DATABASE_URL (the database Asterisk reads through odbc.ini)');
  }
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
