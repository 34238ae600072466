/**
 * The inference thread behind SileroModel: owns one SileroSession and runs the
 * batches it is sent, in order. onnxruntime blocks whichever thread calls it
 * for the whole inference, so that thread is this one, not the media worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../../../common/src/errors.js';
import { VAD_STATE_SIZE, vadGeometry } from './model.js';
import { SileroSession } from './silero-session.js';
import type { FromSileroWorker, SileroWorkerData, ToSileroWorker } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('silero-worker must run in a worker thread');
const data = workerData as SileroWorkerData;

function send(message: FromSileroWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

let session: SileroSession | null = null;
try {
  session = await SileroSession.load(data.modelPath === null ? {} : { modelPath: data.modelPath });
  // One run per rate before reporting ready: the first inference pays one-off setup (measured
  // 2-3x a normal one), which should not land on a live batch.
  for (const sampleRate of [8000, 16000] as const) {
    await session.run({ sampleRate, size: 1, input: new Float32Array(vadGeometry(sampleRate).input), state: new Float32Array(VAD_STATE_SIZE) });
  }
} catch (err) {
  await session?.close().catch(() => undefined);
  session = null;
  send({ type: 'load_failed', message: errorMessage(err) });
  port.close();
}

if (session) {
  // One batch at a time: the session is single-threaded and a queue here keeps order.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (message: ToSileroWorker) => {
    chain = chain.then(() => handle(message));
  });
  send({ type: 'ready' });
}

async function handle(message: ToSileroWorker): Promise<void> {
  if (message.type === 'close') {
    const s = session;
    session = null;
    await s?.close().catch(() => undefined);
    send({ type: 'closed' });
    port!.close();
    return;
  }
  if (!session) {
    send({ type: 'run_failed', id: message.id, message: 'Silero worker has no session' });
    return;
  }
  try {
    const out = await session.run(message);
    // Copies: onnxruntime's output arrays may view native or shared memory, which cannot be transferred.
    const probabilities = Float32Array.from(out.probabilities);
    const state = Float32Array.from(out.state);
    send({ type: 'result', id: message.id, probabilities, state }, [probabilities.buffer, state.buffer]);
  } catch (err) {
    send({ type: 'run_failed', id: message.id, message: errorMessage(err) });
  }
}
