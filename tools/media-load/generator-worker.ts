import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/src/errors.js';
import { GeneratorCore } from './generator-core.js';
import { fromCoreSchema, parseMessage, toCoreSchema, type FromCore } from './generator-protocol.js';

/**
 * A generator core thread: owns the sockets of its share of the pairs and
 * answers the generator's main thread. Whole pairs stay on one thread, so a
 * frame's send time and its mirrored arrival are read on the same clock.
 */
const port = parentPort;
if (port === null) throw new Error('generator-worker must run as a worker thread');

let core: GeneratorCore | null = null;
const post = (message: FromCore): void => port.postMessage(parseMessage(fromCoreSchema, message, 'core'));

port.on('message', (raw: unknown) => {
  try {
    const message = parseMessage(toCoreSchema, raw, 'generator main');
    switch (message.type) {
      case 'setup': {
        if (core !== null) throw new Error('core already set up');
        const created = new GeneratorCore({
          pairs: message.pairs,
          audio: message.audio,
          codec: message.codec,
          impairment: message.impairment,
          capacityPairs: message.capacityPairs,
          socketBufferBytes: message.socketBufferBytes,
          ...(message.tagFrames !== undefined ? { tagFrames: message.tagFrames } : {}),
          onFinished: (result) => post({ type: 'result', result }),
        });
        core = created;
        created.open().then(
          (ports) => post({ type: 'ready', ports }),
          (err: unknown) => post({ type: 'error', message: `socket setup failed: ${errorMessage(err)}` }),
        );
        break;
      }
      case 'start': {
        if (core === null) throw new Error('start before setup');
        // Convert the shared timeline to this thread's performance.now() clock.
        core.start(message.startAtEpochMs - performance.timeOrigin, message.schedule);
        break;
      }
      case 'addPairs': {
        if (core === null) throw new Error('addPairs before setup');
        core.addPairs(message.pairs).then(
          (ports) => post({ type: 'pairsAdded', ports }),
          (err: unknown) => post({ type: 'error', message: `adding pairs failed: ${errorMessage(err)}` }),
        );
        break;
      }
      case 'finish':
        core?.endMeasurement();
        break;
      case 'progress':
        if (core !== null) post({ type: 'progress', progress: core.progress(), windows: core.takeWindows() });
        break;
      case 'close':
        core?.close();
        port.close();
        break;
    }
  } catch (err) {
    post({ type: 'error', message: errorMessage(err) });
  }
});
