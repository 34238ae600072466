import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import type { PairTranslationInput } from '../../engine/src/pipeline/translation/config.js';
import { LoadTestError } from './errors.js';
import type { ConversationSpec } from './generator-protocol.js';
import { runLoadTest, type LoadTestOptions } from './orchestrator.js';
import { ServiceProcess, type ServiceProcessOptions } from './service-process.js';
import { TranslationCollector } from './translation-collector.js';
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
 * sampled once a second (translation-collector.ts).
 */
export type TranslationServiceSpec =
  /** A service already running (or external): the run only connects to it. */
  | { kind: 'url'; url: string; token?: string }
  /** A command started for the run and stopped after it (`tandem reference-service`); see service-process.ts. */
  | ({ kind: 'process' } & ServiceProcessOptions);

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
  let child: ServiceProcess | null = null;
  let childStats: Record<string, unknown> | null = null;
  const collector = new TranslationCollector(() => child?.cpuMs() ?? null);
  try {
    if (spec.kind === 'process') {
      const { kind: _kind, ...processOptions } = spec;
      child = await ServiceProcess.start(processOptions);
    }
    const url = child?.url ?? (spec.kind === 'url' ? spec.url : '');
    const token = spec.kind === 'url' ? spec.token : undefined;
    const translation: PairTranslationInput = {
      provider: { kind: 'tandem', url, sampleRate: 8000, ...(token !== undefined ? { token } : {}) },
      languages,
      between,
    };
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
    if (child !== null) childStats = await child.stop();
    const section = collector.section({
      report,
      service: { kind: child !== null ? 'child-process' : 'external', url, stats: childStats },
      languages,
      between,
      vadGate: rest.engine?.vad?.adaptiveGate?.enabled === false ? 'absolute' : 'adaptive',
      conversation: talkSpec,
    });
    return { ...report, translation: section };
  } finally {
    collector.close();
    await child?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the translation service failed'));
  }
}
