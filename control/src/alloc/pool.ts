/**
 * The pure description of a pool of pairs: `pair_001` = (7000, 7001), `pair_002` =
 * (7002, 7003), … No state, no I/O: every store and the HTTP layer share it to turn
 * ids into extensions and back, and to reject an unknown PAIR_ID early and clearly.
 */

export type PairSide = 'A' | 'B';

export interface PairExtensions {
  readonly extA: string;
  readonly extB: string;
}

export interface PairPoolOptions {
  /** Extension of side A of the first pair (default 7000). */
  readonly baseExtension?: number;
  /** Number of pairs (default 100). */
  readonly size?: number;
}

const PAIR_ID_PATTERN = /^pair_(\d+)$/;

export class PairPool {
  readonly baseExtension: number;
  readonly size: number;
  /** Digits of the number in a PAIR_ID: 3, or more once the pool reaches 1000 pairs. */
  readonly idWidth: number;

  constructor(options: PairPoolOptions = {}) {
    const base = options.baseExtension ?? 7000;
    const size = options.size ?? 100;
    if (!Number.isSafeInteger(base) || base < 0) {
      throw new RangeError(`baseExtension must be a non-negative integer, got ${String(base)}`);
    }
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`pool size must be a positive integer, got ${String(size)}`);
    }
    this.baseExtension = base;
    this.size = size;
    this.idWidth = Math.max(3, String(size).length);
  }

  /** The PAIR_ID of the pair at 0-based `index`. */
  pairIdAt(index: number): string {
    this.#checkIndex(index);
    return `pair_${String(index + 1).padStart(this.idWidth, '0')}`;
  }

  /**
   * 0-based index of `pairId`. TypeError when it is not shaped like a PAIR_ID of this
   * pool (`pair_` and exactly `idWidth` digits), RangeError when it is outside the pool.
   */
  indexOf(pairId: string): number {
    if (typeof pairId !== 'string') throw new TypeError('PAIR_ID must be a string');
    const match = PAIR_ID_PATTERN.exec(pairId);
    const digits = match?.[1];
    if (digits === undefined || digits.length !== this.idWidth) {
      throw new TypeError(`invalid PAIR_ID "${pairId}": expected pair_ followed by ${this.idWidth} digits`);
    }
    const number = Number(digits);
    if (number < 1 || number > this.size) {
      throw new RangeError(`unknown PAIR_ID "${pairId}": the pool has pairs pair_${'1'.padStart(this.idWidth, '0')}..${this.pairIdAt(this.size - 1)}`);
    }
    return number - 1;
  }

  /** Like `indexOf`, but `null` instead of throwing: for untrusted input at a boundary. */
  tryIndexOf(pairId: string): number | null {
    try {
      return this.indexOf(pairId);
    } catch {
      return null;
    }
  }

  extensionsAt(index: number): PairExtensions {
    this.#checkIndex(index);
    const a = this.baseExtension + 2 * index;
    return { extA: String(a), extB: String(a + 1) };
  }

  extensionsOf(pairId: string): PairExtensions {
    return this.extensionsAt(this.indexOf(pairId));
  }

  /** Which pair and side an extension belongs to, or `null` if it is not in the pool. */
  pairOfExtension(extension: string): { pairId: string; side: PairSide } | null {
    if (!/^\d+$/.test(extension)) return null;
    const offset = Number(extension) - this.baseExtension;
    if (offset < 0 || offset >= 2 * this.size) return null;
    return { pairId: this.pairIdAt(Math.floor(offset / 2)), side: offset % 2 === 0 ? 'A' : 'B' };
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`pair index ${String(index)} outside the pool [0, ${this.size})`);
    }
  }
}
