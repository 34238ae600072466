import type { PairTranslationInput } from '../../engine/src/pipeline/translation/config.js';
import { AnswerDelays, DEFAULT_DELAY_SEED, DELAY_PROFILES, type DelayProfileName, type DelayRange } from '../doubles/answer-delays.js';
import { DeepgramDouble } from '../doubles/deepgram-server.js';
import { DeeplDouble } from '../doubles/deepl-server.js';
import { ElevenLabsDouble } from '../doubles/elevenlabs-server.js';
import { CONVERSATION_SENTENCES } from './conversation.js';
import { LoadTestError } from './errors.js';

/**
 * The cascade a translation load run can drive instead of the reference
 * service (issue 14, "Measured"): recognizer → translator → synthesizer, the
 * cloud parts answered by the local doubles on 127.0.0.1 (tools/doubles), the
 * offline parts (Apertium, espeak-ng) run by the engine itself. By default
 * the doubles answer at once: what the run measures is Tandem's share, and the
 * provider's time split into recognition, translation and synthesis. With the
 * `realistic` delay profile (tools/doubles/answer-delays.ts) they take about
 * as long as the real services, so Tandem is measured holding every
 * utterance's state for as long as it would in production.
 */
export type CascadeRecognizerKind = 'deepgram';
export type CascadeTranslatorKind = 'deepl' | 'apertium';
export type CascadeSynthesizerKind = 'elevenlabs' | 'espeak-ng';

export interface CascadeParts {
  recognizer: CascadeRecognizerKind;
  translator: CascadeTranslatorKind;
  synthesizer: CascadeSynthesizerKind;
}

export const DEFAULT_CASCADE: CascadeParts = { recognizer: 'deepgram', translator: 'deepl', synthesizer: 'elevenlabs' };

/** How long the doubles take to answer: a profile and the seed of its random spread. */
export interface CascadeDelays {
  profile: DelayProfileName;
  seed: number;
}

export const NO_DELAYS: CascadeDelays = { profile: 'none', seed: DEFAULT_DELAY_SEED };

/** The delays as the report states them: the profile, its seed and the range of each answer the cascade's doubles delay. */
export function describeDelays(delays: CascadeDelays, parts: CascadeParts): { profile: DelayProfileName; seed: number; ranges_ms: Record<string, [number, number]> } {
  const ranges = DELAY_PROFILES[delays.profile];
  const range = (r: DelayRange): [number, number] => [r.minMs, r.maxMs];
  return {
    profile: delays.profile,
    seed: delays.seed,
    ranges_ms: {
      deepgram_final: range(ranges.deepgramFinal),
      ...(parts.translator === 'deepl' ? { deepl_response: range(ranges.deeplResponse) } : {}),
      ...(parts.synthesizer === 'elevenlabs' ? { elevenlabs_first_audio: range(ranges.elevenlabsFirstAudio), elevenlabs_chunk_gap: range(ranges.elevenlabsChunkGap) } : {}),
    },
  };
}

/** Where the doubles a cascade needs listen (only those it needs). */
export interface CascadeDoubleUrls {
  deepgram: string;
  deepl?: string;
  elevenlabs?: string;
}

/** The doubles only ever see these: they are local, so the keys are not secrets. */
const KEYS = { deepgram: 'loadtest-deepgram-key', deepl: 'loadtest-deepl-key', elevenlabs: 'loadtest-elevenlabs-key' } as const;
const VOICE_ID = 'loadtest-voice';
/** Script lines for the recognizer double: every session takes the next one, and the last repeats, so a long run still gets varied text. */
const SCRIPT_REPEATS = 2000;

/** `deepgram,deepl,elevenlabs` → parts; the message names the part that is wrong. */
export function parseCascadeParts(value: string): CascadeParts {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 3) throw new LoadTestError('INVALID_OPTIONS', `a cascade is recognizer,translator,synthesizer (e.g. deepgram,deepl,elevenlabs), got ${JSON.stringify(value)}`);
  const [recognizer, translator, synthesizer] = parts as [string, string, string];
  if (recognizer !== 'deepgram') throw new LoadTestError('INVALID_OPTIONS', `cascade recognizer: expected deepgram, got ${JSON.stringify(recognizer)}`);
  if (translator !== 'deepl' && translator !== 'apertium') throw new LoadTestError('INVALID_OPTIONS', `cascade translator: expected deepl or apertium, got ${JSON.stringify(translator)}`);
  if (synthesizer !== 'elevenlabs' && synthesizer !== 'espeak-ng') throw new LoadTestError('INVALID_OPTIONS', `cascade synthesizer: expected elevenlabs or espeak-ng, got ${JSON.stringify(synthesizer)}`);
  return { recognizer, translator, synthesizer };
}

export function formatCascadeParts(parts: CascadeParts): string {
  return `${parts.recognizer},${parts.translator},${parts.synthesizer}`;
}

/**
 * Deepgram's own endpointing in a load run, above the VAD's 300 ms: every utterance is then ended by Tandem's VAD
 * (its Finalize makes the double answer, at once or after the delay profile's delay), so each answer comes after the VAD's decision and is timed. At
 * 300 ms the double's final races the VAD, and an answer that reaches the engine before the VAD's decision is
 * played but not timed (TranslatingStage times an answer only against a decision already made).
 */
export const LOAD_RECOGNIZER_ENDPOINTING_MS = 1000;

/** The engine's provider config for a pair: every part pointed at its double (or run locally). */
export function cascadeProvider(parts: CascadeParts, urls: CascadeDoubleUrls, recognizerEndpointingMs = LOAD_RECOGNIZER_ENDPOINTING_MS): PairTranslationInput['provider'] {
  const need = (url: string | undefined, name: string): string => {
    if (url === undefined) throw new LoadTestError('INVALID_OPTIONS', `the cascade needs the ${name} double, and none was started`);
    return url;
  };
  return {
    kind: 'cascade',
    recognizer: { kind: 'deepgram', url: urls.deepgram, apiKey: KEYS.deepgram, endpointingMs: recognizerEndpointingMs },
    translator: parts.translator === 'deepl' ? { kind: 'deepl', serverUrl: need(urls.deepl, 'DeepL'), authKey: KEYS.deepl } : { kind: 'apertium' },
    synthesizer: parts.synthesizer === 'elevenlabs' ? { kind: 'elevenlabs', url: need(urls.elevenlabs, 'ElevenLabs'), apiKey: KEYS.elevenlabs, voiceId: VOICE_ID } : { kind: 'espeak-ng' },
  };
}

/** The doubles a cascade needs, started together on 127.0.0.1 (kernel-picked ports); close() ends them all. */
export class CascadeDoubles {
  readonly parts: CascadeParts;
  readonly deepgram: DeepgramDouble;
  readonly deepl: DeeplDouble | null;
  readonly elevenlabs: ElevenLabsDouble | null;
  readonly delays: CascadeDelays;

  private constructor(parts: CascadeParts, delays: CascadeDelays, deepgram: DeepgramDouble, deepl: DeeplDouble | null, elevenlabs: ElevenLabsDouble | null) {
    this.parts = parts;
    this.delays = delays;
    this.deepgram = deepgram;
    this.deepl = deepl;
    this.elevenlabs = elevenlabs;
  }

  static async start(parts: CascadeParts, delays: CascadeDelays = NO_DELAYS): Promise<CascadeDoubles> {
    const script = Array.from({ length: SCRIPT_REPEATS }, () => [...CONVERSATION_SENTENCES]).flat();
    // Each double draws from its own stream of the seed, so adding a part does not change another's delays.
    const drawn = (offset: number): AnswerDelays => new AnswerDelays({ profile: delays.profile, seed: delays.seed + offset });
    const started: Array<{ close(): Promise<void> }> = [];
    try {
      const deepgram = await DeepgramDouble.start({ apiKey: KEYS.deepgram, script, host: '127.0.0.1', port: 0, delays: drawn(0) });
      started.push(deepgram);
      const deepl = parts.translator === 'deepl' ? await DeeplDouble.start({ authKey: KEYS.deepl, delays: drawn(1) }) : null;
      if (deepl !== null) started.push(deepl);
      const elevenlabs = parts.synthesizer === 'elevenlabs' ? await ElevenLabsDouble.start({ apiKey: KEYS.elevenlabs, delays: drawn(2) }) : null;
      return new CascadeDoubles(parts, delays, deepgram, deepl, elevenlabs);
    } catch (err) {
      await Promise.allSettled(started.map((d) => d.close()));
      throw err;
    }
  }

  get urls(): CascadeDoubleUrls {
    return {
      deepgram: this.deepgram.url,
      ...(this.deepl !== null ? { deepl: this.deepl.url } : {}),
      ...(this.elevenlabs !== null ? { elevenlabs: this.elevenlabs.url } : {}),
    };
  }

  /** What the doubles saw: sessions, utterances named (recognised), requests and syntheses, and the delays they drew. */
  stats(): Record<string, unknown> {
    const dg = this.deepgram.sessions;
    return {
      delays: { profile: this.delays.profile, seed: this.delays.seed },
      deepgram: {
        sessions: dg.length,
        utterances: dg.reduce((n, s) => n + s.utterances, 0),
        finalizes: dg.reduce((n, s) => n + s.finalizes, 0),
        finals_sent: dg.reduce((n, s) => n + s.finalsSent, 0),
        audio_bytes: dg.reduce((n, s) => n + s.audioBytes, 0),
        refused: this.deepgram.rejectedCount,
        delays: this.deepgram.delays.stats().planned,
      },
      ...(this.deepl !== null ? { deepl: { requests: this.deepl.requests.length, answered: this.deepl.answered, rejected: this.deepl.rejected, delays: this.deepl.delays.stats().planned } } : {}),
      ...(this.elevenlabs !== null
        ? {
            elevenlabs: {
              sessions: this.elevenlabs.sessions.length,
              chunks: this.elevenlabs.sessions.reduce((n, s) => n + s.chunksSent, 0),
              refused: this.elevenlabs.refusedKeys,
              delays: this.elevenlabs.delays.stats().planned,
            },
          }
        : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.deepgram.close(), this.deepl?.close(), this.elevenlabs?.close()]);
  }
}
