import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtensionService, provisionPairs } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';
import { AriClientAdapter } from '../../../control/src/ari/index.js';
import { checkOdbcRole } from '../../../control/src/verify/checks.js';
import { formatCheck, verifyConfig, type CheckResult } from '../../../control/src/verify/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { closedPort, freePortRange } from '../../support/ports.js';
import { translationFromEnv } from '../../../control/src/calls/translation-settings.js';
import { GoogleDouble } from '../../../tools/doubles/google-server.js';

const ODBC_ROLE_SQL = fileURLToPath(new URL('../../../asterisk/odbc-role.sql', import.meta.url));

let db: TestDb;
let ari: AsteriskSimulator;
let ami: AmiSimulator;
/** Roles are cluster-wide: each run uses its own names and drops them after. */
const roles: string[] = [];
const newRole = (): string => {
  const role = `tandem_test_odbc_${randomBytes(5).toString('hex')}`;
  roles.push(role);
  return role;
};
let asteriskRole: string;

/** `psql <test db> -v … -f asterisk/odbc-role.sql`, as the README tells a user to run it. */
function runOdbcRoleSql(vars: Record<string, string>): { status: number | null; output: string } {
  const args = [db.url, '-X', '-q', ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), '-f', ODBC_ROLE_SQL];
  const r = spawnSync('psql', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A query as `role` itself (trust auth on 127.0.0.1): what Asterisk's ODBC connection could do. */
async function asRole<T>(role: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url.replace('//postgres@', `//${role}@`), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDb({ migrate: true });
  await new ExtensionService(db.pool).create({ number: '1001', password: 'Xk9-pQ2!vL' });
  await provisionPairs(db.pool, { count: 1 });
  asteriskRole = newRole();
  const created = runOdbcRoleSql({ role: asteriskRole, password: 'odbc-pw-1' });
  if (created.status !== 0) throw new Error(`odbc-role.sql failed: ${created.output}`);
  ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
  ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: [{ id: '1001' }, { id: '7000' }, { id: '7001' }] });
  ami.register('7001', { uri: 'sip:7001@127.0.0.1:5080', ip: '127.0.0.1', port: 5080 });
});
afterAll(async () => {
  await ari.close();
  await ami.close();
  for (const role of roles) {
    await db.pool.query(`DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN EXECUTE 'DROP OWNED BY ${role}'; EXECUTE 'DROP ROLE ${role}'; END IF; END $$`);
  }
  await db.drop();
});

const byName = (results: CheckResult[], name: string): CheckResult | undefined => results.find((r) => r.name.startsWith(name));

describe('tandem verify-config', () => {
  it('passes every check on a correct setup (with the app connected)', async () => {
    const client = await AriClientAdapter.connect({ url: ari.ariUrl, username: 'tandem', password: 'ari-secret', app: 'pair_session' });
    try {
      const ports = await freePortRange(100);
      const results = await verifyConfig({
        db: db.pool,
        redisUrl: 'redis://127.0.0.1:6379',
        ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret', app: 'pair_session' },
        ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
        portRange: ports,
        odbcRole: asteriskRole,
        pairs: { baseExtension: 7000, poolSize: 1 },
      });
      const failures = results.filter((r) => !r.ok || r.warning).map(formatCheck);
      expect(failures).toEqual([]);
      expect(results.map((r) => r.name)).toEqual([
        'PostgreSQL reachable and migrated',
        'ps_endpoints / ps_auths / ps_aors consistent with extensions',
        `ODBC role ${asteriskRole} can read ps_endpoints, ps_auths, ps_aors`,
        'Redis reachable',
        'ARI reachable',
        'ARI credentials valid',
        'ARI app pair_session registered',
        'AMI login',
        'Asterisk sees realtime endpoint 1001',
        'Asterisk sees realtime endpoint 7000',
        'pair extensions registered (EXT_B of each enabled pair)',
        `engine port range ${ports.min}-${ports.max} free`,
      ]);
      expect(results.every((r) => formatCheck(r).startsWith('✓'))).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('says what is wrong and how to fix it, one line each', async () => {
    const squatter = dgram.createSocket('udp4');
    const squatted = await freePortRange(100);
    await new Promise<void>((r) => squatter.bind(squatted.min + 50, '127.0.0.1', r));
    ami.removeEndpoint('7000'); // Asterisk does not see the pair extension
    await db.pool.query("UPDATE ps_endpoints SET context = 'tampered' WHERE id = '1001'");
    try {
      const results = await verifyConfig({
        db: db.pool,
        redisUrl: 'redis://127.0.0.1:1', // nothing listens there
        ari: { url: ari.ariUrl, username: 'tandem', password: 'wrong', app: 'pair_session' },
        ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
        portRange: squatted,
      });
      expect(byName(results, 'ps_endpoints')).toMatchObject({ ok: false, fix: expect.stringContaining('sync-extensions') });
      expect(byName(results, 'Redis reachable')).toMatchObject({ ok: false });
      expect(byName(results, 'ARI credentials valid')).toMatchObject({ ok: false, detail: expect.stringContaining('401') });
      expect(byName(results, 'Asterisk sees realtime endpoint 7000')).toMatchObject({ ok: false });
      expect(byName(results, 'Asterisk sees realtime endpoint 1001')).toMatchObject({ ok: true });
      expect(byName(results, 'engine port range')).toMatchObject({ ok: false, detail: expect.stringContaining(String(squatted.min + 50)) });
      for (const r of results.filter((x) => !x.ok)) expect(formatCheck(r)).toMatch(/^✗ .*\n {4}fix: .+/);
    } finally {
      squatter.close();
      await db.pool.query("UPDATE ps_endpoints SET context = 'from-internal' WHERE id = '1001'");
    }
  });

  it('fails cleanly when nothing answers', async () => {
    const results = await verifyConfig({
      db: db.pool,
      ari: { url: 'http://127.0.0.1:1', username: 'tandem', password: 'x', app: 'pair_session' },
      ami: { port: 1, username: 'tandem', secret: 'x' },
      portRange: await freePortRange(100),
    });
    expect(byName(results, 'Redis reachable')).toMatchObject({ ok: true, skipped: true });
    expect(byName(results, 'ARI reachable')).toMatchObject({ ok: false });
    expect(byName(results, 'ARI reachable')?.detail).not.toContain('fetch failed'); // the cause, e.g. "bad port" or ECONNREFUSED
    expect(byName(results, 'AMI login')).toMatchObject({ ok: false });
  });

  it('probes a cascade translation: a recognizer that is not there is a failed line with a fix', async () => {
    const results = await verifyConfig({
      db: db.pool,
      portRange: await freePortRange(100),
      translation: translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg', TANDEM_DEEPGRAM_URL: `ws://127.0.0.1:${await closedPort()}/v1/listen` }),
    });
    const recognizer = results.find((r) => r.name.startsWith('cascade recognizer deepgram'));
    expect(recognizer).toMatchObject({ ok: false });
    expect(recognizer?.detail).toMatch(/cannot connect/);
    expect(recognizer?.fix).toMatch(/docs\/cascade\.md/);
    expect(results.find((r) => r.name === 'cascade synthesizer espeak-ng')).toMatchObject({ ok: true });
  }, 60_000);

  it('probes the Google cascade parts configured by environment: a refused key is a failed line, never showing the key', async () => {
    const google = await GoogleDouble.start({ apiKey: 'g-right-key', dictionary: { 'Hello.': 'Hola.' } });
    try {
      const env = { TANDEM_TRANSLATE_PROVIDER: 'cascade', TANDEM_CASCADE_RECOGNIZER: 'google', TANDEM_CASCADE_TRANSLATOR: 'google', TANDEM_CASCADE_SYNTHESIZER: 'google' };
      const endpoints = { TANDEM_GOOGLE_SPEECH_ENDPOINT: google.endpoint, TANDEM_GOOGLE_TRANSLATE_ENDPOINT: google.endpoint, TANDEM_GOOGLE_TTS_ENDPOINT: google.endpoint, TANDEM_GOOGLE_TLS: 'false', TANDEM_GOOGLE_PROJECT: 'tandem-test', TANDEM_LANG_B: 'es-US' };
      const good = await verifyConfig({ db: db.pool, portRange: await freePortRange(100), translation: translationFromEnv({ ...env, ...endpoints, GOOGLE_API_KEY: 'g-right-key' }) });
      expect(good.filter((r) => r.name.startsWith('cascade ')).map((r) => [r.name.split(' (')[0], r.ok])).toEqual([
        ['cascade recognizer google', true],
        ['cascade translator google en→es-US', true],
        ['cascade synthesizer google', true],
      ]);
      const bad = await verifyConfig({ db: db.pool, portRange: await freePortRange(100), translation: translationFromEnv({ ...env, ...endpoints, GOOGLE_API_KEY: 'g-wrong-key' }) });
      const recognizer = bad.find((r) => r.name.startsWith('cascade recognizer google'));
      expect(recognizer).toMatchObject({ ok: false, detail: 'key refused (UNAUTHENTICATED)' });
      expect(recognizer?.fix).toMatch(/docs\/cascade\.md/);
      expect(JSON.stringify(bad)).not.toContain('g-wrong-key');
    } finally {
      await google.close();
    }
  }, 60_000);

  it('asterisk/odbc-role.sql gives the ODBC role exactly what Asterisk needs, and may be run again', async () => {
    const detail = (await checkOdbcRole(db.pool, asteriskRole)).detail;
    expect(detail).toContain('ps_contacts no access');
    // What Asterisk's ODBC connection can and cannot do as that role.
    await asRole(asteriskRole, async (client) => {
      const endpoints = await client.query<{ id: string }>("SELECT id FROM ps_endpoints WHERE id = '1001'");
      expect(endpoints.rows).toEqual([{ id: '1001' }]);
      await client.query('SELECT count(*) FROM ps_auths');
      await client.query('SELECT count(*) FROM ps_aors');
      await expect(client.query('SELECT count(*) FROM extensions')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query("DELETE FROM ps_contacts WHERE id = 'x'")).rejects.toMatchObject({ code: '42501' });
    });
    // Again, with contacts in realtime: idempotent, and ps_contacts becomes writable.
    expect(runOdbcRoleSql({ role: asteriskRole, password: 'odbc-pw-2', contacts: '1' }).status).toBe(0);
    expect(await checkOdbcRole(db.pool, asteriskRole)).toMatchObject({ ok: true, detail: expect.stringContaining('ps_contacts read/write') as unknown });
    await asRole(asteriskRole, (client) => client.query("DELETE FROM ps_contacts WHERE id = 'x'"));
    // Without a password it refuses, and says what to give.
    const refused = runOdbcRoleSql({ role: newRole() });
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('-v password=');
  });

  it('says what is missing for the ODBC role, with a fix that works when run as written', async () => {
    const role = newRole();
    const check = (): Promise<CheckResult> => checkOdbcRole(db.pool, role);
    expect(await check()).toMatchObject({ ok: false, detail: `role ${role} does not exist`, fix: expect.stringContaining('asterisk/odbc-role.sql') as unknown });
    await db.pool.query(`CREATE ROLE ${role} NOLOGIN`);
    const nologin = await check();
    expect(nologin).toMatchObject({ ok: false, detail: expect.stringContaining('NOLOGIN') as unknown });
    await db.pool.query(nologin.fix!.split(';')[0]!.replace("'…'", "'pw'"));
    const ungranted = await check();
    expect(ungranted).toMatchObject({ ok: false, detail: expect.stringContaining('no SELECT on ps_endpoints, ps_auths, ps_aors') as unknown });
    const grant = /GRANT SELECT ON [^;]+;/.exec(ungranted.fix ?? '')?.[0];
    expect(grant).toBe(`GRANT SELECT ON ps_endpoints, ps_auths, ps_aors TO ${role};`);
    await db.pool.query(grant!);
    expect(await check()).toMatchObject({ ok: true });
    expect((await check()).warning).toBeUndefined();
    // More than it needs is worth a warning: Tandem's own table.
    await db.pool.query(`GRANT SELECT ON extensions TO ${role}`);
    const wide = await check();
    expect(wide).toMatchObject({ ok: true, warning: true, fix: `REVOKE ALL ON extensions FROM ${role};` });
    expect(formatCheck(wide)).toMatch(/^! .*\n {4}fix: REVOKE ALL ON extensions/);
  });

  it('names the pairs whose EXT_B is not registered (warning), and fails when none is', async () => {
    await provisionPairs(db.pool, { count: 3 }); // pair_002 = 7002/7003, pair_003 = 7004/7005
    const run = async (): Promise<CheckResult | undefined> =>
      byName(
        await verifyConfig({
          db: db.pool,
          ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
          portRange: await freePortRange(100),
          odbcRole: asteriskRole,
          pairs: { baseExtension: 7000, poolSize: 4 }, // pair_004 is not provisioned: not enabled, not expected to register
        }),
        'pair extensions registered',
      );
    const some = await run();
    expect(some).toMatchObject({ ok: true, warning: true, detail: '1 of 3; not registered: 7003, 7005 (calls on those pairs fail)' });
    expect(formatCheck(some!)).toMatch(/^! pair extensions registered .*\n {4}fix: register a phone/);
    ami.unregister('7001');
    try {
      expect(await run()).toMatchObject({ ok: false, detail: expect.stringContaining('none of 3 EXT_B is registered (7001, 7003, 7005)') as unknown });
    } finally {
      ami.register('7001', { uri: 'sip:7001@127.0.0.1:5080', ip: '127.0.0.1', port: 5080 });
    }
  });
});
