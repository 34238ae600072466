/**
 * The recorder's audio memory: an interleaved 16-bit ring of two blocks with one write cursor per
 * channel. Channels are filled independently (each direction's tick writes its own two); a block is
 * handed on (`onBlock`) once every channel has passed its end. No channel may run more than a block
 * ahead of the slowest one — the older half must be complete before it is reused — so a channel left
 * behind is padded with silence (counted in `paddedFrames`) rather than holding the file back.
 */
export class InterleavedRing {
  readonly channels: number;
  readonly blockFrames: number;
  readonly #ringFrames: number;
  readonly #ring: Int16Array;
  readonly #cursor: number[];
  readonly #onBlock: (start: number, frames: number) => void;
  /** Frames before this have been handed on. */
  #emitted = 0;
  #paddedFrames = 0;

  /** `onBlock(start, frames)`: frames [start, start + frames) are complete; read them with `bytesAt` before the next put. */
  constructor(channels: number, blockFrames: number, onBlock: (start: number, frames: number) => void) {
    this.channels = channels;
    this.blockFrames = blockFrames;
    this.#ringFrames = 2 * blockFrames;
    this.#ring = new Int16Array(this.#ringFrames * channels);
    this.#cursor = new Array<number>(channels).fill(0);
    this.#onBlock = onBlock;
  }

  get byteLength(): number {
    return this.#ring.byteLength;
  }

  get paddedFrames(): number {
    return this.#paddedFrames;
  }

  get emitted(): number {
    return this.#emitted;
  }

  /** Appends n frames of channel c (null: silence), a block at most at a time. */
  put(c: number, src: Int16Array | null, n: number): void {
    const block = this.blockFrames;
    for (let off = 0; off < n; off += block) this.#putChunk(c, src, off, Math.min(block, n - off));
  }

  minCursor(): number {
    let min = Infinity;
    for (const at of this.#cursor) if (at < min) min = at;
    return min;
  }

  maxCursor(): number {
    let max = 0;
    for (const at of this.#cursor) if (at > max) max = at;
    return max;
  }

  /** The tail at close: every channel brought to the furthest with silence; returns that end. Nothing is handed on. */
  alignToMax(): number {
    const end = this.maxCursor();
    for (let k = 0; k < this.channels; k++) {
      this.#fill(k, this.#cursor[k]!, end, null, 0);
      this.#cursor[k] = end;
    }
    return end;
  }

  /** Marks frames up to `to` as handed on (the caller emitted them itself: the tail at close). */
  advanceEmitted(to: number): void {
    this.#emitted = to;
  }

  /** The bytes of frames [start, start + frames), which must lie within one ring half (as blocks do). */
  bytesAt(start: number, frames: number): Buffer {
    const blockAlign = this.channels * 2;
    const offset = (start % this.#ringFrames) * blockAlign;
    return Buffer.from(this.#ring.buffer, this.#ring.byteOffset + offset, frames * blockAlign);
  }

  #putChunk(c: number, src: Int16Array | null, srcOffset: number, n: number): void {
    const cursor = this.#cursor;
    const start = cursor[c]!;
    const floor = start + n - this.blockFrames;
    for (let k = 0; k < this.channels; k++) {
      const at = cursor[k]!;
      if (k !== c && at < floor) {
        this.#fill(k, at, floor, null, 0);
        this.#paddedFrames += floor - at;
        cursor[k] = floor;
      }
    }
    this.#emitCompleted();
    this.#fill(c, start, start + n, src, srcOffset);
    cursor[c] = start + n;
    this.#emitCompleted();
  }

  #fill(c: number, from: number, to: number, src: Int16Array | null, srcOffset: number): void {
    const ring = this.#ring;
    const channels = this.channels;
    const wrap = this.#ringFrames * channels;
    let idx = (from % this.#ringFrames) * channels + c;
    for (let f = from, s = srcOffset; f < to; f++, s++) {
      ring[idx] = src === null ? 0 : src[s]!;
      idx += channels;
      if (idx >= wrap) idx -= wrap;
    }
  }

  #emitCompleted(): void {
    const min = this.minCursor();
    while (min - this.#emitted >= this.blockFrames) {
      this.#onBlock(this.#emitted, this.blockFrames);
      this.#emitted += this.blockFrames;
    }
  }
}
