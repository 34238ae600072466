/** A positive integer command-line flag (`--name value`), or its default when absent. */
export function positiveIntFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got '${value}'`);
  return n;
}
