import { describe, expect, it } from 'vitest';
import {
  JitterBuffer,
  JitterOptionError,
  validateJitterOptions,
  type JitterBufferOptions,
} from '../../../engine/src/jitter/index.js';
import { taggedDecoder } from './helpers.js';

const BASE: JitterBufferOptions = { clockRate: 8000, frameSamples: 160 };

describe('validateJitterOptions', () => {
  it('fills in the documented defaults', () => {
    expect(validateJitterOptions(BASE)).toEqual({
      clockRate: 8000,
      frameSamples: 160,
      minDepthMs: 20,
      maxDepthMs: 200,
      capacityFrames: 22,
      concealFrames: 3,
      idleAfterMs: 1000,
      resyncJumpMs: 1000,
      playoutSlackMs: 0,
    });
  });

  it('takes a playout slack below one frame and names the key otherwise', () => {
    expect(validateJitterOptions({ ...BASE, playoutSlackMs: 6 }).playoutSlackMs).toBe(6);
    expect(() => validateJitterOptions({ ...BASE, playoutSlackMs: 20 })).toThrow(/playoutSlackMs/);
    expect(() => validateJitterOptions({ ...BASE, playoutSlackMs: -1 })).toThrow(/playoutSlackMs/);
  });

  it('accepts the 16 kHz framing and explicit values', () => {
    const o = validateJitterOptions({ clockRate: 16000, frameSamples: 320, minDepthMs: 40, maxDepthMs: 400, concealFrames: 0 });
    expect(o).toMatchObject({ clockRate: 16000, frameSamples: 320, minDepthMs: 40, maxDepthMs: 400, capacityFrames: 42, concealFrames: 0 });
  });

  it('keeps resyncJumpMs above a large maxDepthMs by default', () => {
    expect(validateJitterOptions({ ...BASE, maxDepthMs: 2000 }).resyncJumpMs).toBe(2040);
  });

  const bad: Array<[string, Partial<Record<keyof JitterBufferOptions, unknown>>, keyof JitterBufferOptions]> = [
    ['clockRate zero', { clockRate: 0 }, 'clockRate'],
    ['clockRate not a whole number of samples per 20 ms', { clockRate: 8010 }, 'clockRate'],
    ['clockRate NaN', { clockRate: Number.NaN }, 'clockRate'],
    ['clockRate as a string', { clockRate: '8000' }, 'clockRate'],
    ['frameSamples zero', { frameSamples: 0 }, 'frameSamples'],
    ['frameSamples fractional', { frameSamples: 159.5 }, 'frameSamples'],
    ['minDepthMs below one frame', { minDepthMs: 10 }, 'minDepthMs'],
    ['minDepthMs infinite', { minDepthMs: Number.POSITIVE_INFINITY }, 'minDepthMs'],
    ['maxDepthMs below one frame', { maxDepthMs: 0 }, 'maxDepthMs'],
    ['maxDepthMs below minDepthMs', { minDepthMs: 100, maxDepthMs: 90 }, 'maxDepthMs'],
    ['capacityFrames below maxDepthMs', { maxDepthMs: 200, capacityFrames: 9 }, 'capacityFrames'],
    ['capacityFrames fractional', { capacityFrames: 30.5 }, 'capacityFrames'],
    ['concealFrames negative', { concealFrames: -1 }, 'concealFrames'],
    ['idleAfterMs zero', { idleAfterMs: 0 }, 'idleAfterMs'],
    ['resyncJumpMs inside the depth window', { maxDepthMs: 200, resyncJumpMs: 200 }, 'resyncJumpMs'],
  ];
  for (const [name, patch, key] of bad) {
    it(`rejects ${name}, naming ${key}`, () => {
      const options = { ...BASE, ...patch } as JitterBufferOptions;
      let caught: unknown;
      try {
        validateJitterOptions(options);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RangeError);
      expect(caught).toBeInstanceOf(JitterOptionError);
      expect((caught as JitterOptionError).key).toBe(key);
      expect((caught as JitterOptionError).code).toBe('JITTER_OPTION');
      expect((caught as Error).message).toContain(key);
      expect(() => new JitterBuffer(taggedDecoder, options)).toThrow(JitterOptionError);
    });
  }

  it('rejects a non-object and a decoder that is not a function', () => {
    expect(() => validateJitterOptions(null as unknown as JitterBufferOptions)).toThrow(TypeError);
    expect(() => new JitterBuffer(42 as unknown as typeof taggedDecoder, BASE)).toThrow(TypeError);
  });
});
