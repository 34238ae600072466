import type { MessagePort } from 'node:worker_threads';
import { InvalidStateError, TimeoutError } from '../../../common/src/errors.js';
import { EngineError, type EngineErrorCode } from '../session/errors.js';
import type { ShardErrorPayload, ShardMessage, ShardNotification, ShardRequestBody } from './protocol.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  type: string;
}

const ENGINE_CODES = new Set<EngineErrorCode>([
  'UNKNOWN_PAIR',
  'PAIR_EXISTS',
  'INVALID_PAIR',
  'PORT_RANGE_EXHAUSTED',
  'WORKER_CRASHED',
  'ENGINE_CLOSED',
  'RECORDING_DISABLED',
  'WRONG_TRANSPORT',
  'MEDIA_CONNECT_FAILED',
  'REMOTE_IN_USE',
]);

/** Rebuilds a worker-side error on this side so callers can branch on class and code. */
function reviveError(payload: ShardErrorPayload): Error {
  if (payload.name === 'EngineError' && payload.code && ENGINE_CODES.has(payload.code as EngineErrorCode)) {
    return new EngineError(payload.code as EngineErrorCode, payload.message);
  }
  if (payload.name === 'TypeError') return new TypeError(payload.message);
  if (payload.name === 'RangeError') return new RangeError(payload.message);
  const err = new Error(payload.message);
  err.name = payload.name;
  return err;
}

/**
 * The main thread's end of one shard's MessagePort: typed requests, one
 * response each, a deadline per request, and everything pending rejected when
 * the channel closes (shutdown or crash).
 *
 * A request may be sent before the shard said `ready` (a restarted shard is
 * placed at once): the port queues it until the worker listens, so its deadline
 * is what is left of the start deadline plus its own, not the short request
 * timeout that a slow thread start alone would use up.
 */
export class ShardClient {
  readonly shard: number;
  readonly #port: MessagePort;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #onNotification: (n: ShardNotification) => void;
  /** performance.now() by which the shard must have said ready (the engine closes it otherwise). */
  readonly #startDeadline: number;
  #ready = false;
  #nextId = 1;
  #closed = false;

  constructor(shard: number, port: MessagePort, timeoutMs: number, onNotification: (n: ShardNotification) => void, startTimeoutMs = 0) {
    this.shard = shard;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    this.#startDeadline = performance.now() + startTimeoutMs;
    this.#onNotification = onNotification;
    port.on('message', this.#onMessage);
    port.on('close', () => this.close(new EngineError('WORKER_CRASHED', `shard ${shard} channel closed`)));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The shard said ready: it is listening to its port. */
  get ready(): boolean {
    return this.#ready;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  request<T>(body: ShardRequestBody, timeoutMs = this.#timeoutMs): Promise<T> {
    if (this.#closed) return Promise.reject(new InvalidStateError(`shard ${this.shard} is closed`));
    const id = this.#nextId++;
    const starting = this.#ready ? 0 : Math.max(0, Math.ceil(this.#startDeadline - performance.now()));
    const waitMs = starting + timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`shard ${this.shard} did not answer ${body.type} within ${waitMs} ms${starting > 0 ? ' (sent while it was starting)' : ''}`));
      }, waitMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, type: body.type });
      this.#port.postMessage({ ...body, id });
    });
  }

  /** Rejects everything pending with `reason` and stops listening. Idempotent. */
  close(reason: Error = new InvalidStateError(`shard ${this.shard} closed`)): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.off('message', this.#onMessage);
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(reason);
      this.#pending.delete(id);
    }
    this.#port.close();
  }

  readonly #onMessage = (message: ShardMessage): void => {
    if (message.kind !== 'response') {
      if (message.kind === 'ready') this.#ready = true;
      this.#onNotification(message);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return; // answered after its deadline: the caller has moved on
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(reviveError(message.error));
  };
}
