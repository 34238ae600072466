import { randomBytes } from 'node:crypto';
import { TimeoutError } from '../../../common/src/errors.js';
import { AmiActionError } from './errors.js';
import type { AmiMessage } from './message.js';

export interface AmiActionOptions {
  timeoutMs?: number;
}

/** The answer to an action: the `Response` message, plus the list events for EventList actions (without the `...Complete` marker). */
export interface AmiActionResult {
  response: AmiMessage;
  events: AmiMessage[];
  /** The closing `...Complete` event of an EventList action, or null. */
  complete: AmiMessage | null;
}

interface Pending {
  action: string;
  resolve: (result: AmiActionResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  response: AmiMessage | null;
  events: AmiMessage[];
}

/**
 * What became of a message offered to the table: 'answer' = it belonged to a pending action; 'orphan' = a response
 * no action waits for; 'event' = an unsolicited event, for listeners; 'unknown' = neither response nor event.
 */
export type AmiDispatch = 'answer' | 'orphan' | 'event' | 'unknown';

/**
 * The actions an AMI session has sent and not yet had answered, keyed by ActionID: each waits for its Response (and,
 * for EventList actions, the list events up to `...Complete`) or its timeout. IDs carry a random prefix so two Tandem
 * nodes on one Asterisk never take each other's answers.
 */
export class AmiActionTable {
  readonly #idPrefix = `tnd-${randomBytes(3).toString('hex')}`;
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;

  newActionId(): string {
    return `${this.#idPrefix}-${this.#nextId++}`;
  }

  /**
   * Registers action `name` under `id`, then calls `write` to put it on the wire; settles with its answer,
   * `AmiActionError` for `Response: Error`, `TimeoutError` after `timeoutMs`, or what rejectAll is given.
   */
  expect(id: string, name: string, timeoutMs: number, write: () => void): Promise<AmiActionResult> {
    return new Promise<AmiActionResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`AMI action ${name} got no complete answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { action: name, resolve, reject, timer, response: null, events: [] });
      write();
    });
  }

  /** Offers one message from the wire: settles or extends the pending action it answers, or says what it is. */
  dispatch(message: AmiMessage): AmiDispatch {
    const id = message.actionId;
    const pending = id !== undefined ? this.#pending.get(id) : undefined;
    const kind = message.kind;
    if (kind === 'response') {
      if (!pending || id === undefined) return 'orphan';
      if (message.get('Response')?.toLowerCase() === 'error') {
        this.#settle(id, pending, new AmiActionError(pending.action, (message.get('Message') ?? '').replace(/\n$/, '')));
        return 'answer';
      }
      pending.response = message;
      if (message.get('EventList')?.toLowerCase() !== 'start') this.#settle(id, pending, null);
      return 'answer';
    }
    if (kind === 'event') {
      if (pending && id !== undefined && pending.response) {
        if (message.get('EventList')?.toLowerCase() === 'complete') {
          this.#settle(id, pending, null, message);
        } else {
          pending.events.push(message);
        }
        return 'answer';
      }
      return 'event';
    }
    return 'unknown';
  }

  /** Rejects every pending action with `err` (the session they were sent on is gone). */
  rejectAll(err: Error): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(err);
    }
  }

  #settle(id: string, pending: Pending, err: Error | null, complete: AmiMessage | null = null): void {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve({ response: pending.response as AmiMessage, events: pending.events, complete });
  }
}
