/**
 * Turns a stream's settings (in ms) into what its parts count in at one sample rate: the segmenter's
 * thresholds in samples, and the energy gate and its pre-roll/warm/reset lengths in chunks.
 */
import { EnergyGate } from './energy-gate.js';
import type { VadGeometry } from './model.js';
import type { AdaptiveGateSettings, VadStreamSettings } from './options.js';
import type { SegmenterSettings } from './segmenter.js';

export function segmenterSettings(s: VadStreamSettings, rate: number): SegmenterSettings {
  const perMs = rate / 1000;
  return {
    threshold: s.threshold,
    negThreshold: s.negThreshold ?? Math.max(s.threshold - 0.15, 0.01),
    minSpeechSamples: s.minSpeechMs * perMs,
    minSilenceSamples: s.minSilenceMs * perMs,
    padSamples: s.speechPadMs * perMs,
  };
}

export interface GatePlan {
  gate: EnergyGate;
  /** Chunks of pre-roll (0..maxQueuedChunks - 1). */
  preRollChunks: number;
  /** Gated chunks the model did not hear after which its state restarts; 0: never. */
  resetAfterChunks: number;
  /** Gated chunks of an utterance's pending end the model still hears. */
  warmChunks: number;
}

/** `rate` 0 (not started) sizes chunks as at 16 kHz. */
export function gatePlan(s: VadStreamSettings, a: AdaptiveGateSettings, g: VadGeometry, rate: number): GatePlan {
  const chunkMs = (g.window * 1000) / (rate || 16000);
  return {
    preRollChunks: s.energyGateDbfs < 0 ? Math.min(Math.ceil(a.preRollMs / chunkMs), s.maxQueuedChunks - 1) : 0,
    resetAfterChunks: a.stateResetAfterMs > 0 ? Math.ceil(a.stateResetAfterMs / chunkMs) : 0,
    warmChunks: s.energyGateDbfs < 0 ? Math.ceil(a.warmMs / chunkMs) : 0,
    gate: new EnergyGate({
      absoluteDbfs: s.energyGateDbfs < 0 ? s.energyGateDbfs : null,
      adaptive: a.enabled,
      marginDb: a.marginDb,
      hangoverChunks: Math.ceil(a.hangoverMs / chunkMs),
      riseDbPerChunk: (a.floorRiseDbPerSec * chunkMs) / 1000,
    }),
  };
}
