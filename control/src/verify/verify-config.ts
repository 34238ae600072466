import type { Pool } from 'pg';
import { probeCascade, type PairTranslation } from '../../../engine/src/index.js';
import type { AmiConnectionOptions } from '../ami/index.js';
import { PairPool } from '../alloc/pool.js';
import { readyPairExtensions } from '../realtime/pairs.js';
import {
  checkAmi,
  checkAri,
  checkDatabase,
  checkOdbcRole,
  checkPortRange,
  checkRealtimeConsistency,
  checkRedis,
  skipped,
  type AriCheckOptions,
  type CheckResult,
  type EnabledPair,
} from './checks.js';

export interface VerifyConfigOptions {
  db: Pool;
  redisUrl?: string | undefined;
  ari?: AriCheckOptions | undefined;
  ami?: AmiConnectionOptions | undefined;
  portRange: { min: number; max: number };
  /** The PostgreSQL role Asterisk's ODBC connection logs in as (res_odbc.conf username). Default `asterisk`. */
  odbcRole?: string | undefined;
  /** The pair pool `tandem start` uses (TANDEM_PAIR_BASE, TANDEM_POOL_SIZE). Default 7000, 100. */
  pairs?: { baseExtension: number; poolSize: number } | undefined;
  /** The node's default translation (TANDEM_TRANSLATE_*): a cascade's providers are probed. */
  translation?: PairTranslation | undefined;
}

/** Runs every check in order; later checks use what earlier ones found (e.g. which endpoints to look up). */
export async function verifyConfig(options: VerifyConfigOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const database = await checkDatabase(options.db);
  results.push(database);
  results.push(database.ok ? await checkRealtimeConsistency(options.db) : skipped('ps_* rows consistent with extensions', 'needs the database'));
  const role = options.odbcRole ?? 'asterisk';
  results.push(database.ok ? await checkOdbcRole(options.db, role) : skipped(`ODBC role ${role} can read ps_endpoints, ps_auths, ps_aors`, 'needs the database'));
  results.push(options.redisUrl ? await checkRedis(options.redisUrl) : skipped('Redis reachable', 'REDIS_URL not set: pairs are kept in memory'));
  if (options.ari) results.push(...(await checkAri(options.ari)));
  else results.push({ name: 'ARI reachable', ok: false, detail: 'ARI_URL not set', fix: 'set ARI_URL (e.g. http://127.0.0.1:8088), ARI_USERNAME and ARI_PASSWORD' });
  if (options.ami) {
    const endpoints = database.ok ? await sampleEndpoints(options.db) : [];
    const pairs = database.ok ? await enabledPairs(options.db, options.pairs ?? { baseExtension: 7000, poolSize: 100 }) : null;
    results.push(...(await checkAmi(options.ami, endpoints, pairs)));
  } else {
    results.push({ name: 'AMI login', ok: false, detail: 'AMI_USERNAME / AMI_SECRET not set', fix: 'set AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET (manager.conf)' });
  }
  results.push(await checkPortRange(options.portRange));
  const t = options.translation;
  if (t?.provider.kind === 'cascade') {
    for (const probe of await probeCascade(t.provider, t.languages)) {
      results.push(probe.ok ? { name: probe.name, ok: true, detail: probe.detail } : { name: probe.name, ok: false, detail: probe.detail, fix: 'check the key, URL and installed language pairs (docs/cascade.md)' });
    }
  }
  return results;
}

/** One enabled user extension and one pair extension: enough to prove Asterisk reads realtime. */
async function sampleEndpoints(db: Pool): Promise<string[]> {
  const r = await db.query<{ number: string }>(
    `(SELECT number FROM extensions WHERE enabled AND kind = 'user' ORDER BY number LIMIT 1)
     UNION ALL
     (SELECT number FROM extensions WHERE enabled AND kind = 'pair' ORDER BY number LIMIT 1)`,
  );
  return r.rows.map((row) => row.number);
}

/** The pairs `tandem start` would hand out: both extensions enabled and present in ps_endpoints. */
async function enabledPairs(db: Pool, settings: { baseExtension: number; poolSize: number }): Promise<EnabledPair[]> {
  const ready = await readyPairExtensions(db);
  const pool = new PairPool({ baseExtension: settings.baseExtension, size: settings.poolSize });
  const pairs: EnabledPair[] = [];
  for (let i = 0; i < pool.size; i++) {
    const { extA, extB } = pool.extensionsAt(i);
    if (ready.has(extA) && ready.has(extB)) pairs.push({ pairId: pool.pairIdAt(i), extB });
  }
  return pairs;
}

export function formatCheck(result: CheckResult): string {
  const mark = result.skipped ? '–' : !result.ok ? '✗' : result.warning ? '!' : '✓';
  const line = `${mark} ${result.name}: ${result.detail}`;
  return (result.ok && !result.warning) || !result.fix ? line : `${line}\n    fix: ${result.fix}`;
}
