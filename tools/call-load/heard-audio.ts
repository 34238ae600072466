import { dominantFrequency, rms, type HeardChunk } from '../asterisk-simulator/ari/index.js';
import type { PhoneProbe } from './call-tracker.js';

/** The caller's phone says this; leg B's phones say LEG_B_TONE_HZ. Mirrored, each hears the other. */
export const CALLER_TONE_HZ = 440;
export const LEG_B_TONE_HZ = 880;
/** A heard recording whose zero-crossing frequency is this close to the other party's tone is the right audio. */
const AUDIO_TOLERANCE_HZ = 40;

/** Frames with sound in them: silence the engine plays while its jitter buffer fills would drag a zero-crossing estimate down. */
const SILENCE_RMS = 500;
const voiced = (chunks: readonly HeardChunk[]): HeardChunk[] => chunks.filter((c) => rms([c]) > SILENCE_RMS);

/**
 * "Heard audio" = heard a frame with sound in it, not merely a packet: a
 * concealment or silence frame proves no audio crossed. Each recording is
 * scanned once, from where the last poll stopped.
 */
export class VoicedProbe implements PhoneProbe {
  readonly #recordings: (channelId: string) => readonly HeardChunk[];
  readonly #cursor = new Map<string, { chunks: readonly HeardChunk[]; next: number }>();

  constructor(recordings: (channelId: string) => readonly HeardChunk[]) {
    this.#recordings = recordings;
  }

  hasHeard(channelId: string): boolean {
    const chunks = this.#recordings(channelId);
    let cursor = this.#cursor.get(channelId);
    // A new phone behind a reused id has a new recording: start over.
    if (!cursor || cursor.chunks !== chunks) {
      cursor = { chunks, next: 0 };
      this.#cursor.set(channelId, cursor);
    }
    for (; cursor.next < chunks.length; cursor.next++) {
      const chunk = chunks[cursor.next];
      if (chunk && rms([chunk]) > SILENCE_RMS) {
        this.#cursor.delete(channelId);
        return true;
      }
    }
    return false;
  }
}

/** What each phone of a set-up call heard (zero-crossing frequency of its voiced frames), and whether that is the other party's tone. */
export function heardMirroredTones(
  heard: (channelId: string) => readonly HeardChunk[],
  callerChannelId: string,
  legBChannelId: string,
): { ok: boolean; callerHearsHz: number; legBHearsHz: number } {
  // Mirrored: the caller hears leg B's tone and leg B the caller's.
  const callerHearsHz = dominantFrequency(voiced(heard(callerChannelId)));
  const legBHearsHz = dominantFrequency(voiced(heard(legBChannelId)));
  const ok = Math.abs(callerHearsHz - LEG_B_TONE_HZ) <= AUDIO_TOLERANCE_HZ && Math.abs(legBHearsHz - CALLER_TONE_HZ) <= AUDIO_TOLERANCE_HZ;
  return { ok, callerHearsHz, legBHearsHz };
}
