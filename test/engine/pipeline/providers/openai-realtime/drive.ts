import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MediaFrame, PipelineStage } from '../../../../../engine/src/pipeline/index.js';
import { makeFrame, rms } from '../../helpers.js';

export interface DriveLog {
  /** RMS of every non-null output frame, in order. */
  outputRms: number[];
  /** Every non-null output frame's samples, concatenated (copied: the stage reuses its frame). */
  output: number[];
  outputRates: Set<number>;
  outputSizes: Set<number>;
  nullOutputs: number;
  ticks: number;
}

export function newLog(): DriveLog {
  return { outputRms: [], output: [], outputRates: new Set(), outputSizes: new Set(), nullOutputs: 0, ticks: 0 };
}

/**
 * Drives process() on a simulated 20 ms clock: each tick copies the next 20 ms
 * of `source` (silence after its end) into the reused frame, then yields to
 * the event loop so socket I/O runs between ticks. No wall-clock pacing: the
 * stage must not need it.
 */
export async function drive(
  stage: PipelineStage,
  source: Int16Array,
  sampleRate: number,
  until: (log: DriveLog) => boolean,
  options: { maxMs?: number; log?: DriveLog; from?: number; status?: MediaFrame['status'] } = {},
): Promise<DriveLog> {
  const frame = makeFrame(sampleRate);
  if (options.status) frame.status = options.status;
  const log = options.log ?? newLog();
  const deadline = Date.now() + (options.maxMs ?? 15_000);
  let offset = options.from ?? 0;
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
      log.outputRates.add(out.sampleRate);
      log.outputSizes.add(out.samples);
      for (let i = 0; i < out.samples; i++) log.output.push(out.pcm[i]!);
    }
    log.ticks++;
    await yieldToLoop();
  }
  return log;
}
