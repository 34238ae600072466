import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { errorMessage } from '../../../common/src/errors.js';
import { toWorkerSchema, workerSetupSchema, type FromWorker, type ToWorker } from './node-relay-protocol.js';
import { BatchRelayShard } from './node-relay-batch-shard.js';
import { RelayShard } from './node-relay-shard.js';

/** What the worker needs of its shard: a socket per leg (RelayShard) or one batch port (BatchRelayShard). */
type Shard = Pick<RelayShard, 'bind' | 'setPeer' | 'settled' | 'close' | 'counters'>;

/**
 * A worker thread of the Node relay: owns the sockets of its pairs
 * (node-relay-shard.ts) and answers the main thread's commands in order.
 */
function requireParentPort(): MessagePort {
  if (parentPort === null) throw new Error('node-relay-worker runs as a worker thread');
  return parentPort;
}
const port = requireParentPort();

const post = (message: FromWorker): void => port.postMessage(message);

function handle(shard: Shard, message: ToWorker): void {
  switch (message.type) {
    case 'remote':
      if (!shard.setPeer(message.pair, message.side, message.address, message.port)) {
        process.stderr.write(`relay: leg ${message.pair}${message.side} already has a peer\n`);
      }
      return;
    case 'stats':
      // Counters are copied when the answer is sent, after the earlier peers are in place.
      void shard.settled().then(() => post({ type: 'stats', id: message.id, counters: structuredClone(shard.counters) }));
      return;
    case 'stop':
      shard.close();
      post({ type: 'stopped', counters: structuredClone(shard.counters) });
      port.close();
      return;
  }
}

async function run(): Promise<void> {
  const setup = workerSetupSchema.parse(workerData);
  const shard: Shard =
    setup.batch === undefined
      ? new RelayShard(setup)
      : new BatchRelayShard({
          pairs: setup.pairs,
          bindAddress: setup.bindAddress,
          port: setup.basePort === 0 ? 0 : setup.basePort + setup.batch.thread,
          socketBufferBytes: setup.socketBufferBytes,
          io: setup.batch.io,
          batch: setup.batch.size,
        });
  // Commands can arrive while the sockets are still being bound: queue them until then.
  const early: ToWorker[] = [];
  let ready = false;
  port.on('message', (raw: unknown) => {
    const message = toWorkerSchema.parse(raw);
    if (ready) handle(shard, message);
    else early.push(message);
  });
  try {
    const legs = await shard.bind();
    post({ type: 'bound', legs });
  } catch (err) {
    shard.close();
    post({ type: 'failed', message: errorMessage(err) });
    return;
  }
  ready = true;
  for (const message of early.splice(0)) handle(shard, message);
}

void run();
