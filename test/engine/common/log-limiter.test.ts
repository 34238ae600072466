import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../../common/src/log-limiter.js';

describe('LogLimiter', () => {
  it('lets one line per key and interval through and says how many it held back', () => {
    const limiter = new LogLimiter(1000);
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 10)).toBeNull();
    expect(limiter.take('a', 999)).toBeNull();
    expect(limiter.take('b', 999)).toBe(0); // keys are independent
    expect(limiter.take('a', 1000)).toBe(2);
    expect(limiter.take('a', 1500)).toBeNull();
    expect(limiter.take('a', 5000)).toBe(1);
  });

  it('forgets a key on reset and bounds the keys it remembers', () => {
    const limiter = new LogLimiter(1000, 2);
    limiter.take('a', 0);
    limiter.reset('a');
    expect(limiter.take('a', 1)).toBe(0);
    limiter.take('b', 2);
    limiter.take('c', 3); // evicts a, the oldest
    expect(limiter.take('a', 4)).toBe(0);
    expect(limiter.take('c', 5)).toBeNull();
  });

  it('refuses nonsense settings', () => {
    expect(() => new LogLimiter(-1)).toThrow(RangeError);
    expect(() => new LogLimiter(1000, 0)).toThrow(RangeError);
  });
});
