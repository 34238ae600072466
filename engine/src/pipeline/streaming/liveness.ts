/**
 * The application-level liveness check of tandem.media.v1 (docs/media-streaming-protocol.md §6):
 * for one session, a `ping` with a fresh id every `intervalMs`, and a stall when the oldest
 * unanswered ping has had no `pong` for `timeoutMs`. A WebSocket ping cannot see this: the socket
 * layer answers it even when the service's message logic is stuck.
 *
 * The stage starts pinging when `started` lists the feature, or at once on a new connection to a
 * service whose previous session listed it: a service that hangs before it says hello is as dead
 * as one that stops answering pings, and one whose `started` was lost but that answers pings is not.
 *
 * One instance per session; stop() cancels everything and is idempotent. Timers come from
 * `timers` so tests can drive them; the check never reads a clock itself.
 */

export interface LivenessTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: LivenessTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LivenessOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Sends `ping` with this id on the session's socket. */
  sendPing: (id: number) => void;
  /** The session is stalled; called at most once per instance, after which the check is stopped. */
  onStall: (detail: string) => void;
  timers?: LivenessTimers;
}

export type PongResult = 'matched' | 'unmatched';

export class LivenessCheck {
  readonly #o: LivenessOptions;
  readonly #timers: LivenessTimers;
  #nextId = 1;
  /** Unanswered ping ids, oldest first, each with its deadline timer. */
  readonly #pending = new Map<number, unknown>();
  #interval: unknown = null;
  #stopped = false;

  constructor(options: LivenessOptions) {
    this.#o = options;
    this.#timers = options.timers ?? nodeTimers;
  }

  /** Starts pinging (no-op if already). */
  begin(): void {
    if (this.#stopped || this.#interval !== null) return;
    this.#interval = this.#timers.setInterval(() => this.#ping(), this.#o.intervalMs);
  }

  /** `started` came: it says whether the service supports pings (false stops them for good). */
  started(pinging: boolean): void {
    if (pinging) this.begin();
    else this.stop();
  }

  /**
   * A `pong` came. It answers its ping and every older one (a service answers in order; one that
   * skipped an answer is still alive). An id never sent, or already answered, is `unmatched`.
   */
  pong(id: number): PongResult {
    if (!this.#pending.has(id)) return 'unmatched';
    for (const [pending, timer] of this.#pending) {
      if (pending > id) break;
      this.#timers.clearTimeout(timer);
      this.#pending.delete(pending);
    }
    return 'matched';
  }

  /** Unanswered pings right now. */
  get outstanding(): number {
    return this.#pending.size;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#interval !== null) this.#timers.clearInterval(this.#interval);
    this.#interval = null;
    for (const timer of this.#pending.values()) this.#timers.clearTimeout(timer);
    this.#pending.clear();
  }

  #ping(): void {
    if (this.#stopped) return;
    const id = this.#nextId++;
    const deadline = this.#timers.setTimeout(() => {
      if (this.#pending.has(id)) this.#stall(`no pong to ping ${id} within ${this.#o.timeoutMs} ms`);
    }, this.#o.timeoutMs);
    this.#pending.set(id, deadline);
    this.#o.sendPing(id);
  }

  #stall(detail: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#o.onStall(detail);
  }
}
