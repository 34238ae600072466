import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_MESSAGE_BYTES, PROTOCOL_VERSION, ProtocolError, encodeClientMessage, encodeServiceMessage, parseClientMessage, parseServiceMessage, tryParseClientMessage, tryParseServiceMessage } from '../../../engine/src/pipeline/streaming/index.js';

const start = {
  event: 'start',
  protocol: PROTOCOL_VERSION,
  pairId: 'pair_001',
  srcExt: '7000',
  dstExt: '7001',
  direction: 'A->B',
  sampleRate: 16000,
  encoding: 'pcm_s16le',
  sourceLanguage: 'en',
  targetLanguage: 'es',
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('client messages', () => {
  it('parses a full start message with every field', () => {
    expect(parseClientMessage(JSON.stringify(start))).toEqual(start);
  });

  it('fills sampleRate 16000 and encoding pcm_s16le when left out', () => {
    const { sampleRate: _r, encoding: _e, ...rest } = start;
    const parsed = parseClientMessage(Buffer.from(JSON.stringify(rest)));
    expect(parsed.event).toBe('start');
    if (parsed.event !== 'start') return;
    expect(parsed.sampleRate).toBe(16000);
    expect(parsed.encoding).toBe('pcm_s16le');
  });

  it('parses stop, clear and mark', () => {
    expect(parseClientMessage('{"event":"stop"}')).toEqual({ event: 'stop' });
    expect(parseClientMessage('{"event":"clear"}')).toEqual({ event: 'clear' });
    expect(parseClientMessage('{"event":"mark","name":"utterance-1"}')).toEqual({ event: 'mark', name: 'utterance-1' });
  });

  it('rejects bad messages with a code', () => {
    expect(codeOf(() => parseClientMessage('{nope'))).toBe('not_json');
    expect(codeOf(() => parseClientMessage('[1,2]'))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage('"start"'))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage('{"event":"transcript"}'))).toBe('unknown_event');
    expect(codeOf(() => parseClientMessage('{"name":"x"}'))).toBe('unknown_event');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ ...start, direction: 'A->A' })))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ ...start, sampleRate: 44100 })))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ ...start, encoding: 'mulaw' })))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage(JSON.stringify({ ...start, pairId: '' })))).toBe('invalid_message');
    expect(codeOf(() => parseClientMessage('{"event":"mark"}'))).toBe('invalid_message');
  });

  it('names another protocol version as unsupported_protocol, before checking fields', () => {
    expect(codeOf(() => parseClientMessage(JSON.stringify({ event: 'start', protocol: 'tandem.media.v2' })))).toBe('unsupported_protocol');
  });

  it('refuses oversized messages without parsing them', () => {
    const big = JSON.stringify({ event: 'stop', reason: 'x'.repeat(MAX_JSON_MESSAGE_BYTES) });
    expect(codeOf(() => parseClientMessage(big))).toBe('too_large');
  });

  it('round-trips through encodeClientMessage', () => {
    expect(parseClientMessage(encodeClientMessage(start as Parameters<typeof encodeClientMessage>[0]))).toEqual(start);
  });
});

describe('service messages', () => {
  const transcript = { event: 'transcript', utteranceId: 'u1', text: 'hola', final: false, startMs: 120, endMs: 980, language: 'en' };
  const translation = { event: 'translation', utteranceId: 'u1', text: 'hello', language: 'es', final: true };

  it('parses every service event', () => {
    expect(parseServiceMessage(JSON.stringify(transcript))).toEqual(transcript);
    expect(parseServiceMessage(JSON.stringify(translation))).toEqual(translation);
    expect(parseServiceMessage('{"event":"mark","name":"m1"}')).toEqual({ event: 'mark', name: 'm1' });
    expect(parseServiceMessage('{"event":"clear"}')).toEqual({ event: 'clear' });
    expect(parseServiceMessage('{"event":"error","code":"busy","message":"try later"}')).toEqual({ event: 'error', code: 'busy', message: 'try later' });
    expect(parseServiceMessage(`{"event":"started","protocol":"${PROTOCOL_VERSION}","sessionId":"s1"}`)).toEqual({ event: 'started', protocol: PROTOCOL_VERSION, sessionId: 's1' });
    expect(parseServiceMessage([Buffer.from('{"event":'), Buffer.from('"clear"}')])).toEqual({ event: 'clear' });
  });

  it('rejects wrong shapes with a code', () => {
    expect(codeOf(() => parseServiceMessage(JSON.stringify({ ...transcript, startMs: -1 })))).toBe('invalid_message');
    expect(codeOf(() => parseServiceMessage(JSON.stringify({ ...transcript, final: 'yes' })))).toBe('invalid_message');
    expect(codeOf(() => parseServiceMessage(JSON.stringify({ ...translation, text: 5 })))).toBe('invalid_message');
    expect(codeOf(() => parseServiceMessage('{"event":"start"}'))).toBe('unknown_event');
    expect(codeOf(() => parseServiceMessage('null'))).toBe('invalid_message');
  });

  it('refuses to encode an invalid message (our bug, caught on our side)', () => {
    expect(() => encodeServiceMessage({ event: 'mark', name: '' })).toThrow();
  });
});

describe('garbage', () => {
  const garbage = fc.oneof(
    fc.string(),
    fc.json(),
    fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    fc.record({ event: fc.constantFrom('start', 'stop', 'clear', 'mark', 'transcript', 'translation', 'error', 'started'), name: fc.anything(), text: fc.anything(), protocol: fc.anything() }).map((o) => JSON.stringify(o)),
  );

  it('never throws anything but ProtocolError, and try-parsers never throw', () => {
    fc.assert(
      fc.property(garbage, (raw) => {
        for (const parse of [parseClientMessage, parseServiceMessage]) {
          try {
            parse(raw);
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        }
        const a = tryParseClientMessage(raw);
        const b = tryParseServiceMessage(raw);
        if (!a.ok) expect(a.error).toBeInstanceOf(ProtocolError);
        if (!b.ok) expect(b.error).toBeInstanceOf(ProtocolError);
      }),
      { numRuns: 2000 },
    );
  });
});
