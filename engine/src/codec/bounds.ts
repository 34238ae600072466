/**
 * Argument checks shared by the codec functions. They run once per call (not per
 * sample), so a frame costs a handful of comparisons; a bad call throws a
 * RangeError naming the sizes instead of silently writing past a buffer
 * (typed arrays drop out-of-range writes without complaint).
 */

function checkCount(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** `length` items of `src` starting at `offset` must exist. */
export function checkSource(srcLength: number, offset: number, length: number, unit: string): void {
  checkCount('source offset', offset);
  checkCount('source length', length);
  if (offset + length > srcLength) {
    throw new RangeError(
      `source too short: need ${length} ${unit} at offset ${offset}, have ${srcLength}`,
    );
  }
}

/** `needed` items must fit in `dst` starting at `offset`. */
export function checkDestination(dstLength: number, offset: number, needed: number, unit: string): void {
  checkCount('destination offset', offset);
  if (offset + needed > dstLength) {
    throw new RangeError(
      `destination too short: need ${needed} ${unit} at offset ${offset}, have ${dstLength}`,
    );
  }
}
