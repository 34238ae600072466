import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import type { MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';
import type { SpeechHooks, SpeechStage } from '../../../engine/src/pipeline/translation/speech-stage.js';
import { TRANSLATION_GRACE_MS } from '../../../engine/src/pipeline/translation/transcript-assembler.js';
import { PROVIDER_FIRST_WORD_MS, TranslatingStage, type DirectionEvent, type VadDecision } from '../../../engine/src/pipeline/translation/translating-stage.js';

const context: StageContext = { pairId: 'pair_ts', direction: 'A->B', srcExt: '7000', dstExt: '7001' };

/** A speech stage that records what it was sent and plays whatever the test queues. */
class FakeSpeech implements SpeechStage {
  readonly heard: number[] = [];
  readonly processedInputs: Array<{ heard: boolean | undefined }> = [];
  answer: MediaFrame | null = null;
  /** What playing() and answering() say. */
  queued = false;
  producing = false;
  hooks: SpeechHooks;

  constructor(hooks: SpeechHooks) {
    this.hooks = hooks;
  }

  hear(frame: MediaFrame): void {
    this.heard.push(frame.rtpTimestamp);
  }

  process(frame: MediaFrame | null): MediaFrame | null {
    if (frame !== null) this.processedInputs.push({ heard: frame.heard });
    return this.answer;
  }

  playing(): boolean {
    return this.queued;
  }
  answering(): boolean {
    return this.producing;
  }
  speechStarted(): void {}
  speechEnded(): void {}
  flush(): void {}
  close(): void {}
  stats(): object {
    return {};
  }
}

function frame(index: number, extra: Partial<MediaFrame> = {}): MediaFrame {
  return { ...context, pcm: new Int16Array(160), samples: 160, sampleRate: 8000, rtpTimestamp: index * 160, status: 'audio', heard: true, ...extra };
}

function setup(): { stage: TranslatingStage; speech: () => FakeSpeech; decide: (d: VadDecision) => void; events: DirectionEvent[]; vadPushes: () => number } {
  let speech: FakeSpeech | null = null;
  let onDecision: ((d: VadDecision) => void) | null = null;
  let pushes = 0;
  const events: DirectionEvent[] = [];
  const stage = new TranslatingStage({
    context,
    sampleRate: 8000,
    languages: { source: 'en', target: 'es' },
    openSpeech: (hooks) => (speech = new FakeSpeech(hooks)),
    openVad: (_rate, decide) => {
      onDecision = decide;
      return { push: () => void pushes++, close: () => undefined };
    },
    sink: { transcript: () => undefined, event: (e) => events.push(e) },
    log: logger('test.translating-stage'),
  });
  return { stage, speech: () => speech!, decide: (d) => onDecision!(d), events, vadPushes: () => pushes };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('TranslatingStage', () => {
  it('sends a frame heard early once: to the VAD and the provider on arrival, not again at its tick', () => {
    const { stage, speech, vadPushes } = setup();
    stage.hear(frame(0));
    expect(speech().heard).toEqual([0]);
    expect(vadPushes()).toBe(1);
    stage.process(frame(0));
    expect(vadPushes()).toBe(1);
    expect(speech().processedInputs).toEqual([{ heard: true }]);
    // A frame not heard early (a concealment) is offered at its tick, and the provider stage sends it there.
    stage.process(frame(1, { status: 'concealed', heard: false }));
    expect(vadPushes()).toBe(2);
    expect(speech().processedInputs.at(-1)).toEqual({ heard: false });
    stage.close();
  });

  it('cuts each utterance into ingress, endpointing, VAD, provider and egress that add up to the total', () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { stage, speech, decide, events } = setup();
    // 30 frames heard 20 ms apart, each 0.5 ms after it arrived.
    for (let i = 0; i < 30; i++) {
      clock = 1000 + 20 * i;
      stage.hear(frame(i, { ingressDelayMs: 0.5, arrivalLatenessMs: i === 9 ? 4 : 0 }));
    }
    // Speech ended in frame 9 (ends at 200 ms of audio, offered at 1180); the silence that confirmed it was
    // complete with frame 24 (500 ms, offered at 1480); the decision came 3 ms after that.
    clock = 1483;
    decide({ type: 'speech_end', startMs: 0, endMs: 200, decidedMs: 500 });
    clock = 1490;
    speech().hooks.audio(160);
    clock = 1495;
    speech().answer = frame(99, { heard: false });
    expect(stage.process(null)).toBe(speech().answer);
    const latency = events.find((e) => e.type === 'latency');
    expect(latency).toEqual({
      type: 'latency',
      utteranceEndMs: 200,
      ingressMs: 0.5,
      endpointingMs: 300,
      vadMs: 3,
      providerMs: 7,
      egressMs: 5,
      tandemMs: 8.5,
      totalMs: 315.5,
      // The end frame arrived 4 ms late for its stream: reported, not counted in the total.
      arrivalLatenessMs: 4,
    });
    stage.close();
  });

  it('between answers sends silence, or nothing when asked to', () => {
    const { stage } = setup();
    expect(stage.process(null)?.status).toBe('silence');
    stage.close();
    const quiet = new TranslatingStage({
      context,
      sampleRate: 8000,
      languages: { source: 'en', target: 'es' },
      openSpeech: (hooks) => new FakeSpeech(hooks),
      openVad: null,
      sink: { transcript: () => undefined, event: () => undefined },
      log: logger('test.translating-stage'),
      between: 'nothing',
    });
    expect(quiet.process(null)).toBeNull();
    quiet.close();
  });

  it.each([
    { between: 'nothing' as const, wakes: 1 },
    { between: 'silence' as const, wakes: 0 },
  ])('between $between: answer audio on a paused leg wakes the direction $wakes time(s)', ({ between, wakes }) => {
    let speech: FakeSpeech | null = null;
    const stage = new TranslatingStage({
      context,
      sampleRate: 8000,
      languages: { source: 'en', target: 'es' },
      openSpeech: (hooks) => (speech = new FakeSpeech(hooks)),
      openVad: null,
      sink: { transcript: () => undefined, event: () => undefined },
      log: logger('test.translating-stage'),
      between,
    });
    let woken = 0;
    stage.setWake(() => woken++);
    stage.process(null);
    speech!.hooks.audio(160);
    expect(woken).toBe(wakes);
    // While an answer plays the leg is not paused: more audio wakes nothing.
    speech!.answer = frame(1);
    stage.process(null);
    speech!.hooks.audio(160);
    expect(woken).toBe(wakes);
    stage.close();
  });

  it('times an answer that came before the VAD decision once, at the decision, from that answer', () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { stage, speech, decide, events } = setup();
    for (let i = 0; i < 30; i++) {
      clock = 1000 + 20 * i;
      stage.hear(frame(i, { ingressDelayMs: 0.5 }));
      if (i === 2) decide({ type: 'speech_start', startMs: 40 });
      if (i === 20) {
        // The provider's endpointing beat the VAD: its answer arrives while the VAD still hears speech...
        speech().hooks.audio(160);
        speech().answer = frame(99, { heard: false });
        clock += 4;
        // ...and is played at once.
        expect(stage.process(null)).toBe(speech().answer);
      }
    }
    expect(events.filter((e) => e.type === 'latency')).toHaveLength(0);
    clock = 1483;
    decide({ type: 'speech_end', startMs: 40, endMs: 200, decidedMs: 500 });
    const latency = events.filter((e) => e.type === 'latency');
    expect(latency).toEqual([
      {
        type: 'latency',
        utteranceEndMs: 200,
        ingressMs: 0.5,
        endpointingMs: 300,
        vadMs: 3,
        // Clamped: the answer was there before the decision.
        providerMs: 0,
        // From the answer's arrival (1400) to its first frame on the wire (1404).
        egressMs: 4,
        tandemMs: 7.5,
        totalMs: 307.5,
        arrivalLatenessMs: 0,
        answeredBeforeDecision: true,
      },
    ]);
    // The speech end came first, so a load run counts the utterance as detected, then answered.
    expect(events.map((e) => e.type).slice(-2)).toEqual(['speech', 'latency']);
    // The rest of that answer plays; the utterance is not timed again.
    clock = 1500;
    stage.process(null);
    speech().hooks.audio(160);
    stage.process(null);
    expect(events.filter((e) => e.type === 'latency')).toHaveLength(1);
    stage.close();
  });

  it('an early answer not yet played at the decision is timed when its first frame goes out', () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { stage, speech, decide, events } = setup();
    for (let i = 0; i < 30; i++) {
      clock = 1000 + 20 * i;
      stage.hear(frame(i));
    }
    decide({ type: 'speech_start', startMs: 0 });
    clock = 1470;
    speech().hooks.audio(160);
    clock = 1483;
    decide({ type: 'speech_end', startMs: 0, endMs: 200, decidedMs: 500 });
    expect(events.filter((e) => e.type === 'latency')).toHaveLength(0);
    clock = 1490;
    speech().answer = frame(99, { heard: false });
    stage.process(null);
    const latency = events.filter((e) => e.type === 'latency');
    expect(latency).toHaveLength(1);
    expect(latency[0]).toMatchObject({ providerMs: 0, egressMs: 20, answeredBeforeDecision: true });
    stage.close();
  });

  it('audio continuing an answer still queued while the speaker talks again is not taken as the new utterance’s answer', () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { stage, speech, decide, events } = setup();
    for (let i = 0; i < 30; i++) {
      clock = 1000 + 20 * i;
      stage.hear(frame(i));
    }
    decide({ type: 'speech_start', startMs: 0 });
    // The last answer is still playing at this tick, and more of it arrives.
    speech().queued = true;
    speech().answer = frame(98, { heard: false });
    stage.process(null);
    speech().hooks.audio(160);
    clock = 1483;
    decide({ type: 'speech_end', startMs: 0, endMs: 200, decidedMs: 500 });
    stage.process(null);
    expect(events.filter((e) => e.type === 'latency')).toHaveLength(0);
    // This utterance's own answer comes after the decision and is timed as usual, without the flag.
    clock = 1600;
    speech().hooks.audio(160);
    clock = 1605;
    stage.process(null);
    const latency = events.filter((e) => e.type === 'latency');
    expect(latency).toHaveLength(1);
    expect(latency[0]).toMatchObject({ providerMs: 117, egressMs: 5 });
    expect(latency[0]).not.toHaveProperty('answeredBeforeDecision');
    stage.close();
  });

  it('is idle only when the speaker is silent, nothing is being answered or played, and the last utterance was reported on', () => {
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { stage, speech, decide } = setup();
    expect(stage.idle()).toBe(true);
    decide({ type: 'speech_start', startMs: 0 });
    expect(stage.idle()).toBe(false);
    decide({ type: 'speech_end', startMs: 0, endMs: 1000, decidedMs: 1500 });
    // The provider has said nothing of the utterance yet: it gets PROVIDER_FIRST_WORD_MS to.
    expect(stage.idle()).toBe(false);
    clock += PROVIDER_FIRST_WORD_MS - 1;
    expect(stage.idle()).toBe(false);
    // Its words: the utterance waits for its final translation.
    speech().hooks.transcript({ event: 'transcript', utteranceId: 'u1', text: 'hello', final: true, startMs: 0, endMs: 1000, language: 'en' });
    expect(stage.idle()).toBe(false);
    speech().hooks.translation({ event: 'translation', utteranceId: 'u1', text: 'hola', final: true, language: 'es' });
    expect(stage.idle()).toBe(true);
    // The provider producing the answer, then the answer queued for the listener.
    speech().producing = true;
    expect(stage.idle()).toBe(false);
    speech().producing = false;
    speech().queued = true;
    expect(stage.idle()).toBe(false);
    speech().queued = false;
    expect(stage.idle()).toBe(true);
    // An utterance the provider never reports on (noise) holds the pause for PROVIDER_FIRST_WORD_MS only.
    decide({ type: 'speech_start', startMs: 2000 });
    decide({ type: 'speech_end', startMs: 2000, endMs: 2300, decidedMs: 2800 });
    expect(stage.idle()).toBe(false);
    clock += PROVIDER_FIRST_WORD_MS;
    expect(stage.idle()).toBe(true);
    // A partial the provider abandons holds it until TRANSLATION_GRACE_MS after its last word.
    speech().hooks.transcript({ event: 'transcript', utteranceId: 'u2', text: 'uh', final: false, startMs: 2000, endMs: 2300, language: 'en' });
    expect(stage.idle()).toBe(false);
    clock += TRANSLATION_GRACE_MS;
    expect(stage.idle()).toBe(true);
    stage.close();
  });
});
