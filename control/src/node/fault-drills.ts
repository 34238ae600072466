import { logger } from '../../../common/src/logger.js';
import type { MediaEngine } from '../../../engine/src/index.js';
import type { CallApp } from '../calls/index.js';

/**
 * A fault drill (the soak's `worker-kill`, only with `TANDEM_FAULT_DRILLS=true`): terminates engine
 * worker `shard` as a crash would. The engine closes its pairs (`pairclosed` 'worker-crash'), the app
 * tears their calls down, and the engine starts the shard again. Null: no such worker.
 */
export async function terminateEngineWorker(engine: MediaEngine, app: CallApp, shard: number): Promise<{ shard: number; pairs: string[] } | null> {
  const stats = await engine.stats();
  const threadId = stats.shards.find((s) => s.shard === shard)?.threadId;
  const thread = engine.threads.find((t) => t.threadId === threadId);
  if (threadId === undefined || !thread) return null;
  const pairs = app.pairs().map((p) => p.pairId).filter((pairId) => engine.shardOf(pairId) === shard);
  logger('control.node').warn({ shard, pairs: pairs.length }, 'fault drill: terminating an engine worker');
  await thread.terminate();
  return { shard, pairs };
}
