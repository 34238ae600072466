import { Option, type Command } from 'commander';
import { databaseUrl, runDbCommand } from '../../realtime/cli-support.js';
import { migrate } from '../../realtime/migrate.js';

interface MigrateFlags {
  databaseUrl?: string;
}

/** `tandem migrate`: applies pending schema migrations (safe to run twice, or from two nodes at once). */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('create or upgrade the extensions and PJSIP realtime tables in PostgreSQL')
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL'))
    .action(async (flags: MigrateFlags) => {
      const url = databaseUrl(flags.databaseUrl);
      await runDbCommand(url, async (pool) => {
        const r = await migrate(pool);
        process.stdout.write(
          r.applied.length === 0
            ? `schema already up to date (version ${r.version})\n`
            : `applied ${r.applied.length} migration(s): ${r.applied.join(', ')} (schema version ${r.version})\n`,
        );
      });
    });
}
