import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  pairNumbers,
  provisionPairs,
  readyPairExtensions,
} from '../../../control/src/realtime/pairs.js';
import { ExtensionService } from '../../../control/src/realtime/extension-service.js';
import { countRows, expectedPs, psRows, useTestDb } from './pg-test-db.js';

describe('provisionPairs', () => {
  const db = useTestDb({ emptyBeforeEach: true });

  it('pairNumbers gives consecutive numbers from the base', () => {
    expect(pairNumbers(2)).toEqual(['7000', '7001', '7002', '7003']);
    expect(pairNumbers(1, 8100)).toEqual(['8100', '8101']);
    expect(() => pairNumbers(0)).toThrow(RangeError);
  });

  it('generates strong random passwords', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z2-9]{24}$/);
    expect(generatePassword()).not.toBe(a);
    expect(() => generatePassword(8)).toThrow(RangeError);
  });

  it('creates 2·count pair extensions with their ps_* rows, and is idempotent', async () => {
    const first = await provisionPairs(db.pool, { count: 3 });
    expect(first.created).toEqual(['7000', '7001', '7002', '7003', '7004', '7005']);
    expect(first.updated).toEqual([]);
    expect(await countRows(db.pool)).toEqual({ extensions: 6, ps_endpoints: 6, ps_auths: 6, ps_aors: 6 });
    const svc = new ExtensionService(db.pool);
    const pw = await svc.password('7001');
    expect(pw).toMatch(/^[A-Za-z2-9]{24}$/);
    expect(await psRows(db.pool, '7001')).toEqual(
      expectedPs({ number: '7001', password: pw, callerid: '"Tandem pair 7001" <7001>', context: 'tandem-pairs', allow: 'ulaw' }),
    );
    expect((await svc.get('7001'))?.kind).toBe('pair');

    const snapshot = await db.pool.query('SELECT number, password, updated_at FROM extensions ORDER BY number');
    const second = await provisionPairs(db.pool, { count: 3 });
    expect(second).toEqual({ created: [], updated: [], unchanged: ['7000', '7001', '7002', '7003', '7004', '7005'] });
    const again = await db.pool.query('SELECT number, password, updated_at FROM extensions ORDER BY number');
    expect(again.rows).toEqual(snapshot.rows);
  });

  it('reconciles drifted pair extensions and grows the pool, keeping passwords', async () => {
    await provisionPairs(db.pool, { count: 1 });
    const svc = new ExtensionService(db.pool);
    const pw = await svc.password('7000');
    await svc.update('7000', { enabled: false });
    await db.pool.query(`UPDATE extensions SET context = 'wrong' WHERE number = '7001'`);
    expect(await readyPairExtensions(db.pool)).toEqual(new Set(['7001']));

    const r = await provisionPairs(db.pool, { count: 2 });
    expect(r.created).toEqual(['7002', '7003']);
    expect(r.updated).toEqual(['7000', '7001']);
    expect(await svc.password('7000')).toBe(pw);
    expect((await psRows(db.pool, '7001')).endpoint).toMatchObject({ context: 'tandem-pairs' });
    expect(await readyPairExtensions(db.pool)).toEqual(new Set(['7000', '7001', '7002', '7003']));
  });

  it('refuses to take over a user extension in the pair range, writing nothing', async () => {
    const svc = new ExtensionService(db.pool);
    await svc.create({ number: '7002', password: 'Users-own-pw' });
    await expect(provisionPairs(db.pool, { count: 2 })).rejects.toMatchObject({ code: 'PAIR_NUMBER_CONFLICT' });
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 1, ps_auths: 1, ps_aors: 1 });
  });

  it('two concurrent provisions end in the same single pool', async () => {
    const results = await Promise.all([
      provisionPairs(db.pool, { count: 5 }),
      provisionPairs(db.openPool(), { count: 5 }),
    ]);
    expect(results.flatMap((r) => r.created).sort()).toEqual(pairNumbers(5));
    expect(await countRows(db.pool)).toEqual({ extensions: 10, ps_endpoints: 10, ps_auths: 10, ps_aors: 10 });
  });
});
