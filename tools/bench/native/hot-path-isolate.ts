import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { errorMessage } from '../../../common/src/errors.js';
import { measureTandemOperation } from './hot-path-compare.js';

/**
 * Worker-thread entry: measures one Tandem operation in a V8 isolate of its
 * own (see hot-path-compare.ts for why) and posts the figures back.
 */
const port = parentPort;
if (port === null) throw new Error('hot-path-isolate must run as a worker thread');

const input = z.object({ name: z.string().min(1), ms: z.number().positive() }).safeParse(workerData);
if (!input.success) {
  port.postMessage({ type: 'error', message: `bad workerData: ${input.error.issues[0]?.message ?? 'invalid'}` });
} else {
  measureTandemOperation(input.data.name, input.data.ms).then(
    (figures) => port.postMessage({ type: 'result', ...figures }),
    (err: unknown) => port.postMessage({ type: 'error', message: errorMessage(err) }),
  );
}
