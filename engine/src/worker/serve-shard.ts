import type { MessagePort } from 'node:worker_threads';
import type { ShardMessage, ShardRequest, ShardTaskInput } from './protocol.js';
import { toErrorPayload } from './protocol.js';
import { Shard } from './shard.js';
import { validateEndpoint } from './validate.js';

/**
 * Serves one shard over a MessagePort until told to shut down. Runs as a single
 * long-lived piscina task: the task's promise stays pending while the worker's
 * event loop keeps running (the pool is created with atomics disabled, so an
 * idle worker never parks its loop in Atomics.wait).
 */
export async function serveShard(input: ShardTaskInput): Promise<{ shard: number; pairsAtShutdown: number }> {
  const port: MessagePort = input.port;
  let open = true;
  const post = (message: ShardMessage): void => {
    if (open) port.postMessage(message);
  };
  const shard = new Shard(input.shard, input.shardCount, input.config, post);

  return await new Promise((resolve) => {
    const finish = (): void => {
      const pairsAtShutdown = shard.pairCount;
      shard.close();
      open = false;
      port.off('message', onMessage);
      port.close();
      resolve({ shard: input.shard, pairsAtShutdown });
    };
    const onMessage = (message: ShardRequest): void => {
      void handle(message).then(
        (result) => {
          post({ kind: 'response', id: message.id, ok: true, result });
          if (message.type === 'shutdown') finish();
        },
        (err: unknown) => post({ kind: 'response', id: message.id, ok: false, error: toErrorPayload(err) }),
      );
    };
    const handle = async (message: ShardRequest): Promise<unknown> => {
      switch (message.type) {
        case 'openPair':
          return await shard.openPair(message.request);
        case 'setRemote':
          validateEndpoint(message.remote, 'remote');
          await shard.setRemote(message.pairId, message.leg, message.remote);
          return null;
        case 'connectMedia':
          return await shard.connectMedia(message.pairId, message.leg, message.url);
        case 'closePair':
          return shard.closePair(message.pairId, 'closed by control plane');
        case 'setTranslation':
          await shard.setTranslation(message.pairId, message.translation);
          return null;
        case 'clearPlayback':
          return shard.clearPlayback(message.pairId, message.direction);
        case 'tap':
          shard.tap(message.pairId, message.tapId, message.source, message.ring);
          return null;
        case 'untap':
          return shard.untap(message.pairId, message.tapId);
        case 'stats':
          return await shard.statsInSlices();
        case 'shutdown':
          return { pairs: shard.pairCount };
        default: {
          const unknown: never = message;
          throw new TypeError(`unknown shard request ${JSON.stringify(unknown)}`);
        }
      }
    };
    port.on('message', onMessage);
    post({ kind: 'ready', shard: input.shard });
  });
}

export default serveShard;
