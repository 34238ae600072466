import type { Logger } from '../../../../common/src/logger.js';
import { IdentityStage } from '../identity-stage.js';
import type { Direction, PipelineStage, StageContext } from '../stage.js';
import type { TranscriptEvent } from '../transcript-event.js';
import { directionLanguages, type PairTranslation, type VadSettings } from './config.js';
import { speechStageOpener } from './providers.js';
import { TranslatingStage, type DirectionEvent, type VadOpener } from './translating-stage.js';

export interface PairTranslatorOptions {
  pairId: string;
  sampleRate: 8000 | 16000;
  /** Opens VAD streams with the pair's settings; null when no VAD is available. */
  vad: ((settings: VadSettings) => VadOpener) | null;
  onTranscript(event: TranscriptEvent): void;
  onEvent(direction: Direction, event: DirectionEvent): void;
  log: Logger;
}

/**
 * The translation side of one pair: builds each direction's stage from the
 * pair's settings, and applies what needs both directions — barge-in (a party
 * who starts talking stops hearing the translation still queued for them) and
 * `clear` from the control plane.
 */
export class PairTranslator {
  readonly #options: PairTranslatorOptions;
  #translation: PairTranslation | null;
  readonly #stages = new Map<Direction, TranslatingStage>();
  /** Translating stages built per direction so far: a rebuilt one's provider numbers its utterances from 1 again. */
  readonly #built = new Map<Direction, number>();

  constructor(options: PairTranslatorOptions, translation: PairTranslation | null) {
    this.#options = options;
    this.#translation = translation;
  }

  get translation(): PairTranslation | null {
    return this.#translation;
  }

  /** Settings for the stages built from now on (the caller swaps the running ones). */
  set translation(translation: PairTranslation | null) {
    this.#translation = translation;
  }

  /** The stage for one direction under the current settings: translating, or the identity duplex. */
  stageFor(context: StageContext): PipelineStage {
    const translation = this.#translation;
    if (translation === null || !translation.directions.includes(context.direction)) {
      this.#stages.delete(context.direction);
      return new IdentityStage();
    }
    const languages = directionLanguages(translation, context.direction);
    const vad = this.#options.vad;
    const generation = (this.#built.get(context.direction) ?? 0) + 1;
    this.#built.set(context.direction, generation);
    // Utterance ids stay unique within the call after a rebuild (new languages, new provider), so a stored transcript is never overwritten by a later one.
    const onTranscript = (event: TranscriptEvent): void =>
      this.#options.onTranscript(generation === 1 ? event : { ...event, utteranceId: `${generation}.${event.utteranceId}` });
    const stage = new TranslatingStage({
      context,
      sampleRate: this.#options.sampleRate,
      languages,
      openSpeech: speechStageOpener({
        provider: translation.provider,
        context,
        languages,
        mode: translation.mode,
        duckGain: translation.duckGain,
        legRate: this.#options.sampleRate,
      }),
      openVad: translation.vad.enabled && vad !== null ? vad(translation.vad) : null,
      sink: {
        transcript: onTranscript,
        event: (event) => this.#onEvent(context.direction, event),
      },
      log: this.#options.log,
      between: translation.between,
    });
    this.#stages.set(context.direction, stage);
    return stage;
  }

  /** Drops translated audio queued for the listener of `direction` (both directions when omitted); returns how many stages were cleared. */
  clear(direction?: Direction): number {
    let cleared = 0;
    for (const [d, stage] of this.#stages) {
      if (direction !== undefined && d !== direction) continue;
      stage.flush();
      cleared++;
    }
    return cleared;
  }

  stats(): Partial<Record<Direction, object>> {
    const out: Partial<Record<Direction, object>> = {};
    for (const [d, stage] of this.#stages) out[d] = stage.stats();
    return out;
  }

  #onEvent(direction: Direction, event: DirectionEvent): void {
    if (event.type === 'speech' && event.state === 'start' && this.#translation?.bargeIn === true) {
      // The speaker of `direction` is the listener of the opposite direction.
      this.#stages.get(direction === 'A->B' ? 'B->A' : 'A->B')?.flush();
    }
    this.#options.onEvent(direction, event);
  }
}
