import type { TapSource } from '../session/pair-tap.js';
import type { PcmRingReader } from './pcm-ring.js';

/** Rate and size of a tap's frames: 16 kHz covers every leg (narrowband legs are upsampled). */
export const TAP_SAMPLE_RATE = 16_000;
/** A tap's ring: 1 s of 20 ms frames before the worker drops. */
export const TAP_DEFAULT_CAPACITY_FRAMES = 50;

/** A listener's tap on a pair (MediaEngine.tapPair). close() is idempotent. */
export interface PairTapHandle {
  pairId: string;
  source: TapSource;
  reader: PcmRingReader;
  close(): Promise<void>;
}

/** The handle for a tap the worker already copies into `reader`'s ring; `untap` tells the worker to stop (once). */
export function pairTapHandle(pairId: string, source: TapSource, reader: PcmRingReader, untap: () => Promise<void>): PairTapHandle {
  let ended = false;
  return {
    pairId,
    source,
    reader,
    close: async (): Promise<void> => {
      if (ended) return;
      ended = true;
      reader.close();
      await untap();
    },
  };
}
