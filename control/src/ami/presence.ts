import { InvalidStateError, errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { ExtensionStatus, PresenceChange, PresenceStore, PresenceUpdate } from '../realtime/presence-store.js';
import type { AmiActionOptions, AmiActionResult, AmiConnectionEvents } from './connection.js';
import type { AmiField } from './message.js';
import { isDialable, listContacts, type ContactListing, type ListedContact } from './contacts.js';
import type { AmiEvent, ContactStatusValue, DeviceStateValue } from './events.js';
import type { PresenceSink } from './publisher.js';
import { contactUriIp } from './uri.js';

/** What the tracker needs from the AMI connection (`AmiConnection` fits; tests can drive a fake). */
export interface PresenceAmiSource {
  readonly loggedIn: boolean;
  on<K extends Extract<keyof AmiConnectionEvents, string>>(event: K, listener: (...args: AmiConnectionEvents[K]) => void): unknown;
  off<K extends Extract<keyof AmiConnectionEvents, string>>(event: K, listener: (...args: AmiConnectionEvents[K]) => void): unknown;
  action(name: string, fields?: Readonly<Record<string, string>> | readonly AmiField[], options?: AmiActionOptions): Promise<AmiActionResult>;
}

export interface PresenceTrackerOptions {
  ami: PresenceAmiSource;
  store: PresenceStore;
  /** Redis (or any) broadcast besides the `presence` event; failures are logged and counted, never fatal. */
  sink?: PresenceSink | null;
  /** Injected clock for `at`. */
  now?: () => Date;
  /** PJSIPShowContacts deadline. Default 10 000 ms. */
  snapshotTimeoutMs?: number;
  /** Retry delay after a failed snapshot while still logged in. Default 5000 ms. */
  snapshotRetryMs?: number;
}

export interface PresenceSnapshotResult {
  /** Numbers with a Reachable/NonQualified contact. */
  online: number;
  /** Updates actually applied (status differed from the store). */
  applied: number;
  /** Numbers left alone because an event for them arrived while the snapshot was running (the event is newer). */
  skipped: number;
}

export type PresenceTrackerEvents = {
  presence: [PresenceChange];
  snapshot: [PresenceSnapshotResult];
  error: [Error];
  listenererror: [string, unknown];
};

export interface PresenceTrackerStats {
  eventsHandled: number;
  eventsIgnored: number;
  updatesApplied: number;
  changes: number;
  storeErrors: number;
  publishErrors: number;
  snapshots: number;
  snapshotErrors: number;
}

/** ContactStatus values that mean "a registered contact that answers (or is not qualified)". */
const ONLINE_CONTACT: ReadonlySet<string> = new Set<ContactStatusValue>(['Reachable', 'NonQualified', 'Created', 'Updated']);

/** DeviceStateChange → status. Every in-use/ringing/hold state implies a live, registered device. */
export function deviceStateToStatus(state: DeviceStateValue): ExtensionStatus {
  switch (state) {
    case 'UNAVAILABLE':
      return 'offline';
    case 'INVALID':
    case 'UNKNOWN':
      return 'unknown';
    default:
      return 'online';
  }
}

interface Known {
  status: ExtensionStatus;
  ip: string | null;
}

/** uri → contact status, per extension number. */
type ContactTable = Map<string, string>;

/**
 * Turns AMI `ContactStatus` / `DeviceStateChange` events into presence
 * updates on the store, in arrival order per extension, and broadcasts every
 * change (`presence` event + the sink). On every login (`connected`,
 * `reconnected`) it reconciles against `PJSIPShowContacts`, so events missed
 * while disconnected cannot leave a stale status.
 *
 * The number is the PJSIP endpoint name (Tandem names endpoint, aor and auth
 * after the extension). Contacts are tracked per number, so an extension with
 * several contacts stays online until the last usable one goes.
 */
export class PresenceTracker extends TypedEmitter<PresenceTrackerEvents> {
  readonly #ami: PresenceAmiSource;
  readonly #store: PresenceStore;
  readonly #sink: PresenceSink | null;
  readonly #now: () => Date;
  readonly #snapshotTimeoutMs: number;
  readonly #snapshotRetryMs: number;
  readonly #log = logger('ami.presence');
  readonly #contacts = new Map<string, ContactTable>();
  readonly #known = new Map<string, Known>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** Numbers touched by an event while a snapshot is in progress. */
  #touchedDuringSnapshot: Set<string> | null = null;
  #snapshotRunning: Promise<PresenceSnapshotResult> | null = null;
  #snapshotAgain = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #started = false;
  #closed = false;
  readonly #stats: PresenceTrackerStats = {
    eventsHandled: 0,
    eventsIgnored: 0,
    updatesApplied: 0,
    changes: 0,
    storeErrors: 0,
    publishErrors: 0,
    snapshots: 0,
    snapshotErrors: 0,
  };

  readonly #onEvent = (event: AmiEvent): void => this.handleEvent(event);
  readonly #onLogin = (): void => {
    this.#requestSnapshot();
  };

  constructor(options: PresenceTrackerOptions) {
    super();
    this.#ami = options.ami;
    this.#store = options.store;
    this.#sink = options.sink ?? null;
    this.#now = options.now ?? (() => new Date());
    this.#snapshotTimeoutMs = options.snapshotTimeoutMs ?? 10_000;
    this.#snapshotRetryMs = options.snapshotRetryMs ?? 5000;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get stats(): Readonly<PresenceTrackerStats> {
    return { ...this.#stats };
  }

  /** Subscribes to the connection; snapshots at once if it is already logged in. Idempotent. */
  start(): void {
    if (this.#closed) throw new InvalidStateError('PresenceTracker is closed');
    if (this.#started) return;
    this.#started = true;
    this.#ami.on('event', this.#onEvent);
    this.#ami.on('connected', this.#onLogin);
    this.#ami.on('reconnected', this.#onLogin);
    if (this.#ami.loggedIn) this.#requestSnapshot();
  }

  /** Feeds one event (the connection does this after `start()`; public for replaying recorded events). */
  handleEvent(event: AmiEvent): void {
    if (this.#closed) return;
    const update = this.#toUpdate(event);
    if (!update) return;
    this.#stats.eventsHandled++;
    this.#touchedDuringSnapshot?.add(update.number);
    this.#enqueue(update.number, () => this.#applyDeduped(update));
  }

  /** Reconciles with `PJSIPShowContacts` now (serialised with any running snapshot). */
  snapshot(): Promise<PresenceSnapshotResult> {
    if (this.#closed) return Promise.reject(new InvalidStateError('PresenceTracker is closed'));
    if (this.#snapshotRunning) {
      this.#snapshotAgain = true;
      return this.#snapshotRunning;
    }
    const run = this.#runSnapshot().finally(() => {
      this.#snapshotRunning = null;
      if (this.#snapshotAgain && !this.#closed) {
        this.#snapshotAgain = false;
        this.#requestSnapshot();
      }
    });
    this.#snapshotRunning = run;
    return this.#track(run);
  }

  /** Resolves when every queued update and running snapshot has settled. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Unsubscribes and waits for queued work. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      this.#ami.off('event', this.#onEvent);
      this.#ami.off('connected', this.#onLogin);
      this.#ami.off('reconnected', this.#onLogin);
    }
    await this.idle();
  }

  #requestSnapshot(): void {
    if (this.#closed) return;
    this.snapshot().catch(() => {
      // Already logged and counted in #runSnapshot; a retry is scheduled there.
    });
  }

  #toUpdate(event: AmiEvent): PresenceUpdate | null {
    const at = this.#now();
    if (event.type === 'ContactStatus') {
      const number = event.endpointName || event.aor;
      if (!number) return this.#ignore(event, 'no endpoint name');
      const table = this.#contacts.get(number) ?? new Map<string, string>();
      if (event.contactStatus === 'Removed') table.delete(event.uri);
      else table.set(event.uri, event.contactStatus);
      if (table.size > 0) this.#contacts.set(number, table);
      else this.#contacts.delete(number);
      const { status, ip } = this.#statusFromContacts(table, event.uri);
      return { number, status, at, ip, source: 'ContactStatus' };
    }
    if (event.type === 'DeviceStateChange') {
      const m = /^PJSIP\/(.+)$/.exec(event.device);
      if (!m) return this.#ignore(event, 'not a PJSIP device');
      const number = m[1] as string;
      const status = deviceStateToStatus(event.state);
      const ip = status === 'online' ? this.#statusFromContacts(this.#contacts.get(number) ?? (new Map() as ContactTable), null).ip : null;
      return { number, status, at, ip, source: 'DeviceStateChange' };
    }
    return null;
  }

  #ignore(event: AmiEvent, reason: string): null {
    this.#stats.eventsIgnored++;
    this.#log.debug({ event: event.type, reason }, 'AMI event ignored for presence');
    return null;
  }

  /**
   * Online if any contact is usable; the IP is that of the event's contact when
   * it is usable, else of another usable contact, else (offline) of the event's
   * contact, which says which registration went away.
   */
  #statusFromContacts(table: ContactTable, eventUri: string | null): Known {
    const usable = [...table].filter(([, s]) => ONLINE_CONTACT.has(s)).map(([uri]) => uri);
    if (usable.length > 0) {
      const uri = eventUri !== null && usable.includes(eventUri) ? eventUri : (usable[usable.length - 1] as string);
      return { status: 'online', ip: contactUriIp(uri) };
    }
    if ([...table.values()].includes('Unknown')) return { status: 'unknown', ip: eventUri !== null ? contactUriIp(eventUri) : null };
    return { status: 'offline', ip: eventUri !== null ? contactUriIp(eventUri) : null };
  }

  /** Skips updates that would not change what this tracker last stored (a DeviceStateChange after a ContactStatus, say). */
  async #applyDeduped(update: PresenceUpdate): Promise<void> {
    const known = this.#known.get(update.number);
    if (known && known.status === update.status && (update.ip === null || update.ip === known.ip)) return;
    await this.#apply(update);
  }

  async #apply(update: PresenceUpdate): Promise<void> {
    let change: PresenceChange | null;
    try {
      change = await this.#store.apply(update);
    } catch (err) {
      this.#stats.storeErrors++;
      this.#log.error({ number: update.number, status: update.status, err: errorMessage(err) }, 'presence store update failed');
      this.safeEmit('error', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#stats.updatesApplied++;
    const prev = this.#known.get(update.number);
    this.#known.set(update.number, { status: update.status, ip: update.ip ?? prev?.ip ?? null });
    if (!change) return;
    this.#stats.changes++;
    this.#log.info({ number: change.number, previous: change.previous, status: change.status, ip: change.ip, source: change.source }, 'presence changed');
    this.safeEmit('presence', change);
    if (this.#sink) {
      try {
        await this.#sink.publish(change);
      } catch (err) {
        this.#stats.publishErrors++;
        this.#log.warn({ number: change.number, err: errorMessage(err) }, 'presence broadcast failed');
      }
    }
  }

  #enqueue(number: string, task: () => Promise<void>): void {
    const previous = this.#chains.get(number) ?? Promise.resolve();
    const next = previous.then(task).catch((err: unknown) => {
      this.#log.error({ number, err: errorMessage(err) }, 'presence task failed');
    });
    this.#chains.set(number, next);
    void this.#track(next).finally(() => {
      if (this.#chains.get(number) === next) this.#chains.delete(number);
    });
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    promise.then(
      () => this.#inflight.delete(promise),
      () => this.#inflight.delete(promise),
    );
    return promise;
  }

  async #runSnapshot(): Promise<PresenceSnapshotResult> {
    const touched = new Set<string>();
    this.#touchedDuringSnapshot = touched;
    try {
      const listing = await this.#listContacts();
      const stored = await this.#store.statuses();
      // Closed meanwhile: the listing may already be stale, and nobody listens any more.
      if (this.#closed) return { online: 0, applied: 0, skipped: 0 };
      const at = this.#now();
      const desired = new Map<string, Known>();
      for (const [number, table] of listing) {
        desired.set(number, this.#statusFromListing(table));
      }
      for (const [number, status] of stored) {
        if (status === 'online' && !listing.has(number)) desired.set(number, { status: 'offline', ip: null });
      }
      let applied = 0;
      let skipped = 0;
      const tasks: Promise<void>[] = [];
      for (const [number, want] of desired) {
        if (touched.has(number)) {
          skipped++;
          continue;
        }
        const table = listing.get(number);
        if (table) this.#contacts.set(number, new Map([...table].map(([uri, c]) => [uri, c.status])));
        else this.#contacts.delete(number);
        const known = this.#known.get(number);
        const storeStatus = stored.get(number);
        if (storeStatus === want.status && (want.status !== 'online' || known?.ip === want.ip)) {
          this.#known.set(number, { status: want.status, ip: want.ip ?? known?.ip ?? null });
          continue;
        }
        applied++;
        const update: PresenceUpdate = { number, status: want.status, at, ip: want.ip, source: 'snapshot' };
        tasks.push(
          new Promise<void>((resolve) => {
            this.#enqueue(number, async () => {
              // An event queued after this snapshot was taken is newer; it is applied after this one.
              try {
                await this.#apply(update);
              } finally {
                resolve();
              }
            });
          }),
        );
      }
      await Promise.all(tasks);
      const result: PresenceSnapshotResult = { online: [...desired.values()].filter((d) => d.status === 'online').length, applied, skipped };
      this.#stats.snapshots++;
      this.#log.info({ ...result, listed: listing.size }, 'presence snapshot reconciled');
      this.safeEmit('snapshot', result);
      return result;
    } catch (err) {
      // During close() the connection rejects the pending listing; that is expected, not an error.
      if (this.#closed) return { online: 0, applied: 0, skipped: 0 };
      this.#stats.snapshotErrors++;
      this.#log.warn({ err: errorMessage(err) }, 'presence snapshot failed');
      this.safeEmit('error', err instanceof Error ? err : new Error(String(err)));
      if (!this.#closed && this.#ami.loggedIn) {
        if (this.#retryTimer) clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = null;
          this.#requestSnapshot();
        }, this.#snapshotRetryMs);
      }
      throw err;
    } finally {
      if (this.#touchedDuringSnapshot === touched) this.#touchedDuringSnapshot = null;
    }
  }

  #statusFromListing(table: Map<string, ListedContact>): Known {
    for (const [, c] of table) if (isDialable(c)) return { status: 'online', ip: c.ip };
    for (const [, c] of table) if (c.status === 'Unknown') return { status: 'unknown', ip: c.ip };
    const first = table.values().next();
    return { status: 'offline', ip: first.done ? null : first.value.ip };
  }

  /** number → uri → {status, ip}. */
  #listContacts(): Promise<ContactListing> {
    return listContacts(this.#ami, { timeoutMs: this.#snapshotTimeoutMs });
  }
}
