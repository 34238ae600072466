import type { Pool } from 'pg';
import { InvalidStateError } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { asStatus } from './row.js';

export type ExtensionStatus = 'online' | 'offline' | 'unknown';

export interface PresenceUpdate {
  number: string;
  status: ExtensionStatus;
  at: Date;
  ip: string | null;
  source: 'ContactStatus' | 'DeviceStateChange' | 'snapshot';
}

export interface PresenceChange {
  number: string;
  previous: ExtensionStatus;
  status: ExtensionStatus;
  at: Date;
  ip: string | null;
  source: PresenceUpdate['source'];
}

export interface PresenceStore {
  /** Applies an update; returns the change if status/ip/time actually changed, null otherwise (unknown numbers → null, logged). 'online' sets last_registered_at/ip. */
  apply(update: PresenceUpdate): Promise<PresenceChange | null>;
  /** All numbers with their current status (for snapshot reconciliation). */
  statuses(): Promise<Map<string, ExtensionStatus>>;
}

const log = logger('realtime.presence');

const STATUSES: readonly ExtensionStatus[] = ['online', 'offline', 'unknown'];

/**
 * PresenceStore on the `extensions` table. One statement per update, under the
 * row lock: the event's `at` is compared with `status_at`, so an older event
 * arriving late (a reconnect snapshot racing a live ContactStatus) never
 * overwrites a newer status. Presence columns are outside the ps_* trigger, so
 * these writes never touch what Asterisk reads.
 */
export class PgPresenceStore implements PresenceStore {
  readonly #pool: Pool;
  #closed = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Idempotent; the pool belongs to the caller. */
  close(): void {
    this.#closed = true;
  }

  async apply(update: PresenceUpdate): Promise<PresenceChange | null> {
    if (this.#closed) throw new InvalidStateError('PgPresenceStore is closed');
    if (!STATUSES.includes(update.status)) throw new TypeError(`unknown status ${String(update.status)}`);
    if (!(update.at instanceof Date) || Number.isNaN(update.at.getTime())) throw new TypeError('at must be a valid Date');

    const r = await this.#pool.query<{
      previous: string;
      prev_registered_at: Date | null;
      prev_ip: string | null;
      updated: boolean;
      status: string | null;
      registered_at: Date | null;
      ip: string | null;
    }>(
      `WITH old AS (
         SELECT number, status, status_at, last_registered_at, last_registered_ip
           FROM extensions WHERE number = $1 FOR UPDATE
       ), upd AS (
         UPDATE extensions e SET
           status = $2::text,
           status_at = $3::timestamptz,
           -- a registration is a transition to online or a contact at a new IP; a snapshot
           -- of an online contact, or DeviceStateChange INUSE/NOT_INUSE during calls, is not
           last_registered_at = CASE
             WHEN $2::text = 'online' AND (old.status IS DISTINCT FROM 'online'
                  OR ($4::text IS NOT NULL AND $4::text IS DISTINCT FROM old.last_registered_ip)) THEN $3::timestamptz
             ELSE e.last_registered_at END,
           last_registered_ip = CASE
             WHEN $2::text = 'online' THEN coalesce($4::text, e.last_registered_ip)
             ELSE e.last_registered_ip END
           FROM old
          WHERE e.number = old.number AND (old.status_at IS NULL OR old.status_at <= $3::timestamptz)
          RETURNING e.status, e.last_registered_at, e.last_registered_ip
       )
       SELECT old.status AS previous, old.last_registered_at AS prev_registered_at, old.last_registered_ip AS prev_ip,
              (SELECT count(*) > 0 FROM upd) AS updated,
              (SELECT status FROM upd) AS status,
              (SELECT last_registered_at FROM upd) AS registered_at,
              (SELECT last_registered_ip FROM upd) AS ip
         FROM old`,
      [update.number, update.status, update.at, update.ip],
    );
    const row = r.rows[0];
    if (!row) {
      // A snapshot lists static pjsip.conf endpoints (trunks) too: expected, not worth a warning.
      const level = update.source === 'snapshot' ? 'debug' : 'warn';
      log[level]({ number: update.number, source: update.source }, 'presence for unknown extension ignored');
      return null;
    }
    if (!row.updated) {
      log.debug({ number: update.number, source: update.source }, 'stale presence event ignored');
      return null;
    }
    const previous = asStatus(row.previous);
    const changed =
      previous !== update.status ||
      row.ip !== row.prev_ip ||
      row.registered_at?.getTime() !== row.prev_registered_at?.getTime();
    if (!changed) return null;
    log.info({ number: update.number, previous, status: update.status, source: update.source }, 'presence changed');
    return {
      number: update.number,
      previous,
      status: update.status,
      at: update.at,
      ip: update.status === 'online' ? row.ip : update.ip,
      source: update.source,
    };
  }

  async statuses(): Promise<Map<string, ExtensionStatus>> {
    if (this.#closed) throw new InvalidStateError('PgPresenceStore is closed');
    const r = await this.#pool.query<{ number: string; status: string }>(
      'SELECT number, status FROM extensions ORDER BY number',
    );
    return new Map(r.rows.map((x) => [x.number, asStatus(x.status)]));
  }
}
