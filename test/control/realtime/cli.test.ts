import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerExtensionsCommand } from '../../../control/src/cli/commands/extensions.js';
import { registerMigrateCommand } from '../../../control/src/cli/commands/migrate.js';
import { registerProvisionPairsCommand } from '../../../control/src/cli/commands/provision-pairs.js';
import { registerSyncExtensionsCommand } from '../../../control/src/cli/commands/sync-extensions.js';
import { readSecretFromStream } from '../../../control/src/realtime/cli-support.js';
import { runCli, type CliRun } from '../../support/run-cli.js';
import { countRows, createTestDb, psRows, type TestDb } from './pg-test-db.js';

function run(args: string[]): Promise<CliRun> {
  return runCli(
    (program) => {
      registerMigrateCommand(program);
      registerSyncExtensionsCommand(program);
      registerExtensionsCommand(program);
      registerProvisionPairsCommand(program);
    },
    args,
  );
}

describe('CLI commands', () => {
  let db: TestDb;
  let url: string[];
  beforeAll(async () => {
    db = await createTestDb({ migrate: false });
    url = ['--database-url', db.url];
  });
  afterEach(() => {
    process.exitCode = undefined;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('commands before migrate fail with one line and exit 1', async () => {
    const r = await run(['extensions', 'list', ...url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: .*tandem migrate.*\[NOT_MIGRATED\]\n$/);
  });

  it('migrate, then migrate again', async () => {
    const a = await run(['migrate', ...url]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/applied 7 migration\(s\): 001_extensions, 002_pjsip_realtime, 003_ps_sync_trigger, 004_transcripts, 005_call_records, 006_extension_language, 007_call_record_recording/);
    const b = await run(['migrate', ...url]);
    expect(b.out).toBe('schema already up to date (version 7)\n');
  });

  it('extensions add / update / list / remove', async () => {
    const add = await run(['extensions', 'add', '1001', '--password', 'Xk9-pQ2!vL', '--name', 'Alice', '--codecs', 'ulaw,g722', '--voicemail', '1001@default', ...url]);
    expect(add.code).toBe(0);
    expect(add.out).toContain('created 1001 "Alice" context=from-internal codecs=ulaw,g722 voicemail=1001@default enabled user unknown');
    expect((await psRows(db.pool, '1001')).endpoint).toMatchObject({ allow: 'ulaw,g722', callerid: '"Alice" <1001>' });

    const gen = await run(['extensions', 'add', '1002', ...url]);
    expect(gen.code).toBe(0);
    const pw = /password: (\S+)/.exec(gen.out)?.[1];
    expect((await psRows(db.pool, '1002')).auth).toMatchObject({ password: pw });

    const up = await run(['extensions', 'update', '1001', '--context', 'sales', '--disable', ...url]);
    expect(up.code).toBe(0);
    expect((await psRows(db.pool, '1001')).endpoint).toBeUndefined();

    const list = await run(['extensions', 'list', '--json', ...url]);
    const parsed = JSON.parse(list.out) as { number: string; context: string; enabled: boolean }[];
    expect(parsed.map((x) => [x.number, x.context, x.enabled])).toEqual([
      ['1001', 'sales', false],
      ['1002', 'from-internal', true],
    ]);
    expect(list.out).not.toContain('Xk9-pQ2!vL');

    const rm = await run(['extensions', 'remove', '1002', ...url]);
    expect(rm.out).toBe('removed 1002\n');
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
  });

  it('extensions carry a language: set, shown, cleared, and a malformed tag refused', async () => {
    const add = await run(['extensions', 'add', '1003', '--password', 'Xk9-pQ2!vL', '--language', 'es-MX', ...url]);
    expect(add.code).toBe(0);
    expect(add.out).toContain('created 1003 context=from-internal codecs=');
    expect(add.out).toContain(' language=es-MX enabled');
    const bad = await run(['extensions', 'update', '1003', '--language', 'not a tag', ...url]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/language must be a BCP 47 tag/);
    const list = JSON.parse((await run(['extensions', 'list', '--json', ...url])).out) as { number: string; language: string | null }[];
    expect(list.find((x) => x.number === '1003')?.language).toBe('es-MX');
    expect((await run(['extensions', 'update', '1003', '--language', '', ...url])).code).toBe(0);
    const cleared = JSON.parse((await run(['extensions', 'list', '--json', ...url])).out) as { number: string; language: string | null }[];
    expect(cleared.find((x) => x.number === '1003')?.language).toBeNull();
    // The column's own CHECK refuses a malformed tag from any writer, not just the CLI.
    await expect(db.pool.query(`UPDATE extensions SET language = 'x y' WHERE number = '1003'`)).rejects.toThrow(/check constraint/);
    await run(['extensions', 'remove', '1003', ...url]);
  });

  it('user errors: one line, exit code 1, nothing written', async () => {
    const before = await countRows(db.pool);
    for (const args of [
      ['extensions', 'add', '1003', '--password', 'short'],
      ['extensions', 'add', '1003', '--password', 'Xk9-pQ2!vL', '--codecs', 'ulaw,mp3'],
      ['extensions', 'add', '1001', '--password', 'Xk9-pQ2!vL'],
      ['extensions', 'remove', '4242'],
    ]) {
      const r = await run([...args, ...url]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.err).toMatch(/^error: .*\[(WEAK_PASSWORD|UNKNOWN_CODEC|DUPLICATE_NUMBER|NOT_FOUND)\]/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect(await countRows(db.pool)).toEqual(before);
  });

  it('an unreachable database is one clear line', async () => {
    const r = await run(['migrate', '--database-url', 'postgres://postgres@127.0.0.1:1/nothing']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/nothing/);
  });

  it('provision-pairs then sync-extensions', async () => {
    const p = await run(['provision-pairs', '--count', '2', ...url]);
    expect(p.out).toBe('pairs 7000…7003: 4 created, 0 reconciled, 0 unchanged\n');
    const p2 = await run(['provision-pairs', '--count', '2', ...url]);
    expect(p2.out).toBe('pairs 7000…7003: 0 created, 0 reconciled, 4 unchanged\n');

    const s = await run(['sync-extensions', '--qualify-frequency', '60', ...url]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/realtime settings updated\nsynced 5 extension\(s\) in 1 batch\(es\), \d+ ms; all consistent\n/);
    expect((await psRows(db.pool, '7000')).aor).toMatchObject({ qualify_frequency: 60 });
  });
});

describe('readSecretFromStream', () => {
  it('reads a piped secret and drops one trailing newline only', async () => {
    expect(await readSecretFromStream(Readable.from([Buffer.from("p'w;\n"), Buffer.from('x\n')]))).toBe("p'w;\nx");
    expect(await readSecretFromStream(Readable.from(['plain']))).toBe('plain');
  });

  it('refuses a terminal and oversized input', async () => {
    const tty = Object.assign(Readable.from(['x']), { isTTY: true });
    await expect(readSecretFromStream(tty)).rejects.toMatchObject({ key: '--password-stdin' });
    await expect(readSecretFromStream(Readable.from([Buffer.alloc(5000, 97)]))).rejects.toMatchObject({ key: '--password-stdin' });
  });
});
