import { parsePortRange } from './engine-options.js';
import { Option, type Command } from 'commander';
import { pairStoreSettingsFromEnv } from '../../alloc/index.js';
import { translationFromEnv } from '../../calls/translation-settings.js';
import { createPgPool, DEFAULT_DATABASE_URL } from '../../realtime/db.js';
import { formatCheck, verifyConfig } from '../../verify/index.js';

/**
 * `tandem verify-config`: every dependency of a Tandem node checked, one line
 * each with ✓ or ✗ and the fix; the exit code says whether all passed.
 */
export function registerVerifyConfigCommand(program: Command): void {
  program
    .command('verify-config')
    .description(
      "check PostgreSQL, ps_* consistency, the ODBC role's grants, Redis, ARI, AMI, realtime endpoints in Asterisk, registered pair extensions and the engine port range",
    )
    .addOption(new Option('--database-url <url>', 'PostgreSQL').env('DATABASE_URL').default(DEFAULT_DATABASE_URL))
    .addOption(new Option('--ports <min-max>', 'engine UDP port range').env('TANDEM_PORT_RANGE').default('21000-29999'))
    .addOption(new Option('--odbc-user <role>', "the PostgreSQL role Asterisk's ODBC connection logs in as (res_odbc.conf username)").env('ASTERISK_ODBC_USER').default('asterisk'))
    .action(async (flags: { databaseUrl: string; ports: string; odbcUser: string }) => {
      const env = process.env;
      const portRange = parsePortRange(flags.ports);
      const pairStore = pairStoreSettingsFromEnv(env);
      const translation = translationFromEnv(env);
      const db = createPgPool({ connectionString: flags.databaseUrl, connectTimeoutMs: 3000 });
      try {
        const results = await verifyConfig({
          db,
          redisUrl: env['REDIS_URL'],
          ari: env['ARI_URL']
            ? { url: env['ARI_URL'], username: env['ARI_USERNAME'] ?? 'tandem', password: env['ARI_PASSWORD'] ?? '', app: env['ARI_APP'] ?? 'pair_session' }
            : undefined,
          ami:
            env['AMI_USERNAME'] && env['AMI_SECRET']
              ? { host: env['AMI_HOST'] ?? '127.0.0.1', port: Number(env['AMI_PORT'] ?? 5038), username: env['AMI_USERNAME'], secret: env['AMI_SECRET'] }
              : undefined,
          portRange,
          odbcRole: flags.odbcUser,
          pairs: { baseExtension: pairStore.baseExtension, poolSize: pairStore.poolSize },
          translation,
        });
        for (const r of results) process.stdout.write(`${formatCheck(r)}\n`);
        const failedCount = results.filter((r) => !r.ok).length;
        const warnings = results.filter((r) => r.ok && r.warning).length;
        const warned = warnings > 0 ? ` (${warnings} warning${warnings > 1 ? 's' : ''}: see !)` : '';
        process.stdout.write(failedCount === 0 ? `all checks passed${warned}\n` : `${failedCount} check(s) failed${warned}\n`);
        process.exitCode = failedCount === 0 ? 0 : 1;
      } finally {
        await db.end();
      }
    });
}
