import { Option, type Command } from 'commander';
import { setLogLevel } from '../../common/src/logger.js';
import { untilSignal } from '../../control/src/cli/commands/signals.js';
import { CascadeDoubles, DEFAULT_CASCADE, formatCascadeParts, parseCascadeParts } from '../media-load/cascade-doubles.js';
import { LISTENING_PREFIX, STATS_PREFIX } from './reference-service.js';

/** Printed before the listening line: every double's URL as JSON (the listening line carries the recognizer's). */
export const DOUBLES_PREFIX = 'doubles ';

/**
 * `tandem cascade-doubles`: the local doubles a cascade load run talks to
 * (Deepgram, and DeepL / ElevenLabs when the cascade uses them), in a process
 * of their own so their CPU is not counted as the engine's. Prints
 * `doubles {"deepgram":…,"deepl":…,"elevenlabs":…}`, then `listening <deepgram
 * URL>`; SIGINT/SIGTERM close them, after which it prints `stats {...}`.
 */
export function registerCascadeDoublesCommand(program: Command): void {
  program
    .command('cascade-doubles')
    .description('run the local doubles of a cascade (Deepgram, DeepL, ElevenLabs) on 127.0.0.1 for a translation load run')
    .addOption(new Option('--cascade <parts>', 'recognizer,translator,synthesizer: deepgram,deepl|apertium,elevenlabs|espeak-ng').default(formatCascadeParts(DEFAULT_CASCADE)))
    .action(async (flags: { cascade: string }) => {
      const parts = parseCascadeParts(flags.cascade);
      // Nothing may reach stdout before the URL lines.
      setLogLevel('silent');
      const doubles = await CascadeDoubles.start(parts);
      try {
        const stopped = untilSignal();
        process.stdout.write(`${DOUBLES_PREFIX}${JSON.stringify(doubles.urls)}\n`);
        process.stdout.write(`${LISTENING_PREFIX}${doubles.urls.deepgram}\n`);
        setLogLevel(process.env['TANDEM_LOG_LEVEL'] ?? 'warn');
        await stopped;
      } finally {
        await doubles.close();
      }
      process.stdout.write(`${STATS_PREFIX}${JSON.stringify({ ...doubles.stats(), cpuUsage: process.cpuUsage() })}\n`);
    });
}
