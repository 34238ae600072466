import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtensionService, provisionPairs } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../control/src/simulator/ami/index.js';
import { AsteriskSimulator } from '../../../control/src/simulator/ari/index.js';
import { AriClientAdapter } from '../../../control/src/ari/index.js';
import { formatCheck, verifyConfig, type CheckResult } from '../../../control/src/verify/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';

let db: TestDb;
let ari: AsteriskSimulator;
let ami: AmiSimulator;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
  await new ExtensionService(db.pool).create({ number: '1001', password: 'Xk9-pQ2!vL' });
  await provisionPairs(db.pool, { count: 1 });
  ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
  ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: [{ id: '1001' }, { id: '7000' }] });
});
afterAll(async () => {
  await ari.close();
  await ami.close();
  await db.drop();
});

const byName = (results: CheckResult[], name: string): CheckResult | undefined => results.find((r) => r.name.startsWith(name));

describe('tandem verify-config', () => {
  it('passes every check on a correct setup (with the app connected)', async () => {
    const client = await AriClientAdapter.connect({ url: ari.ariUrl, username: 'tandem', password: 'ari-secret', app: 'pair_session' });
    try {
      const results = await verifyConfig({
        db: db.pool,
        redisUrl: 'redis://127.0.0.1:6379',
        ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret', app: 'pair_session' },
        ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
        portRange: { min: 29500, max: 29599 },
      });
      const failures = results.filter((r) => !r.ok).map(formatCheck);
      expect(failures).toEqual([]);
      expect(results.map((r) => r.name)).toEqual([
        'PostgreSQL reachable and migrated',
        'ps_endpoints / ps_auths / ps_aors consistent with extensions',
        'Redis reachable',
        'ARI reachable',
        'ARI credentials valid',
        'ARI app pair_session registered',
        'AMI login',
        'Asterisk sees realtime endpoint 1001',
        'Asterisk sees realtime endpoint 7000',
        'engine port range 29500-29599 free',
      ]);
      expect(results.every((r) => formatCheck(r).startsWith('✓'))).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('says what is wrong and how to fix it, one line each', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(29650, '127.0.0.1', r));
    ami.removeEndpoint('7000'); // Asterisk does not see the pair extension
    await db.pool.query("UPDATE ps_endpoints SET context = 'tampered' WHERE id = '1001'");
    try {
      const results = await verifyConfig({
        db: db.pool,
        redisUrl: 'redis://127.0.0.1:1', // nothing listens there
        ari: { url: ari.ariUrl, username: 'tandem', password: 'wrong', app: 'pair_session' },
        ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
        portRange: { min: 29600, max: 29699 },
      });
      expect(byName(results, 'ps_endpoints')).toMatchObject({ ok: false, fix: expect.stringContaining('sync-extensions') });
      expect(byName(results, 'Redis reachable')).toMatchObject({ ok: false });
      expect(byName(results, 'ARI credentials valid')).toMatchObject({ ok: false, detail: expect.stringContaining('401') });
      expect(byName(results, 'Asterisk sees realtime endpoint 7000')).toMatchObject({ ok: false });
      expect(byName(results, 'Asterisk sees realtime endpoint 1001')).toMatchObject({ ok: true });
      expect(byName(results, 'engine port range')).toMatchObject({ ok: false, detail: expect.stringContaining('29650') });
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
      portRange: { min: 29700, max: 29799 },
    });
    expect(byName(results, 'Redis reachable')).toMatchObject({ ok: true, skipped: true });
    expect(byName(results, 'ARI reachable')).toMatchObject({ ok: false });
    expect(byName(results, 'AMI login')).toMatchObject({ ok: false });
  });
});
