import { errorMessage } from '../../common/src/errors.js';
import type { PairTranslationInput } from '../../engine/src/pipeline/translation/config.js';
import { CascadeDoubles, cascadeProvider, describeDelays, LOAD_RECOGNIZER_ENDPOINTING_MS, NO_DELAYS, type CascadeDelays, type CascadeDoubleUrls, type CascadeParts } from './cascade-doubles.js';
import { LoadTestError } from './errors.js';
import { ServiceProcess, type ServiceProcessOptions } from './service-process.js';
import type { TranslationSection } from './translation-report.js';

/**
 * What translates a load run's pairs, started before the engine and stopped
 * after it: the Tandem-protocol service (the reference service, or one at a
 * URL), or a cascade whose cloud parts are the local doubles — in a child
 * process (the CLI: their CPU is not the engine's) or in this one (tests).
 */
export type TranslationServiceSpec =
  /** A service already running (or external): the run only connects to it. */
  | { kind: 'url'; url: string; token?: string }
  /** A command started for the run and stopped after it (`tandem reference-service`); see service-process.ts. */
  | ({ kind: 'process' } & ServiceProcessOptions)
  /**
   * The cascade provider against the doubles: `process` runs them as `tandem cascade-doubles` (started with the same
   * `--delays` and `--delay-seed`: its `doubles` line must say so), else in this process.
   */
  | {
      kind: 'cascade';
      parts: CascadeParts;
      process?: ServiceProcessOptions;
      /** Deepgram's endpointing; default LOAD_RECOGNIZER_ENDPOINTING_MS. */
      recognizerEndpointingMs?: number;
      /** How long the doubles take to answer; default NO_DELAYS (at once). */
      delays?: CascadeDelays;
    };

/** A started provider: the pairs' provider config, the service's CPU so far, and stop() (idempotent) with what it counted. */
export interface RunningProvider {
  provider: PairTranslationInput['provider'];
  service: Omit<TranslationSection['service'], 'cpu_pct' | 'stats'>;
  cpuMs(): number | null;
  stop(): Promise<Record<string, unknown> | null>;
}

const DOUBLES_PREFIX = 'doubles ';

/** The doubles' URLs from the child's `doubles {json}` line, which must also name the delays the run asked for. */
function doubleUrls(child: ServiceProcess, delays: CascadeDelays): CascadeDoubleUrls {
  const line = child.preamble.find((l) => l.startsWith(DOUBLES_PREFIX));
  if (line === undefined) throw new LoadTestError('INVALID_OPTIONS', 'the cascade doubles process printed no `doubles {json}` line');
  try {
    const parsed = JSON.parse(line.slice(DOUBLES_PREFIX.length)) as Partial<CascadeDoubleUrls> & { delays?: Partial<CascadeDelays> };
    if (typeof parsed.deepgram !== 'string') throw new Error('no deepgram URL');
    const said = parsed.delays ?? NO_DELAYS;
    if (said.profile !== delays.profile || said.seed !== delays.seed) {
      throw new Error(`its delays are ${JSON.stringify(said)}, the run asked for ${JSON.stringify(delays)} (pass --delays and --delay-seed)`);
    }
    return { deepgram: parsed.deepgram, ...(typeof parsed.deepl === 'string' ? { deepl: parsed.deepl } : {}), ...(typeof parsed.elevenlabs === 'string' ? { elevenlabs: parsed.elevenlabs } : {}) };
  } catch (err) {
    throw new LoadTestError('INVALID_OPTIONS', `the cascade doubles process printed a doubles line that is not usable: ${errorMessage(err)}`);
  }
}

export async function startProvider(spec: TranslationServiceSpec): Promise<RunningProvider> {
  if (spec.kind === 'url') {
    return {
      provider: { kind: 'tandem', url: spec.url, sampleRate: 8000, ...(spec.token !== undefined ? { token: spec.token } : {}) },
      service: { kind: 'external', url: spec.url, provider: 'tandem', cascade: null },
      cpuMs: () => null,
      stop: () => Promise.resolve(null),
    };
  }
  if (spec.kind === 'process') {
    const { kind: _kind, ...processOptions } = spec;
    const child = await ServiceProcess.start(processOptions);
    return {
      provider: { kind: 'tandem', url: child.url, sampleRate: 8000 },
      service: { kind: 'child-process', url: child.url, provider: 'tandem', cascade: null },
      cpuMs: () => child.cpuMs(),
      stop: () => child.stop(),
    };
  }
  const delays = spec.delays ?? NO_DELAYS;
  const cascade = {
    recognizer: spec.parts.recognizer,
    translator: spec.parts.translator,
    synthesizer: spec.parts.synthesizer,
    recognizer_endpointing_ms: spec.recognizerEndpointingMs ?? LOAD_RECOGNIZER_ENDPOINTING_MS,
    delays: describeDelays(delays, spec.parts),
  };
  if (spec.process !== undefined) {
    const child = await ServiceProcess.start(spec.process);
    try {
      const urls = doubleUrls(child, delays);
      return {
        provider: cascadeProvider(spec.parts, urls, spec.recognizerEndpointingMs),
        service: { kind: 'child-process', url: child.url, provider: 'cascade', cascade: { ...cascade, urls: { ...urls } } },
        cpuMs: () => child.cpuMs(),
        stop: () => child.stop(),
      };
    } catch (err) {
      await child.stop();
      throw err;
    }
  }
  const doubles = await CascadeDoubles.start(spec.parts, delays);
  let stopped: Promise<Record<string, unknown>> | null = null;
  return {
    provider: cascadeProvider(spec.parts, doubles.urls, spec.recognizerEndpointingMs),
    service: { kind: 'in-process', url: doubles.urls.deepgram, provider: 'cascade', cascade: { ...cascade, urls: { ...doubles.urls } } },
    cpuMs: () => null,
    stop: () => (stopped ??= doubles.close().then(() => doubles.stats())),
  };
}
