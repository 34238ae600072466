import { Session } from 'node:inspector/promises';
import { TimeoutError } from '../../common/src/errors.js';

/**
 * An inspector session on this thread that also reaches every worker thread
 * of the process (the NodeWorker domain). The load test's heap probe and CPU
 * profiler both go through it: Node 20 offers no other way into a worker's
 * heap or profiler from outside.
 */
export interface WorkerReply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message?: string };
}

export interface WorkerInspector {
  readonly session: Session;
  /** Session ids of the workers attached, in attach order. */
  readonly workers: readonly string[];
  /** Sends one inspector method to a worker and resolves with its reply (rejects on error or timeout). */
  readonly call: (sessionId: string, method: string) => Promise<WorkerReply>;
  /** Detaches from the workers and disconnects. */
  readonly close: () => Promise<void>;
}

/** Attach events for workers that already run arrive right after enable. */
const ATTACH_SETTLE_MS = 100;

export async function openWorkerInspector(timeoutMs: number): Promise<WorkerInspector> {
  const session = new Session();
  session.connect();
  const workers: string[] = [];
  const pending = new Map<string, (reply: WorkerReply) => void>();
  let nextId = 1;
  session.on('NodeWorker.attachedToWorker', (message) => workers.push(message.params.sessionId));
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
  const call = (sessionId: string, method: string): Promise<WorkerReply> =>
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
  const close = async (): Promise<void> => {
    await session.post('NodeWorker.disable').catch(() => undefined);
    session.disconnect();
  };
  try {
    await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    await new Promise((resolve) => setTimeout(resolve, ATTACH_SETTLE_MS));
  } catch (err) {
    await close();
    throw err;
  }
  return { session, workers, call, close };
}
