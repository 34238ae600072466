import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPgPool } from '../../control/src/realtime/db.js';
import { migrate } from '../../control/src/realtime/migrate.js';
import { provisionPairs } from '../../control/src/realtime/pairs.js';

/**
 * The soak's own database on a PostgreSQL server (`tandem_soak_<random>`): migrated, with the
 * pair extensions provisioned; `drop()` removes it. The soak reads the call records from it.
 */
export class SoakDatabase {
  readonly name: string;
  readonly url: string;
  readonly #adminUrl: string;
  readonly #pool: pg.Pool;

  private constructor(adminUrl: string, name: string) {
    this.#adminUrl = adminUrl;
    this.name = name;
    this.url = withDatabase(adminUrl, name);
    this.#pool = createPgPool({ connectionString: this.url, max: 2 });
  }

  static async create(adminUrl: string, pairs: { count: number; baseExtension: number }): Promise<SoakDatabase> {
    const name = `tandem_soak_${randomBytes(6).toString('hex')}`;
    await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
    const db = new SoakDatabase(adminUrl, name);
    try {
      await migrate(db.#pool);
      await provisionPairs(db.#pool, { count: pairs.count, baseExtension: pairs.baseExtension });
    } catch (err) {
      await db.drop();
      throw err;
    }
    return db;
  }

  /** The same database reached through another host and port (the soak's proxy). */
  urlVia(host: string, port: number): string {
    const url = new URL(this.url);
    url.hostname = host;
    url.port = String(port);
    return url.toString();
  }

  get serverAddress(): { host: string; port: number } {
    const url = new URL(this.url);
    return { host: url.hostname, port: Number(url.port || 5432) };
  }

  async callRecords(): Promise<number> {
    const result = await this.#pool.query<{ n: string }>('SELECT count(*) AS n FROM call_records');
    return Number(result.rows[0]?.n ?? 0);
  }

  async drop(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
    await adminQuery(this.#adminUrl, `DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
