/**
 * A bounded single-writer / single-reader ring of fixed-size PCM frames in a SharedArrayBuffer, so an
 * engine worker can hand a listener a pair's audio without a message per frame and without ever
 * waiting: the writer (the worker's tick) drops and counts a frame when the ring is full, the reader
 * (the main thread) takes whatever is there. The writer notifies after each frame, so a reader can
 * await the next one (`waitForFrames`, Atomics.waitAsync: no thread blocks) instead of polling on a
 * timer, which would add up to a polling period of delay to every frame. Nothing here blocks or
 * allocates per frame.
 */

type WaitAsync = (typedArray: Int32Array, index: number, value: number, timeoutMs?: number) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
/** ES2024's Atomics.waitAsync (in Node ≥ 16), typed here because the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Header slots (Int32): frames written, frames read, closed flag, frames dropped because the ring was full. */
const WRITTEN = 0;
const READ = 1;
const CLOSED = 2;
const DROPPED = 3;
const HEADER_INTS = 4;

export interface PcmRingLayout {
  buffer: SharedArrayBuffer;
  /** Samples per frame (20 ms at sampleRate). */
  frameSamples: number;
  sampleRate: number;
  /** Frames the ring holds. */
  capacity: number;
}

export function createPcmRing(sampleRate: number, frameSamples: number, capacity: number): PcmRingLayout {
  if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`ring capacity must be an integer ≥ 2, got ${capacity}`);
  const buffer = new SharedArrayBuffer(HEADER_INTS * 4 + capacity * frameSamples * 2);
  return { buffer, frameSamples, sampleRate, capacity };
}

class RingView {
  protected readonly header: Int32Array;
  protected readonly data: Int16Array;
  readonly frameSamples: number;
  readonly sampleRate: number;
  readonly capacity: number;

  constructor(layout: PcmRingLayout) {
    this.header = new Int32Array(layout.buffer, 0, HEADER_INTS);
    this.data = new Int16Array(layout.buffer, HEADER_INTS * 4, layout.capacity * layout.frameSamples);
    this.frameSamples = layout.frameSamples;
    this.sampleRate = layout.sampleRate;
    this.capacity = layout.capacity;
  }

  get closed(): boolean {
    return Atomics.load(this.header, CLOSED) === 1;
  }

  /** Frames the writer dropped because the reader was behind by a whole ring. */
  get dropped(): number {
    return Atomics.load(this.header, DROPPED);
  }

  /** Either side may end the tap: the writer when the pair closes, the reader when the listener leaves. */
  close(): void {
    Atomics.store(this.header, CLOSED, 1);
    // A reader waiting for frames learns of the end at once.
    Atomics.notify(this.header, WRITTEN);
  }
}

export class PcmRingWriter extends RingView {
  /** Copies one frame in (`pcm` holds exactly frameSamples samples); false when dropped (ring full or closed). */
  write(pcm: Int16Array): boolean {
    const header = this.header;
    if (Atomics.load(header, CLOSED) === 1) return false;
    const written = Atomics.load(header, WRITTEN);
    if (written - Atomics.load(header, READ) >= this.capacity) {
      Atomics.add(header, DROPPED, 1);
      return false;
    }
    this.data.set(pcm.subarray(0, this.frameSamples), (written % this.capacity) * this.frameSamples);
    Atomics.store(header, WRITTEN, written + 1);
    Atomics.notify(header, WRITTEN);
    return true;
  }
}

export class PcmRingReader extends RingView {
  /** Hands every frame waiting, oldest first, to `onFrame` (a view valid only during the call). Returns how many. */
  drain(onFrame: (pcm: Int16Array) => void): number {
    const header = this.header;
    const written = Atomics.load(header, WRITTEN);
    let read = Atomics.load(header, READ);
    const n = written - read;
    while (read < written) {
      const at = (read % this.capacity) * this.frameSamples;
      onFrame(this.data.subarray(at, at + this.frameSamples));
      read++;
      Atomics.store(header, READ, read);
    }
    return n;
  }

  /**
   * Resolves once a frame is waiting (at once if one already is), the ring is closed, or `timeoutMs`
   * passed. Never blocks the thread: the wait is Atomics.waitAsync on the written count.
   */
  waitForFrames(timeoutMs: number): Promise<void> {
    const header = this.header;
    const written = Atomics.load(header, WRITTEN);
    if (written !== Atomics.load(header, READ) || this.closed) return Promise.resolve();
    const wait = waitAsync(header, WRITTEN, written, timeoutMs);
    return wait.async ? wait.value.then(() => undefined) : Promise.resolve();
  }
}
