/**
 * A timer wheel for delayed sends on the generator's paced clock: entries
 * (stream, send buffer) due at an integer millisecond, released in due order
 * by `advance(nowMs)`. Preallocated: entries live in typed arrays threaded
 * into per-millisecond FIFO lists and a free list, so pushing and releasing
 * allocate nothing. Pure and synchronous (no timers, no sockets): the
 * generator core calls it from its own tick.
 */
export class DelayWheel {
  /** Slots: a power of two above the longest delay, so a due time never laps the cursor. */
  readonly slots: number;
  readonly capacity: number;
  readonly #mask: number;
  readonly #head: Int32Array;
  readonly #tail: Int32Array;
  readonly #next: Int32Array;
  readonly #stream: Int32Array;
  readonly #buffer: Int32Array;
  #free: number;
  #size = 0;
  /** Every slot below this millisecond has been released; this one may hold overdue entries. */
  #cursor: number;

  /**
   * @param maxDelayMs the longest delay push() accepts, relative to the cursor
   * @param capacity   entries held at once; push() refuses beyond it
   * @param startMs    the first millisecond advance() will release
   */
  constructor(maxDelayMs: number, capacity: number, startMs = 0) {
    if (!(maxDelayMs >= 0) || !Number.isFinite(maxDelayMs)) throw new RangeError(`maxDelayMs must be a finite number ≥ 0, got ${maxDelayMs}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    let slots = 2;
    while (slots < Math.ceil(maxDelayMs) + 2) slots *= 2;
    this.slots = slots;
    this.capacity = capacity;
    this.#mask = slots - 1;
    this.#head = new Int32Array(slots).fill(-1);
    this.#tail = new Int32Array(slots).fill(-1);
    this.#next = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#next[i] = i + 1 < capacity ? i + 1 : -1;
    this.#stream = new Int32Array(capacity);
    this.#buffer = new Int32Array(capacity);
    this.#free = 0;
    this.#cursor = Math.floor(startMs);
  }

  get size(): number {
    return this.#size;
  }

  get cursor(): number {
    return this.#cursor;
  }

  /**
   * Queues (stream, buffer) for millisecond floor(dueMs); a due time already
   * passed is released at the next advance(). Returns false, queuing nothing,
   * when the wheel is full or dueMs lies beyond the wheel's reach: the caller
   * sends at once and counts it.
   */
  push(dueMs: number, stream: number, buffer: number): boolean {
    const entry = this.#free;
    if (entry < 0) return false;
    let due = Math.floor(dueMs);
    if (due < this.#cursor) due = this.#cursor;
    if (due - this.#cursor >= this.slots) return false;
    this.#free = this.#next[entry]!;
    this.#next[entry] = -1;
    this.#stream[entry] = stream;
    this.#buffer[entry] = buffer;
    const slot = due & this.#mask;
    const tail = this.#tail[slot]!;
    if (tail < 0) this.#head[slot] = entry;
    else this.#next[tail] = entry;
    this.#tail[slot] = entry;
    this.#size++;
    return true;
  }

  /** Releases every entry due at or before floor(nowMs), oldest millisecond first, FIFO within one. Returns how many. */
  advance(nowMs: number, emit: (stream: number, buffer: number) => void): number {
    const until = Math.floor(nowMs);
    let released = 0;
    // The cursor's own slot stays open (it is processed again next time): an entry pushed
    // later with a due time already passed lands there and still goes at the next advance.
    if (this.#size > 0) {
      for (let ms = this.#cursor; ms <= until && this.#size > 0; ms++) {
        const slot = ms & this.#mask;
        let entry = this.#head[slot]!;
        this.#head[slot] = -1;
        this.#tail[slot] = -1;
        while (entry >= 0) {
          const next = this.#next[entry]!;
          this.#next[entry] = this.#free;
          this.#free = entry;
          this.#size--;
          released++;
          emit(this.#stream[entry]!, this.#buffer[entry]!);
          entry = next;
        }
      }
    }
    // An idle gap costs nothing: the cursor jumps.
    if (until > this.#cursor) this.#cursor = until;
    return released;
  }

  /** Releases everything still queued, in due order (the end of a run). */
  flush(emit: (stream: number, buffer: number) => void): number {
    return this.advance(this.#cursor + this.slots, emit);
  }
}
