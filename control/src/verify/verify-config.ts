import type { Pool } from 'pg';
import type { AmiConnectionOptions } from '../ami/index.js';
import { checkAmi, checkAri, checkDatabase, checkPortRange, checkRealtimeConsistency, checkRedis, skipped, type AriCheckOptions, type CheckResult } from './checks.js';

export interface VerifyConfigOptions {
  db: Pool;
  redisUrl?: string | undefined;
  ari?: AriCheckOptions | undefined;
  ami?: AmiConnectionOptions | undefined;
  portRange: { min: number; max: number };
}

/** Runs every check in order; later checks use what earlier ones found (e.g. which endpoints to look up). */
export async function verifyConfig(options: VerifyConfigOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const database = await checkDatabase(options.db);
  results.push(database);
  results.push(database.ok ? await checkRealtimeConsistency(options.db) : skipped('ps_* rows consistent with extensions', 'needs the database'));
  results.push(options.redisUrl ? await checkRedis(options.redisUrl) : skipped('Redis reachable', 'REDIS_URL not set: pairs are kept in memory'));
  if (options.ari) results.push(...(await checkAri(options.ari)));
  else results.push({ name: 'ARI reachable', ok: false, detail: 'ARI_URL not set', fix: 'set ARI_URL (e.g. http://127.0.0.1:8088), ARI_USERNAME and ARI_PASSWORD' });
  if (options.ami) {
    const endpoints = database.ok ? await sampleEndpoints(options.db) : [];
    results.push(...(await checkAmi(options.ami, endpoints)));
  } else {
    results.push({ name: 'AMI login', ok: false, detail: 'AMI_USERNAME / AMI_SECRET not set', fix: 'set AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET (manager.conf)' });
  }
  results.push(await checkPortRange(options.portRange));
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

export function formatCheck(result: CheckResult): string {
  const mark = result.skipped ? '–' : result.ok ? '✓' : '✗';
  const line = `${mark} ${result.name}: ${result.detail}`;
  return result.ok || !result.fix ? line : `${line}\n    fix: ${result.fix}`;
}
