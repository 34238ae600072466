import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../../../common/src/logger.js';
import { VadEngine, type VadSampleRate } from '../../../../engine/src/pipeline/vad/index.js';
import { buildProgram, loadCorpus, promptsInstalled, type Background } from '../../../../tools/bench/vad-eval/corpus.js';
import { runArm } from '../../../../tools/bench/vad-eval/evaluate.js';

/**
 * The energy gate against Silero on every chunk, on real speech: espeak-ng sentences and recorded
 * prompts (Debian's asterisk-core-sounds-en-wav, which .ci/run installs), with silence or noise between.
 * `npm run bench:vad` runs the full corpus and prints the figures; this is its small, asserting cut.
 */
const PRE_ROLL_MS = 96; // the default adaptiveGate.preRollMs

describe('energy gate on a small speech corpus', () => {
  let engine: VadEngine;
  beforeAll(async () => {
    setLogLevel('error');
    engine = await VadEngine.create({ batchWindowMs: 0 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('has the recorded prompts installed (apt-get install asterisk-core-sounds-en-wav)', async () => {
    expect(await promptsInstalled()).toBe(true);
  });

  const cases: Array<[string, VadSampleRate, Background]> = [
    ['8 kHz µ-law, digital silence between', 8000, { kind: 'silence' }],
    ['8 kHz µ-law, white noise at −50 dBFS', 8000, { kind: 'white', dbfs: -50 }],
    ['16 kHz, low rumble at −40 dBFS', 16000, { kind: 'rumble', dbfs: -40 }],
  ];

  it.each(cases)('%s: finds every utterance the model finds, never starting later than it by more than the pre-roll', async (_label, rate, background) => {
    const clips = await loadCorpus(rate, {
      sentences: ['Please call me back tomorrow morning at nine.', 'Yes.'],
      prompts: ['hello-world', 'conf-getpin', 'tt-weasels', 'vm-nobodyavail'],
    });
    expect(clips.filter((c) => c.source === 'asterisk-prompt')).toHaveLength(4);
    const program = buildProgram(clips, { rate, leadMs: 1500, gapsMs: [900, 2200, 1400], tailMs: 1500, background, ulaw: rate === 8000, seed: 3 });
    const model = await runArm(engine, program, { energyGateDbfs: 0 }, 4);
    const gated = await runArm(engine, program, {}, 4);
    for (const arm of [model, gated]) {
      expect(arm.stats.droppedChunks).toBe(0);
      for (const s of arm.scores) expect(s.missed, JSON.stringify(s.matches.map((m) => m.segments))).toBe(0);
    }
    gated.scores.forEach((s, i) =>
      s.matches.forEach((m, j) => {
        const ref = model.scores[i]!.matches[j]!;
        expect(m.startErrorMs! - ref.startErrorMs!, `stream ${i} ${m.truth.clip}`).toBeLessThanOrEqual(PRE_ROLL_MS);
      }),
    );
    // The gate did skip the model: for the background between utterances.
    expect(gated.stats.inferences).toBeLessThan(0.8 * model.stats.inferences);
    expect(gated.stats.skippedByGate).toBeGreaterThan(0);
  });
});
