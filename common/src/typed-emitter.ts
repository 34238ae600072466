import { EventEmitter } from 'node:events';

/**
 * An EventEmitter typed by an event map. `safeEmit` catches a throwing listener
 * and reports it on `listenererror` so one bad subscriber cannot break the emitter
 * (the pattern mediasoup calls safeEmit).
 */
export type EventMap = Record<string, unknown[]>;

export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }

  /** Emits to every listener; a listener that throws is reported, not propagated. */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.#emitter.listeners(event) as Array<(...a: E[K]) => void>;
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (err) {
        if (event !== 'listenererror') this.#emitter.emit('listenererror', event, err);
      }
    }
    return listeners.length > 0;
  }
}
