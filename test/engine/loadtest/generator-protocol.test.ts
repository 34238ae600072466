import { describe, expect, it } from 'vitest';
import { fromGeneratorSchema, parseMessage, toGeneratorSchema } from '../../../tools/media-load/generator-protocol.js';

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

describe('generator protocol: ramp, impairment and windows', () => {
  const pair = { index: 3, legA: { address: '127.0.0.1', port: 10006 }, legB: { address: '127.0.0.1', port: 10007 } };
  const latency = { bucketWidth: 0.5, bucketCount: 2000, count: 1, sum: 12, min: 12, max: 12, overflow: 0, buckets: [[24, 1]] };

  it('parses setup with codec and impairment, addPairs, finish, pairsAdded and window', () => {
    const setup = parseMessage(
      toGeneratorSchema,
      { type: 'setup', pairs: [pair], threads: 1, socketBufferBytes: 1024, preferTone: true, codec: 'slin16', impairment: { jitterMs: 20, lossPct: 1, reorderPct: 0.5 }, capacityPairs: 10 },
      'test',
    );
    expect(setup).toMatchObject({ type: 'setup', codec: 'slin16', capacityPairs: 10, impairment: { jitterMs: 20 } });
    expect(parseMessage(toGeneratorSchema, { type: 'addPairs', pairs: [pair] }, 'test')).toEqual({ type: 'addPairs', pairs: [pair] });
    expect(parseMessage(toGeneratorSchema, { type: 'finish' }, 'test')).toEqual({ type: 'finish' });
    expect(parseMessage(fromGeneratorSchema, { type: 'pairsAdded', ports: [{ index: 3, portA: 40000, portB: 40001 }] }, 'test').type).toBe('pairsAdded');
    const window = { index: 4, pairs: 6, packets: 600, sent: 590, received: 589, dropped: 10, arrivals: 598, latency };
    expect(parseMessage(fromGeneratorSchema, { type: 'window', window }, 'test')).toEqual({ type: 'window', window });
  });

  it('rejects an unknown codec, impairment out of range and a malformed window', () => {
    const setup = { type: 'setup', pairs: [pair], threads: 1, socketBufferBytes: 1024, preferTone: true, codec: 'ulaw', impairment: { jitterMs: 0, lossPct: 0, reorderPct: 0 }, capacityPairs: 1 };
    expect(() => parseMessage(toGeneratorSchema, { ...setup, codec: 'g729' }, 'test')).toThrow(/codec/);
    expect(() => parseMessage(toGeneratorSchema, { ...setup, impairment: { jitterMs: 0, lossPct: 101, reorderPct: 0 } }, 'test')).toThrow(/impairment\.lossPct/);
    expect(() => parseMessage(fromGeneratorSchema, { type: 'window', window: { index: -1 } }, 'test')).toThrow(/window/);
  });
});
