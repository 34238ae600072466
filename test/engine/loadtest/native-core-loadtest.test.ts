import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GENERATOR_CORE_ENV, nativeCoreBinary, type GeneratorCoreKind } from '../../../tools/media-load/native-core.js';
import { runLoadTest } from '../../../tools/media-load/orchestrator.js';
import { formatReport, reportToJson, type LoadTestReport } from '../../../tools/media-load/report.js';

/** Processes named loadgen whose parent is `ppid` (the generator's native cores). */
function loadgenChildren(ppid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const parent = Number(stat.slice(close + 2).split(' ')[1]);
      if (comm === 'loadgen' && parent === ppid) n++;
    } catch {
      // The process ended between readdir and read.
    }
  }
  return n;
}

const savedEnv = process.env[GENERATOR_CORE_ENV];
afterEach(() => {
  if (savedEnv === undefined) delete process.env[GENERATOR_CORE_ENV];
  else process.env[GENERATOR_CORE_ENV] = savedEnv;
});

beforeAll(async () => {
  await nativeCoreBinary();
}, 120_000);

/** A short real run (20 pairs, 3 + 3 s) with the generator's cores of `kind`; counts the native core processes seen. */
async function run(kind: GeneratorCoreKind): Promise<{ report: LoadTestReport; nativeCores: number; generator: ChildProcess | null }> {
  // The generator process inherits this environment.
  process.env[GENERATOR_CORE_ENV] = kind;
  let generator: ChildProcess | null = null;
  let nativeCores = 0;
  const report = await runLoadTest({
    pairs: 20,
    seconds: 3,
    warmupSeconds: 3,
    workers: 1,
    generatorThreads: 1,
    preferTone: true,
    heapProbe: false,
    hooks: { generatorForked: (c) => (generator = c) },
    onProgress: () => {
      const pid = (generator as ChildProcess | null)?.pid;
      if (pid !== undefined) nativeCores = Math.max(nativeCores, loadgenChildren(pid));
    },
  });
  return { report, nativeCores, generator };
}

/** The report's keys, with the nested objects every run has. */
function shape(report: LoadTestReport): string[] {
  const json = JSON.parse(reportToJson(report)) as Record<string, unknown>;
  const keys = Object.keys(json);
  for (const nested of ['directions', 'generator', 'targets'] as const) {
    const value = json[nested] as Record<string, unknown>;
    keys.push(...Object.keys(value).map((k) => `${nested}.${k}`));
  }
  return keys.sort();
}

describe('runLoadTest with native generator cores', () => {
  it('drives the real engine without loss and reports the same shape as with worker-thread cores', async () => {
    const native = await run('native');
    expect(native.nativeCores).toBe(1);
    const r = native.report;
    expect(r.frames_sent).toBeGreaterThan(2 * 20 * 3 * 49);
    // No loss. The one exception is a frame the engine says it dropped itself: its jitter buffers
    // shed depth after a CPU stall, which a machine shared with other work can cause at any load.
    // A frame the generator mis-sent or mis-read would be lost without such a count, and fail here.
    const e = r.engine;
    const engineDropped =
      (e.jitter_accelerated ?? 0) + (e.jitter_flushed ?? 0) + e.jitter_overflow + e.jitter_late +
      Object.values(e.rx_dropped).reduce((a, b) => a + b, 0);
    const lost = r.frames_sent - r.frames_received;
    expect(lost, formatReport(r)).toBeGreaterThanOrEqual(0);
    if (engineDropped === 0) expect(r.loss_pct, formatReport(r)).toBe(0);
    else expect(lost, formatReport(r)).toBeLessThanOrEqual(engineDropped);
    // (Untagged frames are the engine's silence before the first audio arrives: not checked.)
    expect(r.generator.bad_packets).toBe(0);
    expect(r.latency_p50_ms).toBeGreaterThan(0);
    expect(r.latency_p50_ms).toBeLessThan(200);
    expect(r.generator.cpu_pct).toBeGreaterThan(0);
    expect(native.generator?.exitCode ?? native.generator?.signalCode).not.toBeNull();
    // After the run no native core is left behind.
    expect(loadgenChildren(native.generator?.pid ?? -1)).toBe(0);

    const node = await run('node');
    expect(node.nativeCores).toBe(0);
    expect(node.report.frames_sent).toBeGreaterThan(0);
    expect(shape(r)).toEqual(shape(node.report));
    expect(r.timeline.map((t) => t.t)).toEqual(node.report.timeline.map((t) => t.t));
  }, 90_000);
});
