import type { MediaFrame, PipelineStage } from '../../../../../engine/src/pipeline/index.js';
import { drive as driveTicks, type TickLog } from '../../helpers.js';

export interface DriveLog extends TickLog {
  /** Every non-null output frame's samples, concatenated (copied: the stage reuses its frame). */
  output: number[];
  outputRates: Set<number>;
  outputSizes: Set<number>;
}

export function newLog(): DriveLog {
  return { outputRms: [], output: [], outputRates: new Set(), outputSizes: new Set(), nullOutputs: 0, ticks: 0 };
}

/**
 * The pipeline tests' simulated 20 ms clock (helpers.ts drive()), recording
 * every output sample, rate and size; each call starts at `from` in `source`
 * (default its start), even when it continues a log.
 */
export async function drive(
  stage: PipelineStage,
  source: Int16Array,
  sampleRate: number,
  until: (log: DriveLog) => boolean,
  options: { maxMs?: number; log?: DriveLog; from?: number; status?: MediaFrame['status'] } = {},
): Promise<DriveLog> {
  const log = options.log ?? newLog();
  return driveTicks(stage, source, sampleRate, until, {
    ...options,
    log,
    from: options.from ?? 0,
    onOutput: (out) => {
      log.outputRates.add(out.sampleRate);
      log.outputSizes.add(out.samples);
      for (let i = 0; i < out.samples; i++) log.output.push(out.pcm[i]!);
    },
  });
}
