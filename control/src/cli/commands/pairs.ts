import { Option, type Command } from 'commander';
import { ConfigError } from '../../../../common/src/errors.js';
import { pairStoreSettingsFromEnv, RedisPairStore, type PairLease } from '../../alloc/index.js';

interface StoreFlags {
  redisUrl?: string;
  prefix?: string;
  poolSize?: number;
  base?: number;
  json?: boolean;
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError('argument', `"${value}" is not a non-negative integer`);
  return n;
}

/**
 * The shared store the running control planes use. Only Redis makes sense here: the
 * in-memory store lives inside a tandem process (use its HTTP API instead).
 */
async function withStore<T>(flags: StoreFlags, run: (store: RedisPairStore) => Promise<T>): Promise<T> {
  const settings = pairStoreSettingsFromEnv(process.env, {
    ...(flags.redisUrl !== undefined && { redisUrl: flags.redisUrl }),
    ...(flags.prefix !== undefined && { redisKeyPrefix: flags.prefix }),
    ...(flags.poolSize !== undefined && { poolSize: flags.poolSize }),
    ...(flags.base !== undefined && { baseExtension: flags.base }),
  });
  if (settings.redisUrl === undefined) {
    throw new ConfigError('redisUrl', 'set REDIS_URL or --redis-url: without Redis the pairs live inside the tandem process (see its HTTP API, docs/http-api.md)');
  }
  const store = new RedisPairStore({
    redisUrl: settings.redisUrl,
    keyPrefix: settings.redisKeyPrefix,
    poolSize: settings.poolSize,
    baseExtension: settings.baseExtension,
    leaseTtlMs: settings.leaseTtlMs,
    node: `cli:${process.pid}`,
    commandTimeoutMs: settings.redisCommandTimeoutMs,
    connectTimeoutMs: settings.redisConnectTimeoutMs,
  });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function formatTable(leases: PairLease[]): string {
  const header = ['PAIR_ID', 'EXT_A', 'EXT_B', 'STATE', 'CALLER', 'NODE', 'OWNER', 'ASSIGNED', 'LEASE_EXPIRES'];
  const rows = leases.map((s) => [s.pairId, s.extA, s.extB, s.state, s.callerId ?? '-', s.node, s.owner, s.assignedAt, s.leaseExpiresAt]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** `tandem pairs list | get <pairId> | release <pairId> --token T | enable|disable <pairId>` against the shared Redis store. */
export function registerPairsCommand(program: Command): void {
  const pairs = program
    .command('pairs')
    .description('inspect and manage the pair lease table in the shared Redis store')
    .addOption(new Option('--redis-url <url>', 'Redis URL').env('REDIS_URL'))
    .addOption(new Option('--prefix <prefix>', 'Redis key prefix').env('TANDEM_REDIS_PREFIX'))
    .addOption(new Option('--pool-size <n>', 'number of pairs').argParser(intArg).env('TANDEM_POOL_SIZE'))
    .addOption(new Option('--base <extension>', 'first extension of the pool').argParser(intArg).env('TANDEM_PAIR_BASE'));

  const flagsOf = (cmd: Command): StoreFlags => cmd.optsWithGlobals<StoreFlags>();

  pairs
    .command('list')
    .description('the lease table: every leased pair')
    .option('--json', 'JSON output')
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      const leases = await withStore(flags, (store) => store.list());
      process.stdout.write(flags.json === true ? `${JSON.stringify(leases, null, 2)}\n` : leases.length === 0 ? 'no pair allocated\n' : `${formatTable(leases)}\n`);
    });

  pairs
    .command('get')
    .description('one pair (exit code 1 when it is free)')
    .argument('<pairId>', 'e.g. pair_001')
    .action(async (pairId: string, _opts: unknown, cmd: Command) => {
      const lease = await withStore(flagsOf(cmd), (store) => store.get(pairId));
      if (lease === null) {
        process.stdout.write(`${pairId} is free\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${JSON.stringify(lease, null, 2)}\n`);
    });

  pairs
    .command('release')
    .description('release a pair; needs the lease token it was granted with')
    .argument('<pairId>', 'e.g. pair_001')
    .requiredOption('--token <leaseToken>', 'the lease token')
    .action(async (pairId: string, opts: { token: string }, cmd: Command) => {
      const released = await withStore(flagsOf(cmd), (store) => store.release(pairId, opts.token));
      if (!released) {
        process.stderr.write(`${pairId} is held under another lease token; nothing changed\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${pairId} released\n`);
    });

  for (const [name, enabled] of [['enable', true], ['disable', false]] as const) {
    pairs
      .command(name)
      .description(enabled ? 'hand this pair out again' : 'never hand this pair out (a held lease stays until released)')
      .argument('<pairId>', 'e.g. pair_001')
      .action(async (pairId: string, _opts: unknown, cmd: Command) => {
        const changed = await withStore(flagsOf(cmd), (store) => store.setEnabled(pairId, enabled));
        process.stdout.write(`${pairId} ${changed ? '' : 'was already '}${enabled ? 'enabled' : 'disabled'}\n`);
      });
  }
}
