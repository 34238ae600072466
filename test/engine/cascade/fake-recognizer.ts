/**
 * A recognizer the cascade stage tests drive by hand: `say` emits a
 * transcript (partial or final); it counts the audio and ends of speech it
 * was given, and whether it was closed.
 */
import { TypedEmitter } from '../../../common/src/typed-emitter.js';
import type { CascadeRecognizerEvents } from '../../../engine/src/pipeline/cascade/types.js';

export class FakeRecognizer extends TypedEmitter<CascadeRecognizerEvents> {
  readonly name = 'fake-asr';
  frames = 0;
  ends = 0;
  closed = false;
  pushAudio(): void {
    this.frames++;
  }
  endOfSpeech(): void {
    this.ends++;
  }
  stats(): object {
    return { frames: this.frames };
  }
  close(): void {
    this.closed = true;
  }
  say(text: string, final = true): void {
    this.safeEmit('transcript', { text, final, startMs: 0, endMs: 500, confidence: 0.9 });
  }
}
