/**
 * `npm run bench:vad`: what the energy gate in front of Silero costs in
 * accuracy and saves in CPU, on the corpus of corpus.ts (espeak-ng sentences
 * and Debian's asterisk-core-sounds-en-wav prompts) with silence or noise
 * between the utterances. Three arms per scenario, each on the same audio:
 *   model:    Silero on every chunk (energyGateDbfs 0);
 *   absolute: only the −60 dBFS floor (the gate before the adaptive one);
 *   adaptive: the default gate (absolute floor + learnt background, pre-roll).
 * Prints a table; figures are per stream. Options:
 *   --streams 8   streams playing the program at once (batched)
 *   --rates 8000,16000
 *   --gaps 800,1500,2600,600,3200,1100   silence between utterances, ms, cycled
 *          (a party of a translated call listens between its turns: try 3000,5000,4000)
 */
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../../common/src/logger.js';
import type { VadSampleRate } from '../../../engine/src/pipeline/vad/model.js';
import type { VadStreamOptions } from '../../../engine/src/pipeline/vad/options.js';
import { VadEngine } from '../../../engine/src/pipeline/vad/vad-engine.js';
import { buildProgram, loadCorpus, promptsInstalled, type Background } from './corpus.js';
import { runArm, summarize, type ArmResult } from './evaluate.js';

const ARMS: Array<{ name: string; options: VadStreamOptions }> = [
  { name: 'model', options: { energyGateDbfs: 0 } },
  { name: 'absolute', options: { adaptiveGate: { enabled: false } } },
  { name: 'adaptive', options: {} },
];

const BACKGROUNDS: Array<{ name: string; background: Background }> = [
  { name: 'silence', background: { kind: 'silence' } },
  { name: 'white −50 dBFS', background: { kind: 'white', dbfs: -50 } },
  { name: 'rumble −40 dBFS', background: { kind: 'rumble', dbfs: -40 } },
  { name: 'white −35 dBFS', background: { kind: 'white', dbfs: -35 } },
];

const GAPS_MS = [800, 1500, 2600, 600, 3200, 1100];

/** Per utterance of each stream: the arm's start/end minus the model arm's (where both found it). */
function versusModel(arm: ArmResult, model: ArmResult): { startLateMax: number | null; endDiffMaxAbs: number | null } {
  let startLateMax: number | null = null;
  let endDiffMaxAbs: number | null = null;
  arm.scores.forEach((s, i) => {
    s.matches.forEach((m, j) => {
      const ref = model.scores[i]!.matches[j]!;
      if (m.startErrorMs === null || ref.startErrorMs === null) return;
      const late = m.startErrorMs - ref.startErrorMs;
      startLateMax = Math.max(startLateMax ?? late, late);
      const end = Math.abs(m.endErrorMs! - ref.endErrorMs!);
      endDiffMaxAbs = Math.max(endDiffMaxAbs ?? end, end);
    });
  });
  return { startLateMax, endDiffMaxAbs };
}

const f = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { streams: { type: 'string', default: '8' }, rates: { type: 'string', default: '8000,16000' }, gaps: { type: 'string', default: GAPS_MS.join(',') } },
  });
  const gapsMs = values.gaps.split(',').map(Number);
  if (gapsMs.some((g) => !Number.isFinite(g) || g < 400)) throw new RangeError('--gaps: each gap must be a number of ms ≥ 400 (longer than the VAD\'s 300 ms silence)');
  const streams = Number(values.streams);
  const rates = values.rates.split(',').map(Number) as VadSampleRate[];
  setLogLevel('error');
  const prompts = await promptsInstalled();
  process.stdout.write(
    `VAD energy gate on ${prompts ? 'espeak-ng sentences + asterisk-core-sounds-en-wav prompts' : 'espeak-ng sentences only (asterisk-core-sounds-en-wav is not installed)'}; ` +
      `${streams} streams per run, each offset 37 ms from the last; gaps ${gapsMs.join('/')} ms; 8 kHz is carried through G.711 µ-law.\n` +
      `start/end: detected − true edge in ms (p50 / p95; the VAD pads 30 ms); vs model: latest start and largest end change against Silero on every chunk.\n\n`,
  );
  const header = ['rate', 'background', 'arm', 'found', 'missed', 'splits', 'false', 'start p50/p95', 'end p50/p95', 'vs model start/end', 'model runs', 'CPU ms per s'];
  const rows: string[][] = [];
  // No batch window: the feed waits for the engine after every tick, so a window would only add wall time.
  const engine = await VadEngine.create({ batchWindowMs: 0 });
  try {
    for (const rate of rates) {
      const clips = await loadCorpus(rate);
      for (const { name, background } of BACKGROUNDS) {
        const program = buildProgram(clips, { rate, leadMs: 1500, gapsMs, tailMs: 1500, background, ulaw: rate === 8000, seed: 7 });
        const results: ArmResult[] = [];
        for (const arm of ARMS) {
          const result = await runArm(engine, program, arm.options, streams);
          results.push(result);
          const s = summarize(result);
          const vs = arm.name === 'model' ? null : versusModel(result, results[0]!);
          rows.push([
            String(rate),
            name,
            arm.name,
            `${s.found}/${s.utterances}`,
            String(s.missed),
            String(s.splits),
            String(s.falseAlarms),
            `${f(s.startErrorMs.p50)} / ${f(s.startErrorMs.p95)}`,
            `${f(s.endErrorMs.p50)} / ${f(s.endErrorMs.p95)}`,
            vs === null ? '(reference)' : `${f(vs.startLateMax)} / ${f(vs.endDiffMaxAbs)}`,
            `${(s.modelShare * 100).toFixed(1)} %`,
            f(result.cpuMsPerAudioSecond, 2),
          ]);
        }
      }
    }
  } finally {
    await engine.close();
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |\n`;
  process.stdout.write(line(header));
  process.stdout.write(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const r of rows) process.stdout.write(line(r));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
