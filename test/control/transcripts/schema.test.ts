import { describe, expect, it } from 'vitest';
import {
  MAX_TEXT_LENGTH,
  decodeTranscript,
  encodeTranscript,
  formatOffset,
  formatTranscriptLine,
  parseTranscript,
  transcriptsChannel,
} from '../../../control/src/transcripts/index.js';
import { transcriptEvent } from './support.js';

describe('parseTranscript', () => {
  it('accepts a valid event, adds callId null, rounds times to whole ms', () => {
    const r = parseTranscript(transcriptEvent({ startMs: 1000.4, endMs: 2399.6 }));
    expect(r).toEqual({ ok: true, truncated: false, record: { ...transcriptEvent(), callId: null, startMs: 1000, endMs: 2400 } });
    if (r.ok) expect(Object.isFrozen(r.record)).toBe(true);
    const withCall = parseTranscript(transcriptEvent({ callId: 'chan-1700000000.42' }));
    expect(withCall.ok && withCall.record.callId).toBe('chan-1700000000.42');
  });

  it('drops unknown keys', () => {
    const r = parseTranscript({ ...transcriptEvent(), extra: 'x' });
    expect(r.ok && 'extra' in r.record).toBe(false);
  });

  it.each([
    ['missing text', { text: undefined }, 'text'],
    ['bad direction', { direction: 'A->A' }, 'direction'],
    ['end before start', { startMs: 5, endMs: 4 }, 'endMs'],
    ['negative start', { startMs: -1 }, 'startMs'],
    ['NaN end', { endMs: Number.NaN }, 'endMs'],
    ['malformed pair id', { pairId: 'pair 1; DROP' }, 'pairId'],
    ['control character in utterance id', { utteranceId: 'u\n1' }, 'utteranceId'],
    ['empty call id', { callId: '' }, 'callId'],
    ['language not a tag', { language: 'english language' }, 'language'],
    ['final not boolean', { final: 'yes' }, 'final'],
    ['at not a date-time', { at: 'yesterday' }, 'at'],
  ])('rejects %s with a reason naming the field', (_name, over, field) => {
    const r = parseTranscript({ ...transcriptEvent(), ...over });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(field);
  });

  it('rejects non-objects', () => {
    for (const x of [null, 42, 'text', []]) expect(parseTranscript(x).ok).toBe(false);
  });

  it(`cuts texts to ${MAX_TEXT_LENGTH} characters without splitting a surrogate pair, and removes NULs`, () => {
    const long = `${'a'.repeat(MAX_TEXT_LENGTH - 1)}😀tail`;
    const r = parseTranscript(transcriptEvent({ text: long, translatedText: 'ho\u0000la' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.truncated).toBe(true);
    expect(r.record.text).toBe('a'.repeat(MAX_TEXT_LENGTH - 1));
    expect(r.record.translatedText).toBe('hola');
    const exact = parseTranscript(transcriptEvent({ text: 'b'.repeat(MAX_TEXT_LENGTH) }));
    expect(exact.ok && exact.truncated).toBe(false);
  });

  it('round-trips through the wire encoding; garbage on the wire is a TypeError', () => {
    const r = parseTranscript(transcriptEvent({ callId: 'c1', final: false, translatedText: null }));
    if (!r.ok) throw new Error(r.reason);
    expect(decodeTranscript(encodeTranscript(r.record))).toEqual(r.record);
    expect(() => decodeTranscript('{')).toThrow(TypeError);
    expect(() => decodeTranscript('{"pairId":"pair_001"}')).toThrow(/invalid/);
    expect(transcriptsChannel('tandem:')).toBe('tandem:transcripts');
  });
});

describe('formatting for the terminal', () => {
  it('formats offsets as mm:ss.d, with hours past one hour', () => {
    expect(formatOffset(0)).toBe('00:00.0');
    expect(formatOffset(3249)).toBe('00:03.2');
    expect(formatOffset(61_000)).toBe('01:01.0');
    expect(formatOffset(3_600_000 + 62_500)).toBe('1:01:02.5');
  });

  it('prints one line per final, texts quoted, and never raw control characters', () => {
    expect(formatTranscriptLine({ ...transcriptEvent({ startMs: 3200, text: 'utterance 1, 1.4 s', translatedText: 'enunciado 1' }) })).toBe(
      '00:03.2  7000 (en) → 7001 (es): "utterance 1, 1.4 s" ⇒ "enunciado 1"',
    );
    expect(formatTranscriptLine(transcriptEvent({ translatedText: null }))).toBe('00:01.0  7000 (en) → 7001 (es): "hello"');
    const hostile = formatTranscriptLine(transcriptEvent({ text: 'a\u001b[2Jb\u009bc\r\u202ed', srcExt: '70\u00070' }));
    // eslint-disable-next-line no-control-regex
    expect(hostile).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(hostile).toContain('"a\\u001b[2Jb\\u009bc\\r\\u202ed"');
    expect(hostile).toContain('70?0 (en)');
  });
});
