/** A pair recording's settings, channels and counters: what callers configure and read. */
import { z } from 'zod';
import type { RecordingSinkOpener } from './sink.js';
import { MAX_WAV_DATA_BYTES } from './wav.js';

/** What an engine's `recording` setting holds (the same for every pair). */
export const RecordingConfigSchema = z
  .object({
    /** Directory for the files; created (mode 0750) if missing. */
    dir: z.string().min(1),
    /** Size of one write. Larger blocks: fewer writes, more memory per pair. */
    blockMs: z.number().int().min(20).max(10_000).default(1000),
    /** Writes outstanding at once; a block beyond that is dropped and counted. */
    maxInFlightBlocks: z.number().int().min(1).max(64).default(4),
    /** Data bytes after which audio is dropped (reason size_limit). Default: the 32-bit WAV limit. */
    maxDataBytes: z.number().int().min(8).max(MAX_WAV_DATA_BYTES).default(MAX_WAV_DATA_BYTES),
    /** How far a frame() with neither input nor output advances the clock. */
    tickMs: z.number().int().min(1).max(1000).default(20),
    /**
     * The stored file: 'wav' (4-channel PCM, written live) or 'opus' (the WAV, once complete, transcoded in
     * a thread of its own to Ogg/Opus — two stereo streams, ≈ 11 % of the size — and then removed).
     */
    format: z.enum(['wav', 'opus']).default('wav'),
  })
  .strict();

export const PairRecorderOptionsSchema = RecordingConfigSchema.extend({
  /** Becomes part of the file name, so only [A-Za-z0-9_.-] is accepted. */
  pairId: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1 to 128 characters of [A-Za-z0-9_.-]'),
  /** The pair's codec rate: the file's rate. Frames at the other rate are resampled. */
  sampleRate: z.union([z.literal(8000), z.literal(16000)]),
}).strict();

export type RecordingConfig = z.input<typeof RecordingConfigSchema>;
export type PairRecorderOptions = z.input<typeof PairRecorderOptionsSchema>;
export type PairRecorderSettings = z.output<typeof PairRecorderOptionsSchema>;

/** Injection points: a different sink (tests: slow or failing) and clock (file name). */
export interface PairRecorderDeps {
  openSink?: RecordingSinkOpener;
  now?: () => Date;
}

/** 1 = A original, 2 = B original, 3 = heard by B, 4 = heard by A. */
export type RecordingChannel = 1 | 2 | 3 | 4;

export const RecordingChannels = { legAOriginal: 1, legBOriginal: 2, heardByB: 3, heardByA: 4 } as const satisfies Record<string, RecordingChannel>;

/** Why audio did not make it into the file. */
export type RecordingDropReason = 'backpressure' | 'size_limit' | 'write_failed' | 'open_failed';

/** What close() resolves: for the session record. */
export interface RecordingSummary {
  path: string;
  /** The file's format: 'wav' as written; 'opus' once transcoded (a WAV whose transcoding failed stays 'wav'). */
  format: 'wav' | 'opus';
  /** Length of the audio in the file. */
  durationMs: number;
  /** File size (header + data); 0 when the file could not be opened. */
  bytes: number;
  /** Audio not written (backpressure holes read as silence; size_limit audio is not in the file at all). */
  droppedMs: number;
  /** Silence inserted into a channel that fell more than a block behind the others. */
  paddedMs: number;
  /** The first open/write failure, or null. */
  error: string | null;
}

export interface RecordingStats {
  path: string;
  /** Audio accepted so far (the furthest channel). */
  durationMs: number;
  droppedMs: number;
  paddedMs: number;
  droppedByReason: Record<RecordingDropReason, number>;
  blocksWritten: number;
  blocksDropped: number;
  inFlightBlocks: number;
  /** Ring plus pooled block buffers: the recorder's whole audio memory. */
  bufferBytes: number;
  /** Frames at a rate other than 8000/16000, recorded as silence. */
  rateErrors: number;
  error: string | null;
}
