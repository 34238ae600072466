import { describe, expect, it } from 'vitest';
import { fromGeneratorSchema, parseMessage, toGeneratorSchema } from '../../../engine/src/loadtest/generator-protocol.js';

describe('generator protocol', () => {
  it('parses well-formed messages into the typed union', () => {
    const start = parseMessage(toGeneratorSchema, { type: 'start', schedule: { warmupMs: 1000, measureMs: 2000, drainMs: 600 } }, 'test');
    expect(start.type).toBe('start');
    if (start.type === 'start') expect(start.schedule.measureMs).toBe(2000);
    const phase = parseMessage(fromGeneratorSchema, { type: 'phase', phase: 'measuring' }, 'test');
    expect(phase).toEqual({ type: 'phase', phase: 'measuring' });
  });

  it('rejects unknown types and bad fields with a TypeError naming the place', () => {
    expect(() => parseMessage(toGeneratorSchema, { type: 'explode' }, 'test')).toThrow(TypeError);
    expect(() => parseMessage(toGeneratorSchema, null, 'test')).toThrow(TypeError);
    expect(() =>
      parseMessage(toGeneratorSchema, { type: 'setup', pairs: [{ index: 0, legA: { address: '127.0.0.1', port: 70000 }, legB: { address: '127.0.0.1', port: 1 } }], threads: 1, socketBufferBytes: 1, preferTone: false }, 'test'),
    ).toThrow(/pairs\.0\.legA\.port/);
    expect(() => parseMessage(fromGeneratorSchema, { type: 'phase', phase: 'lunch' }, 'test')).toThrow(/phase/);
  });
});
