/**
 * A bounded single-writer / single-reader ring of fixed-size PCM frames in a SharedArrayBuffer, so an
 * engine worker can hand a listener a pair's audio without a message per frame and without ever
 * waiting: the writer (the worker's tick) drops and counts a frame when the ring is full, the reader
 * (the main thread) takes whatever is there when it polls. Nothing here blocks or allocates per frame.
 */

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
}
