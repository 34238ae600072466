/**
 * The inbound side of a streaming session, as a pure synchronous structure: a
 * bounded ring of PCM samples (at the session rate) waiting to be played, and
 * the marks placed between them. No sockets, no timers, so it is tested alone.
 *
 * Positions are absolute sample counts since the queue was made (`written`,
 * `read`); a mark sits at the `written` position when it arrived and is
 * reached when `read` passes it. Overflow drops the oldest samples: the
 * listener hears the newest speech, late rather than never, and dropped audio
 * counts as played for the marks (it will never be heard, so waiting for it
 * would hold the mark forever).
 */
export class PlaybackQueue {
  readonly capacity: number;
  readonly #ring: Int16Array;
  #head = 0; // ring index of the oldest queued sample
  #length = 0;
  #written = 0;
  #read = 0;
  #droppedOverflow = 0;
  #droppedCleared = 0;
  // Marks in arrival order; positions never decrease, so the first is always the next due.
  readonly #markNames: string[] = [];
  readonly #markPositions: number[] = [];

  constructor(capacitySamples: number) {
    if (!Number.isInteger(capacitySamples) || capacitySamples <= 0) {
      throw new RangeError(`PlaybackQueue capacity must be a positive integer, got ${capacitySamples}`);
    }
    this.capacity = capacitySamples;
    this.#ring = new Int16Array(capacitySamples);
  }

  /** Samples waiting to be played. */
  get length(): number {
    return this.#length;
  }
  /** Samples dropped because the queue was full (oldest first). */
  get droppedOverflow(): number {
    return this.#droppedOverflow;
  }
  /** Samples dropped by clear(). */
  get droppedCleared(): number {
    return this.#droppedCleared;
  }
  get pendingMarks(): number {
    return this.#markNames.length;
  }

  /**
   * Appends `byteLength` bytes (even) of little-endian s16 PCM from src at
   * byteOffset. Byte-wise so the source needs no alignment and nothing is
   * allocated. Returns samples appended. RangeError for an odd length or a short src.
   */
  pushS16LE(src: Uint8Array, byteOffset: number, byteLength: number): number {
    if (byteLength % 2 !== 0) throw new RangeError(`PCM s16le length must be even, got ${byteLength} bytes`);
    if (byteOffset < 0 || byteOffset + byteLength > src.length) {
      throw new RangeError(`source has ${src.length} bytes, need ${byteOffset + byteLength}`);
    }
    let samples = byteLength >> 1;
    let p = byteOffset;
    if (samples > this.capacity) {
      // Only the newest `capacity` samples can survive; skip the rest up front.
      const skip = samples - this.capacity;
      this.#dropOldest(this.#length);
      this.#droppedOverflow += skip;
      this.#written += skip;
      this.#read += skip;
      p += skip * 2;
      samples = this.capacity;
    } else if (this.#length + samples > this.capacity) {
      this.#dropOldest(this.#length + samples - this.capacity);
    }
    const ring = this.#ring;
    let tail = (this.#head + this.#length) % this.capacity;
    for (let i = 0; i < samples; i++) {
      // (hi << 24) >> 16 sign-extends the high byte.
      ring[tail] = ((src[p + 1]! << 24) >> 16) | src[p]!;
      p += 2;
      if (++tail === this.capacity) tail = 0;
    }
    this.#length += samples;
    this.#written += samples;
    return samples;
  }

  /** Places a mark after everything queued so far. */
  addMark(name: string): void {
    this.#markNames.push(name);
    this.#markPositions.push(this.#written);
  }

  /**
   * Moves up to `count` samples into dst[offset..]. Returns how many were
   * available (the rest of dst is untouched).
   */
  read(dst: Int16Array, offset: number, count: number): number {
    if (offset < 0 || offset + count > dst.length) {
      throw new RangeError(`destination has ${dst.length} samples, need ${offset + count}`);
    }
    const n = Math.min(count, this.#length);
    const ring = this.#ring;
    let head = this.#head;
    for (let i = 0; i < n; i++) {
      dst[offset + i] = ring[head]!;
      if (++head === this.capacity) head = 0;
    }
    this.#head = head;
    this.#length -= n;
    this.#read += n;
    return n;
  }

  /** The next mark whose audio has all been played (or dropped), removed from the queue; undefined if none is due. */
  takeReachedMark(): string | undefined {
    const position = this.#markPositions[0];
    if (position === undefined || position > this.#read) return undefined;
    this.#markPositions.shift();
    return this.#markNames.shift();
  }

  /** Drops all queued audio; every pending mark becomes reached (its audio will never play). Returns samples dropped. */
  clear(): number {
    const n = this.#length;
    this.#droppedCleared += n;
    this.#read += n;
    this.#head = 0;
    this.#length = 0;
    return n;
  }

  /** Forgets pending marks without reaching them (their session is gone). Returns how many. */
  discardMarks(): number {
    const n = this.#markNames.length;
    this.#markNames.length = 0;
    this.#markPositions.length = 0;
    return n;
  }

  #dropOldest(n: number): void {
    this.#head = (this.#head + n) % this.capacity;
    this.#length -= n;
    this.#read += n;
    this.#droppedOverflow += n;
  }
}
