import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmiFramer } from '../../../control/src/ami/framer.js';
import type { EventMap, TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { ExtensionStatus, PresenceChange, PresenceStore, PresenceUpdate } from '../../../control/src/realtime/presence-store.js';

const DATA = join(dirname(fileURLToPath(import.meta.url)), '../../data/ami');

export interface RecordedMessage {
  conn: string;
  kind: 'banner' | 'sent_action' | 'response' | 'event' | 'closed';
  rel_ms: number;
  raw?: string;
  fields?: Array<[string, string]>;
}

export interface RecordedChunk {
  conn: string;
  rel_ms: number;
  bytes: string;
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(join(DATA, path), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as T);
}

export function recordedMessages(scenario: 's7_ami' | 's7b_ami_failed_login_security_event' | 's8_realtime'): RecordedMessage[] {
  return readJsonl<RecordedMessage>(`${scenario}/ami_messages.jsonl`);
}

export function recordedChunks(scenario: 's7_ami' | 's7b_ami_failed_login_security_event'): RecordedChunk[] {
  return readJsonl<RecordedChunk>(`${scenario}/ami_raw_chunks.jsonl`);
}

/** The first recorded received message on `conn` whose raw text starts with `first` and has ActionID `actionId` (if given). */
export function findRecorded(scenario: 's7_ami' | 's7b_ami_failed_login_security_event' | 's8_realtime', first: string, actionId?: string): RecordedMessage {
  const found = recordedMessages(scenario).find(
    (m) => m.raw !== undefined && m.raw.startsWith(first) && (actionId === undefined || m.raw.includes(`\r\nActionID: ${actionId}\r\n`)),
  );
  if (!found) throw new Error(`no recorded message ${first} ${actionId ?? ''}`);
  return found;
}

export interface StoredPresence {
  status: ExtensionStatus;
  lastRegisteredAt: Date | null;
  lastRegisteredIp: string | null;
}

/** An in-memory PresenceStore with the semantics the interface documents (unknown numbers → null). */
export class MemoryPresenceStore implements PresenceStore {
  readonly rows = new Map<string, StoredPresence>();
  readonly updates: PresenceUpdate[] = [];
  failNext = 0;

  constructor(numbers: readonly string[], initial: ExtensionStatus = 'unknown') {
    for (const n of numbers) this.rows.set(n, { status: initial, lastRegisteredAt: null, lastRegisteredIp: null });
  }

  async apply(update: PresenceUpdate): Promise<PresenceChange | null> {
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('store unavailable');
    }
    this.updates.push(update);
    const row = this.rows.get(update.number);
    if (!row) return null;
    const ipChanged = update.status === 'online' && update.ip !== null && update.ip !== row.lastRegisteredIp;
    if (row.status === update.status && !ipChanged) return null;
    const previous = row.status;
    row.status = update.status;
    if (update.status === 'online') {
      row.lastRegisteredAt = update.at;
      if (update.ip !== null) row.lastRegisteredIp = update.ip;
    }
    return { number: update.number, previous, status: update.status, at: update.at, ip: update.ip, source: update.source };
  }

  async statuses(): Promise<Map<string, ExtensionStatus>> {
    await Promise.resolve();
    return new Map([...this.rows].map(([n, r]) => [n, r.status]));
  }
}

/** Polls `predicate` until true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with the arguments of the next `event` on a typed emitter. */
export function nextEvent<E extends EventMap, K extends keyof E & string>(emitter: TypedEmitter<E>, event: K, timeoutMs = 30_000): Promise<E[K]> {
  return new Promise<E[K]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
    emitter.once(event, (...args: E[K]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** A bare TCP AMI client for byte-level tests of the simulator: frames in arrival order, nothing interpreted. */
export class RawAmiClient {
  readonly #socket: Socket;
  readonly #framer = new AmiFramer();
  readonly #queue: string[] = [];
  readonly #closedPromise: Promise<void>;
  readonly chunks: string[] = [];
  #waiter: (() => void) | null = null;
  closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.chunks.push(chunk);
      for (const f of this.#framer.push(chunk)) this.#queue.push(f.raw);
      this.#waiter?.();
    });
    socket.on('error', () => undefined);
    this.#closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.#waiter?.();
        resolve();
      });
    });
  }

  static connect(port: number): Promise<RawAmiClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawAmiClient(socket));
      });
    });
  }

  send(raw: string): void {
    this.#socket.write(raw);
  }

  /** Frames received but not yet taken. */
  get queued(): readonly string[] {
    return this.#queue;
  }

  /** The next frame whose raw text starts with `prefix` (earlier non-matching frames are dropped). */
  async next(prefix = '', timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#queue.length > 0) {
        const raw = this.#queue.shift() as string;
        if (raw.startsWith(prefix)) return raw;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${prefix}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(prefix)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = null;
          resolve();
        };
      });
    }
  }

  waitClosed(): Promise<void> {
    return this.#closedPromise;
  }

  close(): Promise<void> {
    this.#socket.destroy();
    return this.#closedPromise;
  }
}

/** Keys of a raw message, in order. */
export function keysOf(raw: string): string[] {
  return raw
    .replace(/\r\n\r\n$/, '')
    .split('\r\n')
    .map((l) => l.slice(0, l.indexOf(':')));
}
