import { Option, type Command } from 'commander';
import { commaList, databaseUrl, positiveInt, runDbCommand } from '../../realtime/cli-support.js';
import { assertMigrated } from '../../realtime/migrate.js';
import { provisionPairs } from '../../realtime/pairs.js';

interface ProvisionFlags {
  databaseUrl?: string;
  count: number;
  base: number;
  context: string;
  codecs: string[];
}

/** `tandem provision-pairs --count N`: creates or reconciles the pair extensions 7000… (idempotent). */
export function registerProvisionPairsCommand(program: Command): void {
  program
    .command('provision-pairs')
    .description('create or reconcile the pair extensions (two per pair, from --base) in PJSIP realtime')
    .addOption(new Option('--count <n>', 'number of pairs').argParser(positiveInt).makeOptionMandatory())
    .addOption(new Option('--base <number>', 'first extension of the pool').default(7000).argParser(positiveInt))
    .addOption(new Option('--context <context>', 'dialplan context of the pair extensions').default('tandem-pairs'))
    .addOption(new Option('--codecs <list>', 'codecs of the pair extensions').default(['ulaw']).argParser(commaList))
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL'))
    .action(async (flags: ProvisionFlags) => {
      await runDbCommand(databaseUrl(flags.databaseUrl), async (pool) => {
        await assertMigrated(pool);
        const r = await provisionPairs(pool, {
          count: flags.count,
          baseExtension: flags.base,
          context: flags.context,
          codecs: flags.codecs,
        });
        const last = flags.base + 2 * flags.count - 1;
        process.stdout.write(
          `pairs ${flags.base}…${last}: ${r.created.length} created, ${r.updated.length} reconciled, ${r.unchanged.length} unchanged\n`,
        );
      });
    });
}
