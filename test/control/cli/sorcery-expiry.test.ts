import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withCacheExpirer } from '../../../control/src/cli/commands/cache-expirer-from-env.js';
import { ExtensionService } from '../../../control/src/realtime/index.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';

let db: TestDb;
let ami: AmiSimulator;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
  ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' } });
});
afterAll(async () => {
  await ami.close();
  await db.drop();
});

describe('sorcery memory caches are expired after CLI writes', () => {
  it('expires endpoint, aor and auth of a written extension when AMI is configured', async () => {
    const env = { AMI_USERNAME: 'tandem', AMI_SECRET: 'ami-secret', AMI_PORT: String(ami.port) };
    await withCacheExpirer((cacheExpirer) => new ExtensionService(db.pool, { cacheExpirer }).create({ number: '2001', password: 'Xk9-pQ2!vL' }), env);
    const expired = ami.sorceryExpirations.map((e) => JSON.stringify(e));
    for (const type of ['endpoint', 'aor', 'auth']) expect(expired.some((e) => e.includes(type) && e.includes('2001'))).toBe(true);
  });

  it('still writes (without expiry) when AMI is unreachable', async () => {
    const env = { AMI_USERNAME: 'tandem', AMI_SECRET: 'ami-secret', AMI_PORT: '1' };
    const created = await withCacheExpirer((cacheExpirer) => new ExtensionService(db.pool, { cacheExpirer }).create({ number: '2002', password: 'Xk9-pQ2!vL' }), env);
    expect(created.number).toBe('2002');
  });
});
