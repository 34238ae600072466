import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { databaseUrl, positiveInt, runDbCommand } from '../../realtime/cli-support.js';
import { assertMigrated } from '../../realtime/migrate.js';
import { applyRealtimeSettings, findInconsistencies, syncAll } from '../../realtime/sync.js';

interface SyncFlags {
  databaseUrl?: string;
  batchSize: number;
  prune?: boolean;
  transport?: string;
  qualifyFrequency?: number;
}

/**
 * `tandem sync-extensions`: re-derives every extension's ps_* rows (idempotent),
 * then checks that nothing is left inconsistent; exit code 1 if anything failed.
 */
export function registerSyncExtensionsCommand(program: Command): void {
  program
    .command('sync-extensions')
    .description('re-sync every extension into the PJSIP realtime tables (ps_endpoints, ps_auths, ps_aors)')
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL'))
    .addOption(new Option('--batch-size <n>', 'extensions per transaction').default(1000).argParser(positiveInt))
    .addOption(new Option('--prune', 'also delete ps_* rows that belong to no extension (careful: trunks defined in ps_* too)'))
    .addOption(new Option('--transport <name>', 'store a new pjsip.conf transport name for all endpoints first'))
    .addOption(new Option('--qualify-frequency <seconds>', 'store a new aor qualify_frequency first').argParser(positiveInt))
    .action(async (flags: SyncFlags) => {
      const url = databaseUrl(flags.databaseUrl);
      await runDbCommand(url, async (pool) => {
        await assertMigrated(pool);
        const settings = {
          ...(flags.transport !== undefined ? { transport: flags.transport } : {}),
          ...(flags.qualifyFrequency !== undefined ? { qualifyFrequency: flags.qualifyFrequency } : {}),
        };
        if (Object.keys(settings).length > 0 && (await applyRealtimeSettings(pool, settings))) {
          process.stdout.write('realtime settings updated\n');
        }
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: 'syncing [{bar}] {value}/{total} extensions', hideCursor: true },
              cliProgress.Presets.shades_classic,
            )
          : null;
        let started = false;
        try {
          const r = await syncAll(pool, {
            batchSize: flags.batchSize,
            ...(flags.prune ? { prune: true } : {}),
            onProgress: (p) => {
              if (!bar) return;
              if (!started) {
                bar.start(p.total, p.done);
                started = true;
              } else {
                bar.setTotal(p.total);
                bar.update(p.done);
              }
            },
          });
          bar?.stop();
          const left = await findInconsistencies(pool);
          process.stdout.write(
            `synced ${r.total} extension(s) in ${r.batches} batch(es), ${Math.round(r.durationMs)} ms` +
              (flags.prune ? `, pruned ${r.pruned} orphan row(s)` : '') +
              `; ${left.length === 0 ? 'all consistent' : `${left.length} still inconsistent`}\n`,
          );
          if (left.length > 0) {
            process.stderr.write(`error: still inconsistent after sync: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''}\n`);
            process.exitCode = 1;
          }
        } finally {
          if (bar && started) bar.stop();
        }
      });
    });
}
