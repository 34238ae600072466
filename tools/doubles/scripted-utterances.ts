/**
 * What the recognizer doubles have in common besides their protocol: they
 * recognize nothing, they name each utterance from a script. Speech is found
 * by energy (each 20 ms chunk's RMS from EnergySegmenter against
 * `speechRms`); an utterance takes the next script line when it starts, hands
 * on interim words while it lasts (half its words once it has lasted
 * `interimAfterMs`, or with `interims: 'growing'` one more word every
 * `interimAfterMs`), and reports how long the silence after it has lasted, so
 * each double ends it by its own rule (Deepgram's endpointing, Azure's
 * segmentation silence, an end of audio).
 */

/** An utterance whose interims say one thing and whose final another (a recognizer changing its mind). */
export interface ScriptLine {
  interim: string;
  final: string;
}

export interface ScriptOptions {
  /** Text of each utterance, in order (a string is both its interims and its final); the last repeats once the script runs out. */
  script: ReadonlyArray<string | ScriptLine>;
  /** RMS above which 20 ms of audio is speech. */
  speechRms?: number;
  /** half: one interim with the first half of the words once speech has lasted interimAfterMs; growing: one more word every interimAfterMs. */
  interims?: 'half' | 'growing';
  /** Speech that has lasted this long gets an interim result (growing: each further word). */
  interimAfterMs?: number;
}

/** The script, shared by every session of a double (each utterance takes the next line). */
export class Script {
  readonly speechRms: number;
  readonly interimAfterMs: number;
  readonly interims: 'half' | 'growing';
  readonly #lines: ReadonlyArray<string | ScriptLine>;
  #line = 0;

  constructor(options: ScriptOptions) {
    this.#lines = options.script;
    this.speechRms = options.speechRms ?? 300;
    this.interimAfterMs = options.interimAfterMs ?? 200;
    this.interims = options.interims ?? 'half';
  }

  nextLine(): ScriptLine {
    const line = this.#lines[Math.min(this.#line, this.#lines.length - 1)] ?? '';
    this.#line++;
    return typeof line === 'string' ? { interim: line, final: line } : line;
  }
}

export interface UtteranceHooks {
  /** An utterance began `startMs` into the stream and its final is `text`; false: the session ended, stop here. */
  started(text: string, startMs: number): boolean;
  /** The interim words so far (see ScriptOptions.interims). */
  interim(words: string, startMs: number, nowMs: number): void;
  /** Another 20 ms of silence after speech; `silenceMs` so far. */
  silence(silenceMs: number): void;
}

/** One session's utterance in progress. */
export class ScriptedUtterance {
  inSpeech = false;
  startMs = 0;
  /** The utterance's final text. */
  text = '';
  silenceMs = 0;
  /** Utterances begun in this session. */
  count = 0;
  readonly #script: Script;
  readonly #hooks: UtteranceHooks;
  #speechMs = 0;
  #interimWords: string[] = [];
  /** Interim words handed on so far. */
  #interimSent = 0;

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
        this.#interimSent = 0;
        const line = this.#script.nextLine();
        this.text = line.final;
        this.#interimWords = line.interim.split(' ');
        this.count++;
        if (!this.#hooks.started(this.text, this.startMs)) return;
      }
      this.#speechMs += 20;
      this.silenceMs = 0;
      const due = this.#interimsDue();
      if (due > this.#interimSent) {
        this.#interimSent = due;
        this.#hooks.interim(this.#interimWords.slice(0, due).join(' '), this.startMs, nowMs);
      }
      return;
    }
    if (!this.inSpeech) return;
    this.silenceMs += 20;
    this.#hooks.silence(this.silenceMs);
  }

  /** How many interim words are due by now: growing, one per interimAfterMs; half, half of them once, after interimAfterMs. */
  #interimsDue(): number {
    const words = this.#interimWords.length;
    if (this.#script.interims === 'growing') return Math.min(words, Math.floor(this.#speechMs / this.#script.interimAfterMs));
    return this.#speechMs >= this.#script.interimAfterMs ? Math.max(1, words >> 1) : 0;
  }

  /** The utterance is over (answered, or the stream ended). */
  end(): void {
    this.inSpeech = false;
  }
}
