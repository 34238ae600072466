import { beforeEach, describe, expect, it } from 'vitest';
import type { CacheExpirer, SorceryObjectType } from '../../../control/src/realtime/cache-expirer.js';
import { RealtimeError, type RealtimeErrorCode } from '../../../control/src/realtime/errors.js';
import { ExtensionService } from '../../../control/src/realtime/extension-service.js';
import { InvalidStateError } from '../../../common/src/errors.js';
import { findInconsistencies } from '../../../control/src/realtime/sync.js';
import { countRows, expectedPs, psRows, useTestDb } from './pg-test-db.js';

class RecordingExpirer implements CacheExpirer {
  readonly calls: [SorceryObjectType, string][] = [];
  async expire(type: SorceryObjectType, id: string): Promise<void> {
    this.calls.push([type, id]);
  }
}

describe('ExtensionService against PostgreSQL', () => {
  const db = useTestDb({ emptyBeforeEach: true });
  let svc: ExtensionService;
  let expirer: RecordingExpirer;

  beforeEach(async () => {
    expirer = new RecordingExpirer();
    svc = new ExtensionService(db.pool, { cacheExpirer: expirer });
  });

  it('seed flow: create 1001 writes its three ps_* rows with the exact values', async () => {
    const ext = await svc.create({
      number: '1001',
      password: 'Xk9-pQ2!vL',
      displayName: 'Alice Example',
      context: 'from-internal',
      codecs: ['ulaw', 'alaw', 'g722'],
      voicemail: '1001@default',
    });
    expect(ext).toMatchObject({
      number: '1001',
      displayName: 'Alice Example',
      context: 'from-internal',
      codecs: ['ulaw', 'alaw', 'g722'],
      voicemail: '1001@default',
      enabled: true,
      kind: 'user',
      status: 'unknown',
      lastRegisteredAt: null,
      lastRegisteredIp: null,
    });
    expect(ext).not.toHaveProperty('password');
    expect(await psRows(db.pool, '1001')).toEqual(
      expectedPs({
        number: '1001',
        password: 'Xk9-pQ2!vL',
        callerid: '"Alice Example" <1001>',
        context: 'from-internal',
        allow: 'ulaw,alaw,g722',
        mailboxes: '1001@default',
      }),
    );
    expect(expirer.calls).toEqual([
      ['endpoint', '1001'],
      ['aor', '1001'],
      ['auth', '1001'],
    ]);
    expect(await svc.password('1001')).toBe('Xk9-pQ2!vL');
  });

  it('a failing cache expirer does not fail the committed write', async () => {
    let calls = 0;
    const failing = new ExtensionService(db.pool, {
      cacheExpirer: {
        expire: async () => {
          calls++;
          throw new Error('AMI down');
        },
      },
    });
    await expect(failing.create({ number: '1009', password: 'Xk9-pQ2!vL' })).resolves.toMatchObject({ number: '1009' });
    expect(calls).toBe(3);
    expect((await psRows(db.pool, '1009')).endpoint).toMatchObject({ id: '1009' });
  });

  it('uses the policy defaults (context, codecs) and <number> caller ID without a name', async () => {
    await svc.create({ number: '1002', password: 'Secr3t-pass' });
    expect(await psRows(db.pool, '1002')).toEqual(
      expectedPs({ number: '1002', password: 'Secr3t-pass', callerid: '<1002>', context: 'from-internal', allow: 'ulaw,alaw' }),
    );
  });

  it('update propagates every changed field to ps_*; delete removes all three rows', async () => {
    await svc.create({ number: '1001', password: 'Xk9-pQ2!vL', displayName: 'Alice' });
    const updated = await svc.update('1001', {
      password: 'N3w-Passw0rd',
      displayName: 'Alice B',
      context: 'sales',
      codecs: ['opus', 'ulaw'],
      voicemail: '1001@sales',
    });
    expect(updated).toMatchObject({ displayName: 'Alice B', context: 'sales', codecs: ['opus', 'ulaw'] });
    expect(await psRows(db.pool, '1001')).toEqual(
      expectedPs({
        number: '1001',
        password: 'N3w-Passw0rd',
        callerid: '"Alice B" <1001>',
        context: 'sales',
        allow: 'opus,ulaw',
        mailboxes: '1001@sales',
      }),
    );
    await svc.update('1001', { voicemail: null, displayName: null });
    expect((await psRows(db.pool, '1001')).endpoint).toMatchObject({ callerid: '<1001>', mailboxes: null });

    await svc.delete('1001');
    expect(await psRows(db.pool, '1001')).toEqual({ endpoint: undefined, auth: undefined, aor: undefined });
    expect(await svc.get('1001')).toBeNull();
    await expect(svc.delete('1001')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(svc.update('1001', { context: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a disabled extension has no ps_* rows; re-enabling restores them', async () => {
    await svc.create({ number: '1003', password: 'Secr3t-pass', enabled: false });
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
    await svc.update('1003', { enabled: true });
    expect((await psRows(db.pool, '1003')).endpoint).toMatchObject({ id: '1003' });
    await svc.update('1003', { enabled: false });
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
  });

  it('every validation error is typed and leaves nothing written', async () => {
    await svc.create({ number: '1001', password: 'Xk9-pQ2!vL' });
    const baseline = await countRows(db.pool);
    const cases: [unknown, RealtimeErrorCode][] = [
      [{ number: '10a1', password: 'Xk9-pQ2!vL' }, 'INVALID_NUMBER'],
      [{ number: '1', password: 'Xk9-pQ2!vL' }, 'INVALID_NUMBER'],
      [{ number: '12345678901', password: 'Xk9-pQ2!vL' }, 'INVALID_NUMBER'],
      [{ number: "1004'; DROP TABLE extensions; --", password: 'Xk9-pQ2!vL' }, 'INVALID_NUMBER'],
      [{ number: '1001', password: 'Other-pass1' }, 'DUPLICATE_NUMBER'],
      [{ number: '1004', password: '' }, 'WEAK_PASSWORD'],
      [{ number: '1004', password: 'short1' }, 'WEAK_PASSWORD'],
      [{ number: '1004', password: 'ab1004cdef' }, 'WEAK_PASSWORD'],
      [{ number: '1004', password: '77777777' }, 'WEAK_PASSWORD'],
      [{ number: '1004', password: '12345678' }, 'WEAK_PASSWORD'],
      [{ number: '1004', password: 'x'.repeat(129) }, 'FIELD_TOO_LONG'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', codecs: ['ulaw', 'mp3'] }, 'UNKNOWN_CODEC'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', displayName: 'n'.repeat(65) }, 'FIELD_TOO_LONG'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', displayName: 'Evil" <666>' }, 'INVALID_FIELD'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', context: 'c'.repeat(81) }, 'FIELD_TOO_LONG'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', context: "ctx'; --" }, 'INVALID_FIELD'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', voicemail: 'v'.repeat(81) }, 'FIELD_TOO_LONG'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', codecs: [] }, 'INVALID_FIELD'],
      [{ number: '1004', password: 'Xk9-pQ2!vL', extra: 1 }, 'INVALID_INPUT'],
      [{ number: 1004, password: 'Xk9-pQ2!vL' }, 'INVALID_INPUT'],
      [null, 'INVALID_INPUT'],
    ];
    for (const [input, code] of cases) {
      const err = await svc.create(input).catch((e: unknown) => e);
      expect(err, JSON.stringify(input)).toBeInstanceOf(RealtimeError);
      expect((err as RealtimeError).code, JSON.stringify(input)).toBe(code);
    }
    const updateCases: [unknown, RealtimeErrorCode][] = [
      [{ password: 'weak' }, 'WEAK_PASSWORD'],
      [{ codecs: ['ulaw', 'nope'] }, 'UNKNOWN_CODEC'],
      [{ displayName: 'x'.repeat(100) }, 'FIELD_TOO_LONG'],
      [{ number: '2000' }, 'INVALID_INPUT'],
      [{ password: 'Good-Passw0rd', codecs: ['bad'] }, 'UNKNOWN_CODEC'],
    ];
    for (const [input, code] of updateCases) {
      await expect(svc.update('1001', input), JSON.stringify(input)).rejects.toMatchObject({ code });
    }
    expect(await countRows(db.pool)).toEqual(baseline);
    // the half-valid update above must not have changed the password
    expect(await svc.password('1001')).toBe('Xk9-pQ2!vL');
    expect((await psRows(db.pool, '1001')).auth).toMatchObject({ password: 'Xk9-pQ2!vL' });
  });

  it('the password policy is configurable', async () => {
    const lax = new ExtensionService(db.pool, { policy: { passwordMinLength: 4, passwordRejectTrivial: false } });
    await expect(lax.create({ number: '1005', password: '1111' })).resolves.toMatchObject({ number: '1005' });
    await expect(lax.create({ number: '1006', password: 'abc' })).rejects.toMatchObject({ code: 'WEAK_PASSWORD' });
  });

  it('stores SQL metacharacters verbatim', async () => {
    const password = `p'; DROP TABLE ps_auths; --\\$$%_"`;
    const displayName = `O'Brien; DELETE FROM extensions -- 100% $$x$$`;
    await svc.create({ number: '1007', password, displayName });
    const ps = await psRows(db.pool, '1007');
    expect(ps.auth).toMatchObject({ password });
    expect(ps.endpoint).toMatchObject({ callerid: `"${displayName}" <1007>` });
    expect((await svc.get('1007'))?.displayName).toBe(displayName);
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 1, ps_auths: 1, ps_aors: 1 });
  });

  it('20 concurrent updates of one extension leave extensions and ps_* consistent', async () => {
    await svc.create({ number: '1008', password: 'Start-Passw0rd' });
    const pools = [db.pool, db.openPool(), db.openPool()];
    const services = pools.map((p) => new ExtensionService(p));
    const codecSets = [['ulaw'], ['alaw'], ['g722', 'ulaw'], ['opus']];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        services[i % services.length]!.update('1008', {
          password: `Concurrent-${i}-pw`,
          displayName: `Writer ${i}`,
          context: `ctx-${i}`,
          codecs: codecSets[i % codecSets.length]!,
        }),
      ),
    );
    const ext = await svc.get('1008');
    const password = await svc.password('1008');
    const winner = Number(/^Writer (\d+)$/.exec(ext?.displayName ?? '')?.[1]);
    expect(Number.isInteger(winner)).toBe(true);
    // every field comes from the same (last) writer, and ps_* mirrors exactly that row
    expect(password).toBe(`Concurrent-${winner}-pw`);
    expect(ext?.context).toBe(`ctx-${winner}`);
    expect(await psRows(db.pool, '1008')).toEqual(
      expectedPs({
        number: '1008',
        password,
        callerid: `"Writer ${winner}" <1008>`,
        context: `ctx-${winner}`,
        allow: codecSets[winner % codecSets.length]!.join(','),
      }),
    );
  });

  it('use after close throws InvalidStateError; close is idempotent', async () => {
    const s = new ExtensionService(db.pool);
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    await expect(s.get('1001')).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('lists with kind filter and keyset pagination', async () => {
    for (const n of ['1010', '1011', '1012']) await svc.create({ number: n, password: 'Xk9-pQ2!vL' });
    await svc.create({ number: '7000', password: 'Xk9-pQ2!vL', kind: 'pair' });
    expect((await svc.list()).map((e) => e.number)).toEqual(['1010', '1011', '1012', '7000']);
    expect((await svc.list({ kind: 'pair' })).map((e) => e.number)).toEqual(['7000']);
    expect((await svc.list({ after: '1010', limit: 2 })).map((e) => e.number)).toEqual(['1011', '1012']);
  });
});

describe('direct writes to extensions by another program', () => {
  const db = useTestDb();

  it('INSERT, UPDATE and DELETE straight into extensions keep ps_* right', async () => {
    await db.pool.query(
      `INSERT INTO extensions (number, password, display_name, context, codecs, voicemail)
       VALUES ('2001', 'Direct-pass1', 'Bob', 'direct', ARRAY['alaw'], '2001@default')`,
    );
    expect(await psRows(db.pool, '2001')).toEqual(
      expectedPs({
        number: '2001',
        password: 'Direct-pass1',
        callerid: '"Bob" <2001>',
        context: 'direct',
        allow: 'alaw',
        mailboxes: '2001@default',
      }),
    );
    await db.pool.query(`UPDATE extensions SET context = 'other', password = 'Direct-pass2' WHERE number = '2001'`);
    expect(await psRows(db.pool, '2001')).toMatchObject({
      endpoint: { context: 'other' },
      auth: { password: 'Direct-pass2' },
    });
    // renumbering moves the ps_* rows
    await db.pool.query(`UPDATE extensions SET number = '2002' WHERE number = '2001'`);
    expect(await psRows(db.pool, '2001')).toEqual({ endpoint: undefined, auth: undefined, aor: undefined });
    expect((await psRows(db.pool, '2002')).endpoint).toMatchObject({ id: '2002', aors: '2002', auth: '2002', callerid: '"Bob" <2002>' });
    await db.pool.query(`UPDATE extensions SET enabled = false WHERE number = '2002'`);
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
    await db.pool.query(`UPDATE extensions SET enabled = true WHERE number = '2002'`);
    expect(await countRows(db.pool)).toEqual({ extensions: 1, ps_endpoints: 1, ps_auths: 1, ps_aors: 1 });
    await db.pool.query(`DELETE FROM extensions WHERE number = '2002'`);
    expect(await countRows(db.pool)).toEqual({ extensions: 0, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
  });

  it('bulk statements (multi-row INSERT, UPDATE, renumber, DELETE) keep every ps_* row right', async () => {
    await db.pool.query(
      `INSERT INTO extensions (number, password, display_name, context)
       SELECT (3000 + i)::text, 'Bulk-pass-' || i, 'Bulk ' || i, 'bulk' FROM generate_series(0, 499) AS i`,
    );
    expect(await countRows(db.pool)).toEqual({ extensions: 500, ps_endpoints: 500, ps_auths: 500, ps_aors: 500 });
    await db.pool.query(`UPDATE extensions SET context = 'odd', codecs = ARRAY['g722'] WHERE number::int % 2 = 1`);
    await db.pool.query(`UPDATE extensions SET enabled = false WHERE number::int % 5 = 0`);
    // renumber two extensions in one statement: their rows must follow them
    await db.pool.query(`UPDATE extensions SET number = (number::int + 6000)::text WHERE number IN ('3001', '3003')`);
    expect(await findInconsistencies(db.pool)).toEqual([]);
    expect(await countRows(db.pool)).toEqual({ extensions: 500, ps_endpoints: 400, ps_auths: 400, ps_aors: 400 });
    expect(await psRows(db.pool, '9003')).toEqual(
      expectedPs({ number: '9003', password: 'Bulk-pass-3', callerid: '"Bulk 3" <9003>', context: 'odd', allow: 'g722' }),
    );
    expect(await psRows(db.pool, '3003')).toEqual({ endpoint: undefined, auth: undefined, aor: undefined });
    expect((await psRows(db.pool, '3010')).endpoint).toBeUndefined();
    await db.pool.query(`DELETE FROM extensions WHERE number ~ '^[39]'`);
    expect(await countRows(db.pool)).toEqual({ extensions: 0, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
  });

  it('a rolled-back direct write leaves ps_* untouched', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO extensions (number, password, context) VALUES ('2003', 'Direct-pass3', 'x')`);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await countRows(db.pool)).toEqual({ extensions: 0, ps_endpoints: 0, ps_auths: 0, ps_aors: 0 });
  });

  it('presence-only updates do not rewrite ps_* rows', async () => {
    await db.pool.query(`INSERT INTO extensions (number, password, context) VALUES ('2004', 'Direct-pass4', 'x')`);
    const before = await db.pool.query<{ x: string }>(`SELECT xmin::text AS x FROM ps_endpoints WHERE id = '2004'`);
    await db.pool.query(`UPDATE extensions SET status = 'online', last_registered_at = now() WHERE number = '2004'`);
    const after = await db.pool.query<{ x: string }>(`SELECT xmin::text AS x FROM ps_endpoints WHERE id = '2004'`);
    expect(after.rows[0]?.x).toBe(before.rows[0]?.x);
  });

  it('the database refuses a display name that would break the caller ID', async () => {
    await expect(
      db.pool.query(`INSERT INTO extensions (number, password, display_name, context) VALUES ('2005', 'pw123456', 'a"b', 'x')`),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
