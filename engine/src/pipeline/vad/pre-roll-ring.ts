/**
 * The last gated chunks a stream already decided as silence, kept so that when the energy gate opens
 * the model can still hear the soft start of a word the gate missed (the pre-roll). Holds at most
 * `capacity` chunks, oldest first; buffers it lets go of go back to the stream's free list.
 */

/** A chunk the gate decided as silence, kept for a pre-roll. */
export interface GatedChunk {
  input: Float32Array;
  start: number;
  /** Decided while the segmenter was idle (a no-op there): the model's answer may replace it. */
  redecidable: boolean;
}

export class PreRollRing {
  /** Chunks of pre-roll (0..maxQueuedChunks - 1); 0 keeps nothing. */
  capacity = 0;
  #chunks: GatedChunk[] = [];
  readonly #recycleInput: (input: Float32Array) => void;

  constructor(recycleInput: (input: Float32Array) => void) {
    this.#recycleInput = recycleInput;
  }

  get length(): number {
    return this.#chunks.length;
  }

  /** Keeps a decided gated chunk for a pre-roll (the oldest beyond capacity is recycled). */
  keep(chunk: GatedChunk): void {
    if (this.capacity === 0) {
      this.#recycleInput(chunk.input);
      return;
    }
    this.#chunks.push(chunk);
    if (this.#chunks.length > this.capacity) this.#recycleInput(this.#chunks.shift()!.input);
  }

  /** Removes and returns the newest `count` chunks, oldest first (they change hands: not recycled). */
  takeNewest(count: number): GatedChunk[] {
    return this.#chunks.splice(Math.max(0, this.#chunks.length - count));
  }

  /** Recycles every kept chunk: they can no longer precede the model's next input. */
  clear(): void {
    for (const kept of this.#chunks) this.#recycleInput(kept.input);
    this.#chunks = [];
  }

  /** Forgets every kept chunk without recycling (the free list is being dropped too). */
  discard(): void {
    this.#chunks = [];
  }
}
