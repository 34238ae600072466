import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison whatever the lengths: both sides are hashed first. */
export function digestEquals(presented: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
