import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { MediaFrame, PipelineStage } from '../../../engine/src/pipeline/index.js';

export const PAIR = { pairId: 'pair_007', srcExt: '7000', dstExt: '7001', direction: 'A->B' as const };

/** A reusable input frame, the way the worker hands them over (buffer reused every tick). */
export function makeFrame(sampleRate: number): MediaFrame {
  const samples = sampleRate / 50;
  return { pcm: new Int16Array(samples), samples, sampleRate, pairId: PAIR.pairId, srcExt: PAIR.srcExt, direction: PAIR.direction, rtpTimestamp: 0, status: 'audio' };
}

export function rms(pcm: Int16Array, count: number): number {
  let acc = 0;
  for (let i = 0; i < count; i++) acc += pcm[i]! * pcm[i]!;
  return Math.sqrt(acc / Math.max(1, count));
}

export interface TickLog {
  /** RMS of every non-null output frame, in order. */
  outputRms: number[];
  nullOutputs: number;
  ticks: number;
}

/**
 * Drives process() on a simulated 20 ms clock: each tick copies the next 20 ms
 * of `source` (silence after its end) into the reused frame, then yields to the
 * event loop (every tick, plus a short real sleep when `paceMs` is set) so
 * socket I/O runs between ticks as it would between real ticks. `from` is the
 * sample of `source` the first tick starts at (default: where `log`'s ticks
 * left off); `onOutput` sees every non-null output frame before it is reused.
 */
export async function drive<L extends TickLog = TickLog>(
  stage: PipelineStage,
  source: Int16Array,
  sampleRate: number,
  until: (log: L) => boolean,
  options: { maxMs?: number; paceMs?: number; log?: L; from?: number; status?: MediaFrame['status']; onOutput?: (out: MediaFrame) => void } = {},
): Promise<L> {
  const frame = makeFrame(sampleRate);
  if (options.status) frame.status = options.status;
  const log = options.log ?? ({ outputRms: [], nullOutputs: 0, ticks: 0 } as TickLog as L);
  const deadline = Date.now() + (options.maxMs ?? 15_000);
  let offset = options.from ?? log.ticks * frame.samples;
  while (!until(log)) {
    if (Date.now() > deadline) throw new Error(`drive: condition not met after ${log.ticks} ticks`);
    frame.pcm.fill(0);
    for (let i = 0; i < frame.samples && offset + i < source.length; i++) frame.pcm[i] = source[offset + i]!;
    frame.rtpTimestamp = offset;
    offset += frame.samples;
    const out = stage.process(frame);
    if (out === null) log.nullOutputs++;
    else {
      log.outputRms.push(rms(out.pcm, out.samples));
      options.onOutput?.(out);
    }
    log.ticks++;
    if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
    else await yieldToLoop();
  }
  return log;
}

export async function waitFor(cond: () => boolean, maxMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A bare WebSocket server on 127.0.0.1 for scripted misbehaving services. */
export async function scriptedServer(onConnection: (ws: WebSocket) => void): Promise<{ url: string; wss: WebSocketServer; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  return {
    url: `ws://127.0.0.1:${address.port}/`,
    wss,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
