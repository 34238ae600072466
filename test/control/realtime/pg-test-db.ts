import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { Pool } from 'pg';
import { createPgPool } from '../../../control/src/realtime/db.js';
import { migrate } from '../../../control/src/realtime/migrate.js';

const ADMIN_URL = process.env['TANDEM_TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDb {
  readonly name: string;
  readonly url: string;
  readonly pool: Pool;
  /** Extra pools opened by a test, closed by drop(). */
  openPool(): Pool;
  drop(): Promise<void>;
}

/** A fresh database `tandem_test_<random>`, migrated unless told not to; drop() removes it. */
export async function createTestDb(options: { migrate?: boolean } = {}): Promise<TestDb> {
  const name = `tandem_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const pools: Pool[] = [];
  const openPool = (): Pool => {
    const p = createPgPool({ connectionString: url, max: 25, statementTimeoutMs: 60_000 });
    pools.push(p);
    return p;
  };
  const pool = openPool();
  if (options.migrate !== false) await migrate(pool);
  return {
    name,
    url,
    pool,
    openPool,
    async drop() {
      await Promise.all(pools.splice(0).map((p) => p.end()));
      const a = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

/**
 * A test database for the enclosing describe block: created (migrated) before
 * its tests, dropped after them, and with `emptyBeforeEach` every extension
 * removed before each test. The returned object is usable once the hooks ran.
 */
export function useTestDb(options: { migrate?: boolean; emptyBeforeEach?: boolean } = {}): TestDb {
  let db: TestDb | undefined;
  const current = (): TestDb => {
    if (!db) throw new Error('the test database is created in beforeAll: use it inside tests or hooks');
    return db;
  };
  beforeAll(async () => {
    db = await createTestDb(options.migrate === undefined ? {} : { migrate: options.migrate });
  });
  afterAll(async () => {
    await db?.drop();
  });
  if (options.emptyBeforeEach) {
    beforeEach(async () => {
      await current().pool.query('DELETE FROM extensions');
    });
  }
  return {
    get name() {
      return current().name;
    },
    get url() {
      return current().url;
    },
    get pool() {
      return current().pool;
    },
    openPool: () => current().openPool(),
    drop: () => current().drop(),
  };
}

export interface PsRows {
  endpoint: Record<string, unknown> | undefined;
  auth: Record<string, unknown> | undefined;
  aor: Record<string, unknown> | undefined;
}

/** The three ps_* rows of one id, as Asterisk would read them (enums as strings). */
export async function psRows(pool: Pool, id: string): Promise<PsRows> {
  const [e, a, o] = await Promise.all([
    pool.query(
      `SELECT id, transport, aors, auth, context, disallow, allow, direct_media::text, dtmf_mode::text, callerid,
              mailboxes, rtp_symmetric::text, force_rport::text, rewrite_contact::text FROM ps_endpoints WHERE id = $1`,
      [id],
    ),
    pool.query('SELECT id, auth_type::text, username, password FROM ps_auths WHERE id = $1', [id]),
    pool.query(
      'SELECT id, max_contacts, remove_existing::text, qualify_frequency FROM ps_aors WHERE id = $1',
      [id],
    ),
  ]);
  return { endpoint: e.rows[0], auth: a.rows[0], aor: o.rows[0] };
}

export async function countRows(pool: Pool): Promise<Record<string, number>> {
  const r = await pool.query<{ t: string; n: string }>(
    `SELECT 'extensions' AS t, count(*) AS n FROM extensions
     UNION ALL SELECT 'ps_endpoints', count(*) FROM ps_endpoints
     UNION ALL SELECT 'ps_auths', count(*) FROM ps_auths
     UNION ALL SELECT 'ps_aors', count(*) FROM ps_aors`,
  );
  return Object.fromEntries(r.rows.map((x) => [x.t, Number(x.n)]));
}

/** What the mapping must produce for an enabled extension; tests compare against it. */
export function expectedPs(e: {
  number: string;
  password: string;
  callerid: string;
  context: string;
  allow: string;
  mailboxes?: string | null;
  transport?: string;
  qualifyFrequency?: number;
}): PsRows {
  return {
    endpoint: {
      id: e.number,
      transport: e.transport ?? 'transport-udp',
      aors: e.number,
      auth: e.number,
      context: e.context,
      disallow: 'all',
      allow: e.allow,
      direct_media: 'no',
      dtmf_mode: 'rfc4733',
      callerid: e.callerid,
      mailboxes: e.mailboxes ?? null,
      rtp_symmetric: 'yes',
      force_rport: 'yes',
      rewrite_contact: 'yes',
    },
    auth: { id: e.number, auth_type: 'userpass', username: e.number, password: e.password },
    aor: { id: e.number, max_contacts: 1, remove_existing: 'yes', qualify_frequency: e.qualifyFrequency ?? 30 },
  };
}
