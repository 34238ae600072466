/**
 * All RTP sequence-number (16-bit) and timestamp (32-bit) wraparound arithmetic.
 *
 * Everything here works on plain JS numbers with bit operations: `& 0xffff` and
 * `>>> 0` reduce any safe integer modulo 2^16 / 2^32 exactly, so no BigInt is
 * ever needed. Inputs are expected to be integers; the wrapped ones are reduced
 * before use, so a caller passing e.g. an unwrapped sequence still gets the
 * mathematically right answer.
 */

/** `(seq + n) mod 2^16`; `n` may be negative or larger than 2^16. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/**
 * Signed distance `to - from` on the 16-bit circle, in [-32768, 32767].
 * At exactly half the circle the answer is -32768 (the distance is ambiguous;
 * picking one side keeps the function total and antisymmetric elsewhere).
 */
export function seqDiff(from: number, to: number): number {
  // Shift the 16-bit difference into the top of an int32, then sign-extend it back.
  return (((to - from) & 0xffff) << 16) >> 16;
}

/**
 * `a` comes after `b` (RFC 1982 serial-number comparison). Exactly half the
 * circle apart is undefined in RFC 1982; here neither is newer than the other.
 */
export function seqIsNewer(a: number, b: number): boolean {
  return seqDiff(b, a) > 0;
}

/** `(ts + n) mod 2^32`; `n` may be negative. */
export function tsAdd(ts: number, n: number): number {
  return (ts + n) >>> 0;
}

/** Signed distance `to - from` on the 32-bit circle, in [-2^31, 2^31 - 1]. */
export function tsDiff(from: number, to: number): number {
  // `| 0` is ToInt32: the difference modulo 2^32, read as a signed value.
  return (to - from) | 0;
}

/** `a` comes after `b` on the 32-bit circle; exactly half apart, neither is. */
export function tsIsNewer(a: number, b: number): boolean {
  return tsDiff(b, a) > 0;
}

/**
 * Turns 16-bit sequence numbers into a monotonic "extended" sequence (a plain
 * JS number), the way pion's `internal/sequencenumber/unwrapper.go` does: each
 * value is placed at the shortest signed distance from the previous one, and
 * the reference follows every value (also late ones).
 *
 * The first value unwraps to itself. Unlike pion, a value that arrives late
 * from *before* the first one unwraps to a negative number rather than jumping
 * a whole cycle ahead, so ordering by extended sequence stays right for
 * reordering at stream start.
 */
export class SequenceUnwrapper {
  #last = 0;
  #started = false;

  unwrap(seq: number): number {
    if (!this.#started) {
      this.#started = true;
      this.#last = seq & 0xffff;
      return this.#last;
    }
    // `& 0xffff` on a negative or > 2^31 extended value still yields its low 16 bits.
    this.#last += seqDiff(this.#last & 0xffff, seq);
    return this.#last;
  }

  /** Forgets the stream (e.g. on an SSRC change); the next value unwraps to itself. */
  reset(): void {
    this.#started = false;
    this.#last = 0;
  }
}

/** Same as {@link SequenceUnwrapper}, for 32-bit RTP timestamps. */
export class TimestampUnwrapper {
  #last = 0;
  #started = false;

  unwrap(ts: number): number {
    if (!this.#started) {
      this.#started = true;
      this.#last = ts >>> 0;
      return this.#last;
    }
    this.#last += tsDiff(this.#last >>> 0, ts);
    return this.#last;
  }

  reset(): void {
    this.#started = false;
    this.#last = 0;
  }
}
