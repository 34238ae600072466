/**
 * Fixed storage for buffered frames, indexed by extended (unwrapped) sequence
 * number modulo a power-of-two size. Struct-of-arrays so a push or pop writes a
 * few typed-array cells and one reference: nothing is allocated per packet.
 *
 * The ring keeps a reference to each payload's bytes (no copy). The caller keeps
 * every stored sequence inside a window smaller than `size`, so two live frames
 * never share a slot.
 */
export class FrameRing {
  readonly size: number;
  readonly #mask: number;
  /** Extended sequence held by each slot; -1 when empty (extended sequences are never negative). */
  readonly #seq: Float64Array;
  readonly #timestamp: Uint32Array;
  readonly #marker: Uint8Array;
  readonly #buffer: Array<Uint8Array | null>;
  readonly #offset: Int32Array;
  readonly #length: Int32Array;
  /** When each frame arrived (the caller's clock), so playout can tell how long a frame waited. */
  readonly #arrival: Float64Array;
  /** How late each frame arrived against its stream's timing (ArrivalLateness). */
  readonly #lateness: Float32Array;
  /** 1 once an early reader (JitterBuffer.readEarly) has had the frame, so playout does not hand it over twice. */
  readonly #read: Uint8Array;
  #count = 0;

  constructor(minSlots: number) {
    let size = 1;
    while (size < minSlots) size *= 2;
    this.size = size;
    this.#mask = size - 1;
    this.#seq = new Float64Array(size).fill(-1);
    this.#timestamp = new Uint32Array(size);
    this.#marker = new Uint8Array(size);
    this.#buffer = new Array<Uint8Array | null>(size).fill(null);
    this.#offset = new Int32Array(size);
    this.#length = new Int32Array(size);
    this.#arrival = new Float64Array(size);
    this.#lateness = new Float32Array(size);
    this.#read = new Uint8Array(size);
  }

  /** Frames currently stored. */
  get count(): number {
    return this.#count;
  }

  #slot(ext: number): number {
    // `&` reduces any safe integer modulo 2^32 exactly, so the low bits are right for every extended sequence.
    return ext & this.#mask;
  }

  has(ext: number): boolean {
    return this.#seq[this.#slot(ext)] === ext;
  }

  put(ext: number, timestamp: number, marker: boolean, buffer: Uint8Array, offset: number, length: number, arrivalMs: number, latenessMs: number): void {
    const i = this.#slot(ext);
    if (this.#seq[i] === -1) this.#count++;
    this.#seq[i] = ext;
    this.#timestamp[i] = timestamp;
    this.#marker[i] = marker ? 1 : 0;
    this.#buffer[i] = buffer;
    this.#offset[i] = offset;
    this.#length[i] = length;
    this.#arrival[i] = arrivalMs;
    this.#lateness[i] = latenessMs;
    this.#read[i] = 0;
  }

  /** The following accessors require `has(ext)`. */
  timestampOf(ext: number): number {
    return this.#timestamp[this.#slot(ext)] ?? 0;
  }

  markerOf(ext: number): boolean {
    return this.#marker[this.#slot(ext)] === 1;
  }

  bufferOf(ext: number): Uint8Array | null {
    return this.#buffer[this.#slot(ext)] ?? null;
  }

  offsetOf(ext: number): number {
    return this.#offset[this.#slot(ext)] ?? 0;
  }

  lengthOf(ext: number): number {
    return this.#length[this.#slot(ext)] ?? 0;
  }

  arrivalOf(ext: number): number {
    return this.#arrival[this.#slot(ext)] ?? 0;
  }

  latenessOf(ext: number): number {
    return this.#lateness[this.#slot(ext)] ?? 0;
  }

  readEarlyOf(ext: number): boolean {
    return this.#read[this.#slot(ext)] === 1;
  }

  markReadEarly(ext: number): void {
    this.#read[this.#slot(ext)] = 1;
  }

  /** Empties the slot if it holds `ext`; true if a frame was removed. Drops the payload reference. */
  remove(ext: number): boolean {
    const i = this.#slot(ext);
    if (this.#seq[i] !== ext) return false;
    this.#seq[i] = -1;
    this.#buffer[i] = null;
    this.#count--;
    return true;
  }

  /** Empties every slot; returns how many frames were dropped. */
  clear(): number {
    const dropped = this.#count;
    if (dropped > 0) {
      this.#seq.fill(-1);
      this.#buffer.fill(null);
      this.#count = 0;
    }
    return dropped;
  }
}
