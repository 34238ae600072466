import { openWorkerInspector } from './inspector-workers.js';

/**
 * Heap in use, after a full GC, of this thread and of every worker thread of
 * this process. Node 20 has no `worker.getHeapStatistics()`, so the probe goes
 * through the inspector: the NodeWorker domain attaches to each worker and
 * forwards HeapProfiler.collectGarbage and Runtime.getHeapUsage to it. The
 * session lives only for the probe; the collection pauses each isolate once
 * (milliseconds), which is why the load test probes only at phase boundaries.
 */
export interface HeapSample {
  mainUsedBytes: number;
  workerUsedBytes: number[];
  totalUsedBytes: number;
}


export async function sampleHeap(timeoutMs = 5000): Promise<HeapSample> {
  const inspector = await openWorkerInspector(timeoutMs);
  try {
    const workerUsedBytes = await Promise.all(
      inspector.workers.map(async (sessionId) => {
        await inspector.call(sessionId, 'HeapProfiler.collectGarbage');
        const usage = await inspector.call(sessionId, 'Runtime.getHeapUsage');
        const used = usage.result?.['usedSize'];
        return typeof used === 'number' ? used : 0;
      }),
    );
    await inspector.session.post('HeapProfiler.collectGarbage');
    // @types/node 20 types this reply as void; the protocol says { usedSize, totalSize }.
    const main: unknown = await inspector.session.post('Runtime.getHeapUsage');
    const used = (main as { usedSize?: unknown } | undefined)?.usedSize;
    const mainUsedBytes = typeof used === 'number' ? used : 0;
    return { mainUsedBytes, workerUsedBytes, totalUsedBytes: mainUsedBytes + workerUsedBytes.reduce((a, b) => a + b, 0) };
  } finally {
    await inspector.close();
  }
}
