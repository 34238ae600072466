import { describe, expect, it } from 'vitest';
import { decodeBase64Audio, encodeClientEvent, tryParseClientEvent, tryParseServerEvent } from '../../../../../engine/src/pipeline/providers/openai-realtime/index.js';
import { languageName, primaryLanguage } from '../../../../../engine/src/pipeline/providers/openai-realtime/protocol.js';

function parsed(raw: string): unknown {
  const r = tryParseServerEvent(raw);
  if (!r.ok) throw new Error(`unexpected error ${r.error.code}: ${r.error.message}`);
  return r.message;
}

function errorCode(raw: string | Buffer): string {
  const r = tryParseServerEvent(raw);
  if (r.ok) throw new Error('expected a protocol error');
  return r.error.code;
}

describe('service events', () => {
  it('parses the GA events Tandem uses, keeping their fields and ignoring extra ones', () => {
    expect(parsed('{"type":"response.output_audio.delta","event_id":"e","response_id":"r1","item_id":"i1","output_index":0,"content_index":0,"delta":"AAA="}')).toEqual({
      type: 'response.output_audio.delta',
      response_id: 'r1',
      item_id: 'i1',
      delta: 'AAA=',
    });
    expect(parsed('{"type":"input_audio_buffer.speech_started","audio_start_ms":1200,"item_id":"i2"}')).toEqual({ type: 'input_audio_buffer.speech_started', audio_start_ms: 1200, item_id: 'i2' });
    expect(parsed('{"type":"conversation.item.input_audio_transcription.completed","item_id":"i2","content_index":0,"transcript":"hola"}')).toMatchObject({ transcript: 'hola' });
    expect(parsed('{"type":"response.done","response":{"id":"r1","status":"cancelled","output":[]}}')).toEqual({ type: 'response.done', response: { id: 'r1', status: 'cancelled' } });
    expect(parsed('{"type":"error","error":{"type":"invalid_request_error","code":null,"message":"bad","param":null,"event_id":"c1"}}')).toMatchObject({ type: 'error', error: { code: null, event_id: 'c1' } });
  });

  it('accepts the beta names of the audio and transcript events as their GA equivalents', () => {
    expect(parsed('{"type":"response.audio.delta","response_id":"r","item_id":"i","delta":""}')).toMatchObject({ type: 'response.output_audio.delta' });
    expect(parsed('{"type":"response.audio.done","response_id":"r"}')).toMatchObject({ type: 'response.output_audio.done' });
    expect(parsed('{"type":"response.audio_transcript.delta","response_id":"r","item_id":"i","delta":"x"}')).toMatchObject({ type: 'response.output_audio_transcript.delta' });
    expect(parsed('{"type":"response.audio_transcript.done","response_id":"r","item_id":"i","transcript":"x"}')).toMatchObject({ type: 'response.output_audio_transcript.done' });
  });

  it('ignores well-formed events of other types instead of failing on them', () => {
    expect(parsed('{"type":"rate_limits.updated","rate_limits":[]}')).toEqual({ type: 'ignored', original: 'rate_limits.updated' });
    expect(parsed('{"type":"conversation.item.added","item":{}}')).toEqual({ type: 'ignored', original: 'conversation.item.added' });
  });

  it('reports garbage with a code, never throwing', () => {
    expect(errorCode('nope')).toBe('not_json');
    expect(errorCode('[]')).toBe('invalid_message');
    expect(errorCode('"text"')).toBe('invalid_message');
    expect(errorCode('{"type":""}')).toBe('invalid_message');
    expect(errorCode('{"type":7}')).toBe('invalid_message');
    expect(errorCode('{"type":"response.output_audio.delta","response_id":"r","item_id":"i"}')).toBe('invalid_message');
    expect(errorCode('{"type":"input_audio_buffer.speech_started","audio_start_ms":-5,"item_id":"i"}')).toBe('invalid_message');
    expect(errorCode(Buffer.from('{"type":"response.done","response":{}}'))).toBe('invalid_message');
  });
});

describe('base64 audio', () => {
  it('decodes whole samples and refuses bad alphabet, padding or odd byte counts', () => {
    const pcm = Buffer.from([1, 0, 255, 127]);
    const ok = decodeBase64Audio(pcm.toString('base64'));
    expect(ok.ok && [...ok.bytes]).toEqual([1, 0, 255, 127]);
    expect(decodeBase64Audio('').ok).toBe(true);
    const bad = (t: string): string | undefined => {
      const r = decodeBase64Audio(t);
      return r.ok ? undefined : r.error.code;
    };
    expect(bad('AAA')).toBe('invalid_message'); // not a multiple of 4
    expect(bad('AA$A')).toBe('invalid_message');
    expect(bad('A=AA')).toBe('invalid_message');
    expect(bad('AAAA')).toBe('odd_length_audio'); // 3 bytes
  });
});

describe('client events', () => {
  it('encodes a checked session.update and refuses what the service would refuse', () => {
    const session = { type: 'realtime' as const, audio: { input: { format: { type: 'audio/pcm' as const, rate: 24000 as const }, turn_detection: null } } };
    expect(JSON.parse(encodeClientEvent({ type: 'session.update', session }))).toEqual({ type: 'session.update', session });
    expect(() => encodeClientEvent({ type: 'session.update', session: { ...session, audio: { input: { format: { type: 'audio/pcm', rate: 16000 as 24000 } } } } })).toThrow();
    expect(() => encodeClientEvent({ type: 'session.update', session: { type: 'transcription' as 'realtime' } })).toThrow();
  });

  it('parses client events for the local server, with codes for unknown and malformed ones', () => {
    const r = tryParseClientEvent('{"type":"response.cancel","response_id":"r1"}');
    expect(r.ok && r.message).toEqual({ type: 'response.cancel', response_id: 'r1' });
    const code = (raw: string): string => {
      const p = tryParseClientEvent(raw);
      return p.ok ? 'ok' : p.error.code;
    };
    expect(code('{"type":"conversation.item.create"}')).toBe('unknown_event');
    expect(code('{"type":"input_audio_buffer.append"}')).toBe('invalid_message');
    expect(code('{"type":"session.update","session":{"type":"realtime","audio":{"output":{"format":{"type":"audio/pcmu"}}}}}')).toBe('invalid_message');
    expect(code('x')).toBe('not_json');
  });

  it('names languages for the prompt and reduces tags for transcription', () => {
    expect(languageName('es')).toBe('Spanish');
    expect(languageName('pt-BR')).toBe('Brazilian Portuguese');
    expect(primaryLanguage('es-MX')).toBe('es');
    expect(primaryLanguage('EN')).toBe('en');
  });
});
