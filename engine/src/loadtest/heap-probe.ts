import { Session } from 'node:inspector/promises';
import { TimeoutError } from '../common/errors.js';

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

interface AttachedWorker {
  sessionId: string;
}

interface WorkerReply {
  id?: number;
  result?: { usedSize?: number };
  error?: { message?: string };
}

const ATTACH_SETTLE_MS = 100;

export async function sampleHeap(timeoutMs = 5000): Promise<HeapSample> {
  const session = new Session();
  session.connect();
  const attached: AttachedWorker[] = [];
  const pending = new Map<string, (reply: WorkerReply) => void>();
  let nextId = 1;
  session.on('NodeWorker.attachedToWorker', (message) => {
    attached.push({ sessionId: message.params.sessionId });
  });
  session.on('NodeWorker.receivedMessageFromWorker', (message) => {
    let reply: WorkerReply;
    try {
      reply = JSON.parse(message.params.message) as WorkerReply;
    } catch {
      return; // not a reply of ours
    }
    const key = `${message.params.sessionId}:${reply.id ?? -1}`;
    const resolve = pending.get(key);
    if (resolve) {
      pending.delete(key);
      resolve(reply);
    }
  });
  const callWorker = (sessionId: string, method: string): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const key = `${sessionId}:${id}`;
      const timer = setTimeout(() => {
        pending.delete(key);
        reject(new TimeoutError(`${method} on a worker got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(key, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`${method}: ${reply.error.message ?? 'failed'}`));
        else resolve(reply);
      });
      session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method }) }).catch(reject);
    });
  try {
    await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    // Attach events for the existing workers arrive right after enable.
    await new Promise((resolve) => setTimeout(resolve, ATTACH_SETTLE_MS));
    const workerUsedBytes = await Promise.all(
      attached.map(async ({ sessionId }) => {
        await callWorker(sessionId, 'HeapProfiler.collectGarbage');
        const usage = await callWorker(sessionId, 'Runtime.getHeapUsage');
        return usage.result?.usedSize ?? 0;
      }),
    );
    await session.post('HeapProfiler.collectGarbage');
    // @types/node 20 types this reply as void; the protocol says { usedSize, totalSize }.
    const main: unknown = await session.post('Runtime.getHeapUsage');
    const used = (main as { usedSize?: unknown } | undefined)?.usedSize;
    const mainUsedBytes = typeof used === 'number' ? used : 0;
    return { mainUsedBytes, workerUsedBytes, totalUsedBytes: mainUsedBytes + workerUsedBytes.reduce((a, b) => a + b, 0) };
  } finally {
    await session.post('NodeWorker.disable').catch(() => undefined);
    session.disconnect();
  }
}
