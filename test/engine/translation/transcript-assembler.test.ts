import { describe, expect, it } from 'vitest';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import { TRANSLATION_GRACE_MS, TranscriptAssembler } from '../../../engine/src/pipeline/translation/transcript-assembler.js';

const context = { pairId: 'pair_001', direction: 'A->B' as const, srcExt: '7000', dstExt: '7001' };

function assembler() {
  const events: TranscriptEvent[] = [];
  const a = new TranscriptAssembler(context, { source: 'en', target: 'es' }, (e) => events.push(e));
  return { a, events };
}

const transcript = (utteranceId: string, text: string, final: boolean) =>
  ({ event: 'transcript', utteranceId, text, final, startMs: 100, endMs: 900, language: 'en' }) as const;
const translation = (utteranceId: string, text: string, final: boolean) => ({ event: 'translation', utteranceId, text, final, language: 'es' }) as const;

describe('TranscriptAssembler', () => {
  it('joins transcript and translation of an utterance; final once both are final', () => {
    const { a, events } = assembler();
    a.transcript(transcript('u1', 'hello', false), 0);
    a.transcript(transcript('u1', 'hello there', true), 10);
    a.translation(translation('u1', 'hola', true), 20);
    expect(events.map((e) => [e.text, e.translatedText, e.final])).toEqual([
      ['hello', null, false],
      ['hello there', null, false],
      ['hello there', 'hola', true],
    ]);
    expect(events[2]).toMatchObject({ ...context, utteranceId: 'u1', language: 'en', targetLanguage: 'es', startMs: 100, endMs: 900 });
    // Anything after the final is a replay and is ignored.
    a.translation(translation('u1', 'hola!', true), 30);
    expect(events).toHaveLength(3);
  });

  it('finalises a transcript whose translation never comes after the grace period, and on close', () => {
    const { a, events } = assembler();
    a.transcript(transcript('u1', 'one', true), 0);
    a.expire(TRANSLATION_GRACE_MS - 1);
    expect(events.filter((e) => e.final)).toHaveLength(0);
    a.expire(TRANSLATION_GRACE_MS);
    expect(events.filter((e) => e.final).map((e) => e.text)).toEqual(['one']);
    a.transcript(transcript('u2', 'two', true), 0);
    a.transcript(transcript('u3', 'three', false), 0);
    a.close();
    // u3 never became final: it is not stored as if it were.
    expect(events.filter((e) => e.final).map((e) => e.text)).toEqual(['one', 'two']);
  });

  it('stays bounded: the oldest open utterance is finalised or forgotten', () => {
    const { a, events } = assembler();
    for (let i = 0; i < 100; i++) a.transcript(transcript(`u${i}`, `t${i}`, true), 0);
    // Every final transcript is eventually reported final exactly once.
    a.close();
    const finals = events.filter((e) => e.final).map((e) => e.utteranceId);
    expect(new Set(finals).size).toBe(100);
    expect(finals).toHaveLength(100);
  });

  it('holds an utterance with its texts only while it is open: a long call keeps no finished ones, and a late message for a recent one is still ignored', () => {
    const { a, events } = assembler();
    for (let i = 0; i < 1000; i++) {
      a.transcript(transcript(`u${i}`, `sentence ${i}`, true), i);
      a.translation(translation(`u${i}`, `frase ${i}`, true), i);
    }
    expect(events.filter((e) => e.final)).toHaveLength(1000);
    expect(a.openCount).toBe(0);
    a.translation(translation('u999', 'late', true), 2000);
    a.transcript(transcript('u990', 'late', false), 2000);
    expect(events).toHaveLength(2000);
  });
});

