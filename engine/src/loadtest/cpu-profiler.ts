import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { TimeoutError } from '../common/errors.js';

/**
 * Samples the CPU of this thread and of every worker thread of this process
 * over an interval, through the inspector (the NodeWorker domain reaches the
 * engine's workers, which `--cpu-prof` does not when they are started with
 * their own execArgv). Writes one .cpuprofile per thread, loadable in Chrome
 * DevTools or speedscope. A diagnostic for load tests, never on by default.
 */
export interface CpuProfiling {
  /** Stops every profiler and writes the profiles into dir; returns the file paths. */
  stop(dir: string): Promise<string[]>;
}

interface WorkerReply {
  id?: number;
  result?: { profile?: unknown };
  error?: { message?: string };
}

const ATTACH_SETTLE_MS = 100;

export async function startCpuProfiling(timeoutMs = 10_000): Promise<CpuProfiling> {
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
      return;
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

  try {
    await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    await new Promise((resolve) => setTimeout(resolve, ATTACH_SETTLE_MS));
    for (const w of workers) {
      await call(w, 'Profiler.enable');
      await call(w, 'Profiler.start');
    }
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  } catch (err) {
    session.disconnect();
    throw err;
  }

  return {
    async stop(dir: string): Promise<string[]> {
      try {
        await mkdir(dir, { recursive: true });
        const files: string[] = [];
        const stamp = Date.now();
        for (const [i, w] of workers.entries()) {
          const reply = await call(w, 'Profiler.stop');
          const file = join(dir, `engine-worker-${i}-${stamp}.cpuprofile`);
          await writeFile(file, JSON.stringify(reply.result?.profile ?? {}));
          files.push(file);
        }
        const main = await session.post('Profiler.stop');
        const file = join(dir, `engine-main-${stamp}.cpuprofile`);
        await writeFile(file, JSON.stringify(main.profile));
        files.push(file);
        return files;
      } finally {
        await session.post('NodeWorker.disable').catch(() => undefined);
        session.disconnect();
      }
    },
  };
}
