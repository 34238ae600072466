import type { Pool } from 'pg';
import { InvalidStateError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { expireExtensions, noopCacheExpirer, type CacheExpirer } from './cache-expirer.js';
import { pgErrorCode, RealtimeError } from './errors.js';
import {
  validateCreate,
  validateNumber,
  validateUpdate,
  type Extension,
  type ExtensionKind,
  type ExtensionPatch,
} from './extension-schema.js';
import { resolveExtensionPolicy, type ExtensionPolicy } from './policy.js';
import { EXTENSION_COLUMNS, toExtension, type ExtensionRow } from './row.js';

const log = logger('realtime.extensions');

export interface ExtensionServiceOptions {
  policy?: Partial<ExtensionPolicy>;
  /** Called after each committed write (default: no-op, right when sorcery has no memory cache). */
  cacheExpirer?: CacheExpirer;
}

export interface ListOptions {
  kind?: ExtensionKind;
  /** Keyset pagination: numbers strictly after this one. */
  after?: string;
  /** Default 1000. */
  limit?: number;
}

/** Maps a validated patch key to its column; the only names ever put into UPDATE SQL. */
const PATCH_COLUMNS: Record<keyof ExtensionPatch, string> = {
  password: 'password',
  displayName: 'display_name',
  context: 'context',
  codecs: 'codecs',
  voicemail: 'voicemail',
  language: 'language',
  enabled: 'enabled',
};

/**
 * Create, update, delete, read extensions. The service writes only the
 * `extensions` row, in one statement; the database trigger (migration 003)
 * writes the three ps_* rows in the same transaction, so Asterisk never sees half
 * an extension and direct SQL writes by other programs get the same mapping.
 * The service does not own the pool.
 */
export class ExtensionService {
  readonly #pool: Pool;
  readonly #policy: ExtensionPolicy;
  readonly #expirer: CacheExpirer;
  #closed = false;

  constructor(pool: Pool, options: ExtensionServiceOptions = {}) {
    this.#pool = pool;
    this.#policy = resolveExtensionPolicy(options.policy);
    this.#expirer = options.cacheExpirer ?? noopCacheExpirer;
  }

  get policy(): ExtensionPolicy {
    return this.#policy;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops accepting calls; the pool stays open (its owner closes it). Idempotent. */
  close(): void {
    this.#closed = true;
  }

  async create(input: unknown): Promise<Extension> {
    this.#assertOpen();
    const rec = validateCreate(input, this.#policy);
    let row: ExtensionRow | undefined;
    try {
      const r = await this.#pool.query<ExtensionRow>(
        `INSERT INTO extensions (number, password, display_name, context, codecs, voicemail, language, enabled, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING ${EXTENSION_COLUMNS}`,
        [rec.number, rec.password, rec.displayName, rec.context, rec.codecs, rec.voicemail, rec.language, rec.enabled, rec.kind],
      );
      row = r.rows[0];
    } catch (err) {
      if (pgErrorCode(err) === '23505') {
        throw new RealtimeError('DUPLICATE_NUMBER', `extension ${rec.number} already exists`, 'number');
      }
      throw mapConstraintError(err);
    }
    if (!row) throw new Error('INSERT returned no row');
    log.info({ number: rec.number, kind: rec.kind, enabled: rec.enabled }, 'extension created');
    await expireExtensions(this.#expirer, [rec.number]);
    return toExtension(row);
  }

  async update(number: string, input: unknown): Promise<Extension> {
    this.#assertOpen();
    validateNumber(number, this.#policy);
    const patch = validateUpdate(number, input, this.#policy);
    const keys = Object.keys(patch) as (keyof ExtensionPatch)[];
    if (keys.length === 0) return this.#require(number);
    const sets = keys.map((k, i) => `${PATCH_COLUMNS[k]} = $${i + 2}`);
    let row: ExtensionRow | undefined;
    try {
      const r = await this.#pool.query<ExtensionRow>(
        `UPDATE extensions SET ${sets.join(', ')} WHERE number = $1 RETURNING ${EXTENSION_COLUMNS}`,
        [number, ...keys.map((k) => patch[k])],
      );
      row = r.rows[0];
    } catch (err) {
      throw mapConstraintError(err);
    }
    if (!row) throw notFound(number);
    log.info({ number, fields: keys }, 'extension updated');
    await expireExtensions(this.#expirer, [number]);
    return toExtension(row);
  }

  async delete(number: string): Promise<void> {
    this.#assertOpen();
    validateNumber(number, this.#policy);
    const r = await this.#pool.query('DELETE FROM extensions WHERE number = $1', [number]);
    if (r.rowCount !== 1) throw notFound(number);
    log.info({ number }, 'extension deleted');
    await expireExtensions(this.#expirer, [number]);
  }

  async get(number: string): Promise<Extension | null> {
    this.#assertOpen();
    const r = await this.#pool.query<ExtensionRow>(`SELECT ${EXTENSION_COLUMNS} FROM extensions WHERE number = $1`, [
      number,
    ]);
    const row = r.rows[0];
    return row ? toExtension(row) : null;
  }

  async list(options: ListOptions = {}): Promise<Extension[]> {
    this.#assertOpen();
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new RangeError('limit must be 1…100000');
    const r = await this.#pool.query<ExtensionRow>(
      `SELECT ${EXTENSION_COLUMNS} FROM extensions
        WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR number > $2)
        ORDER BY number LIMIT $3`,
      [options.kind ?? null, options.after ?? null, limit],
    );
    return r.rows.map(toExtension);
  }

  /** The SIP password, for operators provisioning a phone. Never logged. */
  async password(number: string): Promise<string> {
    this.#assertOpen();
    const r = await this.#pool.query<{ password: string }>('SELECT password FROM extensions WHERE number = $1', [number]);
    const row = r.rows[0];
    if (!row) throw notFound(number);
    return row.password;
  }

  async #require(number: string): Promise<Extension> {
    const ext = await this.get(number);
    if (!ext) throw notFound(number);
    return ext;
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('ExtensionService is closed');
  }
}

function notFound(number: string): RealtimeError {
  return new RealtimeError('NOT_FOUND', `extension ${number} does not exist`, 'number');
}

/** A CHECK or width violation means validation and schema disagree: report it typed, not as a crash. */
function mapConstraintError(err: unknown): unknown {
  const code = pgErrorCode(err);
  if (code === '22001') return new RealtimeError('FIELD_TOO_LONG', 'a value is longer than its column');
  if (code === '23514') return new RealtimeError('INVALID_FIELD', 'a value violates a database constraint');
  return err;
}
