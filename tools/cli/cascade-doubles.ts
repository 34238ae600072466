import { Option, type Command } from 'commander';
import { setLogLevel } from '../../common/src/logger.js';
import { parseInteger } from '../../control/src/cli/commands/engine-options.js';
import { untilSignal } from '../../control/src/cli/commands/signals.js';
import { DEFAULT_DELAY_SEED, DELAY_PROFILE_NAMES, type DelayProfileName } from '../doubles/answer-delays.js';
import { CascadeDoubles, DEFAULT_CASCADE, formatCascadeParts, parseCascadeParts, type CascadeDelays } from '../media-load/cascade-doubles.js';
import { LISTENING_PREFIX, STATS_PREFIX } from './reference-service.js';

/** Printed before the listening line: every double's URL as JSON (the listening line carries the recognizer's). */
export const DOUBLES_PREFIX = 'doubles ';

/**
 * `tandem cascade-doubles`: the local doubles a cascade load run talks to
 * (Deepgram, and DeepL / ElevenLabs when the cascade uses them), in a process
 * of their own so their CPU is not counted as the engine's. `--delays
 * realistic` makes them answer about as late as the real services
 * (tools/doubles/answer-delays.ts). Prints `doubles {"deepgram":…,"deepl":…,
 * "elevenlabs":…,"delays":{"profile":…,"seed":…}}`, then `listening <deepgram
 * URL>`; SIGINT/SIGTERM close them, after which it prints `stats {...}`.
 */
export function registerCascadeDoublesCommand(program: Command): void {
  program
    .command('cascade-doubles')
    .description('run the local doubles of a cascade (Deepgram, DeepL, ElevenLabs) on 127.0.0.1 for a translation load run')
    .addOption(new Option('--cascade <parts>', 'recognizer,translator,synthesizer: deepgram,deepl|apertium,elevenlabs|espeak-ng').default(formatCascadeParts(DEFAULT_CASCADE)))
    .addOption(new Option('--delays <profile>', 'how long the doubles take to answer: none (at once) or realistic (docs/cascade.md)').choices(DELAY_PROFILE_NAMES).default('none'))
    .addOption(new Option('--delay-seed <n>', 'seed of the delays\' random spread (same seed, same delays)').default(DEFAULT_DELAY_SEED).argParser(parseInteger))
    .action(async (flags: { cascade: string; delays: DelayProfileName; delaySeed: number }) => {
      const parts = parseCascadeParts(flags.cascade);
      const delays: CascadeDelays = { profile: flags.delays, seed: flags.delaySeed };
      // Nothing may reach stdout before the URL lines.
      setLogLevel('silent');
      const doubles = await CascadeDoubles.start(parts, delays);
      try {
        const stopped = untilSignal();
        process.stdout.write(`${DOUBLES_PREFIX}${JSON.stringify({ ...doubles.urls, delays })}\n`);
        process.stdout.write(`${LISTENING_PREFIX}${doubles.urls.deepgram}\n`);
        setLogLevel(process.env['TANDEM_LOG_LEVEL'] ?? 'warn');
        await stopped;
      } finally {
        await doubles.close();
      }
      process.stdout.write(`${STATS_PREFIX}${JSON.stringify({ ...doubles.stats(), cpuUsage: process.cpuUsage() })}\n`);
    });
}
