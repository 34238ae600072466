import { describe, expect, it } from 'vitest';
import { EnergyGate, meanSquareDbfs, type EnergyGateSettings } from '../../../../engine/src/pipeline/vad/index.js';

const SETTINGS: EnergyGateSettings = { absoluteDbfs: -60, adaptive: true, marginDb: 6, hangoverChunks: 8, riseDbPerChunk: 0.096 };

/** Mean square (int16 scale) of a chunk at `dbfs`. */
const at = (dbfs: number): number => (32768 * 10 ** (dbfs / 20)) ** 2;

/** Feeds `n` chunks at `dbfs`; returns how many needed the model. */
function run(gate: EnergyGate, n: number, dbfs: number, busy = false): number {
  let open = 0;
  for (let i = 0; i < n; i++) if (gate.needsModel(at(dbfs), busy)) open++;
  return open;
}

describe('EnergyGate', () => {
  it('measures chunks in dBFS, digital zero as far below anything', () => {
    expect(meanSquareDbfs(at(-20))).toBeCloseTo(-20, 6);
    expect(meanSquareDbfs(0)).toBeLessThan(-120);
  });

  it('sends a new stream to the model until it has learnt the background, then only the hangover', () => {
    const gate = new EnergyGate(SETTINGS);
    // First chunk (no floor yet) + 8 of hangover.
    expect(run(gate, 100, -45)).toBe(9);
    expect(gate.floorDbfs).toBeCloseTo(-45, 1);
  });

  it('opens on a chunk the margin above the background and stays open for the hangover', () => {
    const gate = new EnergyGate(SETTINGS);
    run(gate, 50, -45);
    expect(gate.needsModel(at(-44), false)).toBe(false); // within the margin
    expect(gate.needsModel(at(-38), false)).toBe(true);
    expect(run(gate, 8, -45)).toBe(8);
    expect(gate.needsModel(at(-45), false)).toBe(false);
  });

  it('stays open while the caller says the model is needed (an utterance is open)', () => {
    const gate = new EnergyGate(SETTINGS);
    run(gate, 50, -45);
    expect(run(gate, 20, -45, true)).toBe(20);
    expect(run(gate, 5, -45, false)).toBe(0);
  });

  it('calls anything under the absolute floor silence at once, even while busy, without moving the background', () => {
    const gate = new EnergyGate(SETTINGS);
    run(gate, 50, -45);
    expect(run(gate, 10, -70, true)).toBe(0);
    expect(gate.floorDbfs).toBeCloseTo(-45, 1);
  });

  it('learns a louder background within seconds, and a single quiet dropout does not reset it', () => {
    const gate = new EnergyGate(SETTINGS);
    run(gate, 50, -50);
    // 20 dB louder: open until the floor has risen to within the margin (14 dB at 0.096 dB/chunk ≈ 146 chunks, 4.7 s).
    const open = run(gate, 400, -30);
    expect(open).toBeGreaterThan(100);
    expect(open).toBeLessThan(200);
    expect(gate.needsModel(at(-30), false)).toBe(false);
    gate.needsModel(at(-58), false);
    expect(gate.floorDbfs!).toBeGreaterThan(-40);
  });

  it('passes every chunk with no absolute floor, and only the absolute floor when not adaptive', () => {
    const off = new EnergyGate({ ...SETTINGS, absoluteDbfs: null });
    expect(run(off, 20, -100)).toBe(20);
    const absolute = new EnergyGate({ ...SETTINGS, adaptive: false });
    expect(run(absolute, 20, -45)).toBe(20);
    expect(run(absolute, 20, -65)).toBe(0);
  });
});
