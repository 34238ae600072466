import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import type { PairTranslationInput } from '../../engine/src/pipeline/translation/config.js';
import { LoadTestError } from './errors.js';
import type { ConversationSpec } from './generator-protocol.js';
import { runLoadTest, type LoadTestOptions } from './orchestrator.js';
import { TranslationCollector } from './translation-collector.js';
import { startProvider, type RunningProvider, type TranslationServiceSpec } from './translation-provider.js';
import type { TranslationLoadReport } from './translation-report.js';

/**
 * The translation load run (issue #6 "Measured", issue #15): every pair of a
 * load test opens translated through a Tandem-protocol service, the generator
 * plays espeak-ng speech, the engine's VAD ends utterances and the service
 * answers them. By default the two parties of a pair take turns
 * (conversation.ts): A says a sentence, then is silent while the translation
 * plays and B answers, so the report can count every utterance sent against
 * the ones the engine detected. `talk: 'overlap'` is the earlier mode: both
 * legs loop speech at once, no utterance count. What it measures comes from
 * the engine's own events (speech, latency, transcripts, errors) and counters
 * (legs, stages), the generator's totals, and the engine process's memory
 * sampled once a second (translation-collector.ts). With a `cascade` service
 * the pairs translate through the cascade provider against the local doubles
 * instead (translation-provider.ts, cascade-doubles.ts), and the report splits
 * the provider's time into recognition, translation and synthesis.
 */
export type { TranslationServiceSpec } from './translation-provider.js';

export interface TranslationLoadOptions extends Omit<LoadTestOptions, 'translation' | 'ramp' | 'preferTone'> {
  service: TranslationServiceSpec;
  /** Default { A: 'en', B: 'es' }. */
  languages?: { A: string; B: string };
  /** What the listener's leg carries between answers (PairTranslation.between); default 'silence'. */
  between?: 'silence' | 'nothing';
  /** turns (default): the parties of a pair speak in turns; overlap: both legs talk all the time. */
  talk?: TalkMode;
  /** With talk 'turns': the answer wait and (tests) utterances muted on purpose. Default { answerWaitMs: DEFAULT_ANSWER_WAIT_MS }. */
  conversation?: ConversationSpec;
}

export type TalkMode = 'turns' | 'overlap';
export const TALK_MODES: readonly TalkMode[] = ['turns', 'overlap'];
/**
 * Silence after each utterance before the other party speaks: the VAD's
 * 300 ms, the reference service's answer ("utterance 3, 1.2 s", about 2 s of
 * espeak-ng) and a moment to react.
 */
export const DEFAULT_ANSWER_WAIT_MS = 2500;

const log = logger('loadtest.translation');

export async function runTranslationLoadTest(options: TranslationLoadOptions): Promise<TranslationLoadReport> {
  const { service: spec, languages = { A: 'en', B: 'es' }, between = 'silence', talk = 'turns', conversation, hooks = {}, ...rest } = options;
  if (talk === 'overlap' && conversation !== undefined) throw new LoadTestError('INVALID_OPTIONS', 'a conversation spec needs talk: turns');
  let running: RunningProvider | null = null;
  let childStats: Record<string, unknown> | null = null;
  const collector = new TranslationCollector(() => running?.cpuMs() ?? null);
  try {
    running = await startProvider(spec);
    const translation: PairTranslationInput = { provider: running.provider, languages, between };
    const talkSpec = talk === 'turns' ? (conversation ?? { answerWaitMs: DEFAULT_ANSWER_WAIT_MS }) : undefined;
    const report = await runLoadTest({
      ...rest,
      translation,
      ...(talkSpec !== undefined ? { conversation: talkSpec } : {}),
      hooks: {
        ...hooks,
        engineStarted: (engine) => {
          collector.attach(engine);
          hooks.engineStarted?.(engine);
        },
        measuring: () => {
          collector.measuring();
          hooks.measuring?.();
        },
        measured: async (generator) => {
          await collector.measured(generator);
          await hooks.measured?.(generator);
        },
      },
    });
    childStats = await running.stop();
    const section = collector.section({
      report,
      service: { ...running.service, stats: childStats },
      languages,
      between,
      vadGate: rest.engine?.vad?.adaptiveGate?.enabled === false ? 'absolute' : 'adaptive',
      conversation: talkSpec,
    });
    return { ...report, translation: section };
  } finally {
    collector.close();
    await running?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the translation service failed'));
  }
}
