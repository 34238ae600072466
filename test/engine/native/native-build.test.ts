import { accessSync, constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPARED_OPERATIONS, HOT_PATH_OPERATION, compareHotPath, measureInIsolate, timeBatched } from '../../../tools/bench/native/hot-path-compare.js';
import { ensureNativeBuild, needsBuild } from '../../../tools/bench/native/native-build.js';
import { runNativeHotPath } from '../../../tools/bench/native/native-hot-path.js';

describe('native-bench build', () => {
  it('compiles hot_path and relay with the system compiler, warnings as errors', async () => {
    const paths = await ensureNativeBuild({ force: true });
    accessSync(paths.hotPath, constants.X_OK);
    accessSync(paths.relay, constants.X_OK);
    expect(needsBuild(paths)).toBe(false);
  }, 120_000);

  it('hot_path bench measures every operation the comparison pairs with a tinybench task', async () => {
    const paths = await ensureNativeBuild();
    const results = await runNativeHotPath(paths, 5);
    expect(results.map((r) => r.name)).toEqual([...COMPARED_OPERATIONS]);
    for (const r of results) {
      expect(r.ns_per_op).toBeGreaterThan(0);
      expect(r.ns_per_op_min).toBeLessThanOrEqual(r.ns_per_op);
      expect(r.batches).toBeGreaterThanOrEqual(5);
    }
  }, 60_000);
});

describe('hot path comparison', () => {
  it('times a function in batches', () => {
    let n = 0;
    const ns = timeBatched(() => {
      n++;
    }, 5);
    expect(ns).toBeGreaterThan(0);
    expect(n).toBeGreaterThan(5 * 64);
  });

  it('measures a Tandem task in an isolate of its own, and reports an unknown task as an error', async () => {
    const figures = await measureInIsolate(HOT_PATH_OPERATION, 5);
    expect(figures.batchedNs).toBeGreaterThan(0);
    expect(figures.tinybenchNs).toBeGreaterThanOrEqual(0);
    await expect(measureInIsolate('no such task', 5)).rejects.toThrow(/no tinybench task named 'no such task'/);
  }, 60_000);

  it('pairs every Tandem task with its C operation and reports Tandem ÷ C', async () => {
    const paths = await ensureNativeBuild();
    const rounds: number[] = [];
    const ops = await compareHotPath(paths, { rounds: 2, ms: 5, onRound: (r) => rounds.push(r) });
    expect(rounds).toEqual([1, 2]);
    expect(ops.map((o) => o.name)).toEqual([...COMPARED_OPERATIONS]);
    for (const op of ops) {
      expect(op.rounds).toHaveLength(2);
      expect(op.c_ns).toBeGreaterThan(0);
      expect(op.ratio_tinybench).toBeCloseTo(op.tandem_tinybench_ns / op.c_ns, 10);
      expect(op.ratio_batched).toBeCloseTo(op.tandem_batched_ns / op.c_ns, 10);
    }
  }, 120_000);
});
