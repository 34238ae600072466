import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/index.js';
import { parseEngineConfig } from '../../../engine/src/config/engine-config.js';
import { applyThreadPriority } from '../../../engine/src/worker/thread-priority.js';
import { freePortRange } from '../../support/ports.js';

describe('worker thread priority', () => {
  it('sets the requested nice value and reports what the thread then runs at', () => {
    let nice = 0;
    const result = applyThreadPriority(-5, { get: () => nice, set: (n) => (nice = n) });
    expect(result).toEqual({ requested: -5, applied: -5 });
    expect(nice).toBe(-5);
  });

  it('does not call setpriority when the thread already runs at the requested value', () => {
    let calls = 0;
    const result = applyThreadPriority(0, { get: () => 0, set: () => calls++ });
    expect(result).toEqual({ requested: 0, applied: 0 });
    expect(calls).toBe(0);
  });

  it('keeps the current priority and says why when the OS refuses (no CAP_SYS_NICE)', () => {
    const result = applyThreadPriority(-5, {
      get: () => 0,
      set: () => {
        throw Object.assign(new Error('setpriority: permission denied'), { code: 'EACCES' });
      },
    });
    expect(result.applied).toBe(0);
    expect(result.requested).toBe(-5);
    expect(result.error).toMatch(/permission denied/);
  });

  it('rejects a nice value outside -20..19 in the engine config, by name', () => {
    expect(() => parseEngineConfig({ workerNice: -21 })).toThrow(/workerNice/);
    expect(() => parseEngineConfig({ workerNice: 20 })).toThrow(/workerNice/);
    expect(parseEngineConfig({}).workerNice).toBe(-5);
  });

  it('raises only the worker threads: each shard reports its nice value, the main thread keeps its own', async () => {
    const mainBefore = getPriority();
    const engine = await MediaEngine.start({ workers: 2, workerNice: -3, portRange: await freePortRange(100) });
    try {
      const stats = await engine.stats();
      expect(stats.shards).toHaveLength(2);
      for (const shard of stats.shards) {
        expect(shard.priority.requested).toBe(-3);
        // Root (CI) may raise priority; elsewhere the refusal is reported, never hidden.
        if (shard.priority.error === undefined) expect(shard.priority.applied).toBe(-3);
        else expect(shard.priority.applied).toBe(mainBefore);
      }
      expect(getPriority()).toBe(mainBefore);
    } finally {
      await engine.close();
    }
  });
});
