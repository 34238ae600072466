import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { AmiSimulator } from '../../../tools/asterisk-simulator/ami/index.js';
import { AsteriskSimulator } from '../../../tools/asterisk-simulator/ari/index.js';
import { createTestDb, type TestDb } from '../realtime/pg-test-db.js';
import { freePortRange } from '../../support/ports.js';

const DOC = fileURLToPath(new URL('../../../docs/http-api.md', import.meta.url));

/** The `| \`GET\` | \`/v1/…\` |` rows of the doc's route table. */
function documentedRoutes(): string[] {
  const rows: string[] = [];
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const match = /^\| `(GET|POST|PUT|PATCH|DELETE)` \| `([^`]+)` \|/.exec(line);
    if (match) rows.push(`${match[1]} ${match[2]}`);
  }
  return rows;
}

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb({ migrate: true });
});
afterAll(async () => {
  await db.drop();
});

describe('docs/http-api.md', () => {
  it('lists exactly the routes a fully configured node serves', async () => {
    const ari = await AsteriskSimulator.start({ username: 'tandem', password: 'ari-secret' });
    const ami = await AmiSimulator.start({ accounts: { tandem: 'ami-secret' }, endpoints: [] });
    const node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(100) },
      store: { poolSize: 2 },
      ari: { url: ari.ariUrl, username: 'tandem', password: 'ari-secret' },
      database: { url: db.url },
      ami: { port: ami.port, username: 'tandem', secret: 'ami-secret' },
      api: { token: 'doc-test-token-0123456789' },
    });
    try {
      const served = node.api!.routes.map((r) => `${r.method} ${r.url}`);
      const documented = documentedRoutes();
      expect(served.length).toBeGreaterThanOrEqual(12);
      expect([...documented].sort()).toEqual([...new Set(served)].sort());
      expect(new Set(documented).size).toBe(documented.length);
    } finally {
      await node.close();
      await ari.close();
      await ami.close();
    }
  });
});
