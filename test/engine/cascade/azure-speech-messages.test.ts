import { describe, expect, it } from 'vitest';
import { binaryMessage, parseMessage, readWaveHeader, textMessage, waveHeader } from '../../../engine/src/pipeline/cascade/azure-speech-messages.js';
import { retryAfterMs } from '../../../engine/src/pipeline/cascade/http-retry.js';

describe('Azure Speech message framing', () => {
  it('a text message is CRLF headers, a blank line and the body; names are read case-insensitively', () => {
    const raw = textMessage('speech.context', 'ABC123', 'application/json', '{"a":1}');
    expect(raw).toMatch(/^Path: speech.context\r\nX-RequestId: ABC123\r\nX-Timestamp: \d{4}-\d\d-\d\dT[\d:.]+Z\r\nContent-Type: application\/json\r\n\r\n\{"a":1\}$/);
    const msg = parseMessage(Buffer.from('PATH: Speech.Phrase\r\nx-requestid: r1\r\n\r\n{"x":2}'), false);
    expect(msg).toMatchObject({ path: 'speech.phrase', requestId: 'r1', contentType: null, body: '{"x":2}' });
  });

  it('a binary message has a 2-byte big-endian header length, even past 255 bytes of headers', () => {
    const body = Buffer.from([1, 2, 3]);
    const long = binaryMessage('audio', 'R'.repeat(300), 'audio/x-wav', body);
    const length = long.readUInt16BE(0);
    expect(length).toBeGreaterThan(255);
    expect(long.toString('latin1', 2, 2 + length)).toMatch(/^Path: audio\r\nX-RequestId: R{300}\r\n/);
    const msg = parseMessage(long, true);
    if (typeof msg === 'string') throw new Error(msg);
    expect(msg.contentType).toBe('audio/x-wav');
    expect([...(msg.body as Buffer)]).toEqual([1, 2, 3]);
    // No body: the end of a turn's audio.
    const end = parseMessage(binaryMessage('audio', 'r2', null, null), true);
    expect(typeof end !== 'string' && (end.body as Buffer).length).toBe(0);
  });

  it('says why something is not a message', () => {
    expect(parseMessage(Buffer.from([0]), true)).toMatch(/shorter than its header length/);
    expect(parseMessage(Buffer.from([0, 50, 65]), true)).toMatch(/shorter than its headers/);
    expect(parseMessage(Buffer.from('hello'), false)).toMatch(/without a Path/);
    expect(parseMessage(Buffer.from('Path: turn.end\r\n\r\n{}'), false)).toMatch(/without an X-RequestId/);
  });

  it('the RIFF header names µ-law 8 kHz (tag 7) or PCM 16 kHz (tag 1), as the SDK writes it', () => {
    expect(readWaveHeader(waveHeader(8000, 'mulaw'))).toEqual({ formatTag: 7, channels: 1, sampleRate: 8000, bitsPerSample: 8 });
    expect(readWaveHeader(waveHeader(16000, 'pcm'))).toEqual({ formatTag: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16 });
    expect(waveHeader(16000, 'pcm').readUInt32LE(28)).toBe(32000);
    expect(readWaveHeader(Buffer.alloc(44))).toBeNull();
  });
});

describe('Retry-After', () => {
  it('reads seconds or an HTTP date, and nothing else', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });
});
