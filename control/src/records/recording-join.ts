import type { CallRecording } from './call-record.js';

/**
 * Joins a finished recording to its call's record. The engine names the file when the pair opens (the
 * WAV's path is in the pair's final stats, so the ended call knows it) and announces it once complete —
 * after the pair closed, and for Ogg/Opus after transcoding, under the same name with `.opus`. Either
 * side may come first; whichever comes second gets the other. Matching by the file (not by the pair)
 * keeps a slow transcode from being joined to the pair's next call.
 *
 * Bounded: at most `max` waiting on each side, the oldest forgotten first (a call whose recording never
 * completes — its file could not be written — waits until pushed out).
 */
export class RecordingJoin {
  readonly #max: number;
  /** file stem -> the record id of an ended call waiting for its file */
  readonly #calls = new Map<string, string>();
  /** file stem -> a finished file waiting for its call to end */
  readonly #files = new Map<string, CallRecording>();

  constructor(max = 1000) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
    this.#max = max;
  }

  /** The call recorded into `path` (its pair's final stats) ended as record `recordId`: its file if already complete. */
  callEnded(path: string, recordId: string): CallRecording | null {
    const key = stem(path);
    const file = this.#files.get(key);
    if (file !== undefined) {
      this.#files.delete(key);
      return file;
    }
    put(this.#calls, key, recordId, this.#max);
    return null;
  }

  /** A file is complete: the id of the record it belongs to if that call already ended. */
  recordingDone(recording: CallRecording): string | null {
    const key = stem(recording.path);
    const recordId = this.#calls.get(key);
    if (recordId !== undefined) {
      this.#calls.delete(key);
      return recordId;
    }
    put(this.#files, key, recording, this.#max);
    return null;
  }

  get waiting(): { calls: number; files: number } {
    return { calls: this.#calls.size, files: this.#files.size };
  }
}

/** The path without its extension: a WAV and the Opus file made from it share it. */
function stem(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash ? path.slice(0, dot) : path;
}

function put<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}
