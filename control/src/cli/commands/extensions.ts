import { withCacheExpirer } from './cache-expirer-from-env.js';
import { Option, type Command } from 'commander';
import { commaList, databaseUrl, positiveInt, readSecretFromStream, runDbCommand } from '../../realtime/cli-support.js';
import type { Extension } from '../../realtime/extension-schema.js';
import { ExtensionService } from '../../realtime/extension-service.js';
import { assertMigrated } from '../../realtime/migrate.js';
import { generatePassword } from '../../realtime/pairs.js';

interface CommonFlags {
  databaseUrl?: string;
}
interface WriteFlags extends CommonFlags {
  password?: string;
  passwordStdin?: boolean;
  name?: string;
  codecs?: string[];
  context?: string;
  voicemail?: string;
  language?: string;
}
interface AddFlags extends WriteFlags {
  disabled?: boolean;
}
interface UpdateFlags extends WriteFlags {
  enable?: boolean;
  disable?: boolean;
}
interface ListFlags extends CommonFlags {
  json?: boolean;
  kind?: 'user' | 'pair';
  limit: number;
}

function dbOption(): Option {
  return new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL');
}

function withWriteOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--password <password>', 'SIP password (add: generated and printed when omitted)'))
    .addOption(new Option('--password-stdin', 'read the SIP password from stdin (keeps it out of ps and shell history)').conflicts('password'))
    .addOption(new Option('--name <name>', 'display name used in the caller ID ("" clears it)'))
    .addOption(new Option('--codecs <list>', 'comma-separated codecs, e.g. ulaw,alaw,g722').argParser(commaList))
    .addOption(new Option('--context <context>', 'dialplan context of calls from this extension'))
    .addOption(new Option('--voicemail <box>', 'voicemail box for MWI, e.g. 1001@default ("" clears it)'))
    .addOption(new Option('--language <tag>', 'language the user speaks, e.g. es-MX, for translated calls ("" clears it)'))
    .addOption(dbOption());
}

/** Resolves --password-stdin into flags.password before anything is validated. */
async function resolvePassword(f: WriteFlags): Promise<void> {
  if (f.passwordStdin) f.password = await readSecretFromStream(process.stdin);
}

/** Fields common to add/update, without keys the user did not give (so update leaves them alone). */
function writeFields(f: WriteFlags): Record<string, unknown> {
  return {
    ...(f.password !== undefined ? { password: f.password } : {}),
    ...(f.name !== undefined ? { displayName: f.name } : {}),
    ...(f.codecs !== undefined ? { codecs: f.codecs } : {}),
    ...(f.context !== undefined ? { context: f.context } : {}),
    ...(f.voicemail !== undefined ? { voicemail: f.voicemail } : {}),
    ...(f.language !== undefined ? { language: f.language } : {}),
  };
}

function describe(e: Extension): string {
  const name = e.displayName ? ` "${e.displayName}"` : '';
  return `${e.number}${name} context=${e.context} codecs=${e.codecs.join(',')}${e.voicemail ? ` voicemail=${e.voicemail}` : ''}${e.language ? ` language=${e.language}` : ''} ${e.enabled ? 'enabled' : 'disabled'} ${e.kind} ${e.status}`;
}

/** `tandem extensions add|update|remove|list`: manage extensions without writing SQL. */
export function registerExtensionsCommand(program: Command): void {
  const ext = program.command('extensions').description('manage SIP extensions (Asterisk reads them through PJSIP realtime)');

  withWriteOptions(ext.command('add <number>').description('create an extension'))
    .addOption(new Option('--disabled', 'create it disabled (Asterisk refuses it until enabled)'))
    .action(async (number: string, flags: AddFlags) => {
      await runDbCommand(databaseUrl(flags.databaseUrl), async (pool) => {
        await assertMigrated(pool);
        await resolvePassword(flags);
        const generated = flags.password === undefined ? generatePassword() : undefined;
        const created = await withCacheExpirer((cacheExpirer) => new ExtensionService(pool, { cacheExpirer }).create({
          number,
          ...writeFields(flags),
          ...(generated !== undefined ? { password: generated } : {}),
          ...(flags.disabled ? { enabled: false } : {}),
        }));
        process.stdout.write(`created ${describe(created)}\n`);
        if (generated !== undefined) process.stdout.write(`password: ${generated}\n`);
      });
    });

  withWriteOptions(ext.command('update <number>').description('change an extension; omitted options stay as they are'))
    .addOption(new Option('--enable', 'enable it').conflicts('disable'))
    .addOption(new Option('--disable', 'disable it (its PJSIP rows are removed)'))
    .action(async (number: string, flags: UpdateFlags) => {
      await runDbCommand(databaseUrl(flags.databaseUrl), async (pool) => {
        await assertMigrated(pool);
        await resolvePassword(flags);
        const patch = {
          ...writeFields(flags),
          ...(flags.enable ? { enabled: true } : {}),
          ...(flags.disable ? { enabled: false } : {}),
        };
        const updated = await withCacheExpirer((cacheExpirer) => new ExtensionService(pool, { cacheExpirer }).update(number, patch));
        process.stdout.write(`updated ${describe(updated)}\n`);
      });
    });

  ext
    .command('remove <number>')
    .description('delete an extension and its PJSIP rows')
    .addOption(dbOption())
    .action(async (number: string, flags: CommonFlags) => {
      await runDbCommand(databaseUrl(flags.databaseUrl), async (pool) => {
        await assertMigrated(pool);
        await withCacheExpirer((cacheExpirer) => new ExtensionService(pool, { cacheExpirer }).delete(number));
        process.stdout.write(`removed ${number}\n`);
      });
    });

  ext
    .command('list')
    .description('list extensions (never their passwords)')
    .addOption(new Option('--json', 'one JSON array on stdout'))
    .addOption(new Option('--kind <kind>', 'only user or pair extensions').choices(['user', 'pair']))
    .addOption(new Option('--limit <n>', 'at most this many').default(10_000).argParser(positiveInt))
    .addOption(dbOption())
    .action(async (flags: ListFlags) => {
      await runDbCommand(databaseUrl(flags.databaseUrl), async (pool) => {
        await assertMigrated(pool);
        const list = await new ExtensionService(pool).list({
          limit: flags.limit,
          ...(flags.kind !== undefined ? { kind: flags.kind } : {}),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        for (const e of list) process.stdout.write(`${describe(e)}\n`);
        process.stdout.write(`${list.length} extension(s)\n`);
      });
    });
}
