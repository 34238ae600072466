/**
 * What the recognizer doubles have in common besides their protocol: they
 * recognize nothing, they name each utterance from a script. Speech is found
 * by energy (each 20 ms chunk's RMS from EnergySegmenter against
 * `speechRms`); an utterance takes the next script line when it starts, hands
 * on half its words once it has lasted `interimAfterMs`, and reports how long
 * the silence after it has lasted, so each double ends it by its own rule
 * (Deepgram's endpointing, Azure's segmentation silence, an end of audio).
 */

export interface ScriptOptions {
  /** Text of each utterance, in order; the last repeats once the script runs out. */
  script: string[];
  /** RMS above which 20 ms of audio is speech. */
  speechRms?: number;
  /** Speech that has lasted this long gets an interim result. */
  interimAfterMs?: number;
}

/** The script, shared by every session of a double (each utterance takes the next line). */
export class Script {
  readonly speechRms: number;
  readonly interimAfterMs: number;
  readonly #lines: string[];
  #line = 0;

  constructor(options: ScriptOptions) {
    this.#lines = options.script;
    this.speechRms = options.speechRms ?? 300;
    this.interimAfterMs = options.interimAfterMs ?? 200;
  }

  nextLine(): string {
    const line = this.#lines[Math.min(this.#line, this.#lines.length - 1)] ?? '';
    this.#line++;
    return line;
  }
}

export interface UtteranceHooks {
  /** An utterance began `startMs` into the stream and is named `text`; false: the session ended, stop here. */
  started(text: string, startMs: number): boolean;
  /** The utterance has lasted interimAfterMs: the first half of its words. */
  interim(words: string, startMs: number, nowMs: number): void;
  /** Another 20 ms of silence after speech; `silenceMs` so far. */
  silence(silenceMs: number): void;
}

/** One session's utterance in progress. */
export class ScriptedUtterance {
  inSpeech = false;
  startMs = 0;
  text = '';
  silenceMs = 0;
  /** Utterances begun in this session. */
  count = 0;
  readonly #script: Script;
  readonly #hooks: UtteranceHooks;
  #speechMs = 0;
  #interimSent = false;

  constructor(script: Script, hooks: UtteranceHooks) {
    this.#script = script;
    this.#hooks = hooks;
  }

  onChunk(rms: number, nowMs: number): void {
    if (rms >= this.#script.speechRms) {
      if (!this.inSpeech) {
        this.inSpeech = true;
        this.startMs = nowMs - 20;
        this.#speechMs = 0;
        this.#interimSent = false;
        this.text = this.#script.nextLine();
        this.count++;
        if (!this.#hooks.started(this.text, this.startMs)) return;
      }
      this.#speechMs += 20;
      this.silenceMs = 0;
      if (!this.#interimSent && this.#speechMs >= this.#script.interimAfterMs) {
        this.#interimSent = true;
        const words = this.text.split(' ');
        this.#hooks.interim(words.slice(0, Math.max(1, words.length >> 1)).join(' '), this.startMs, nowMs);
      }
      return;
    }
    if (!this.inSpeech) return;
    this.silenceMs += 20;
    this.#hooks.silence(this.silenceMs);
  }

  /** The utterance is over (answered, or the stream ended). */
  end(): void {
    this.inSpeech = false;
  }
}
