import { describe, expect, it } from 'vitest';
import { SynthesisError, parseWav, synthesizeSpeech, synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/index.js';
import { rms } from './helpers.js';

describe('espeak-ng synthesis', () => {
  it('speaks text as PCM at the requested rate (twice the samples at 16 kHz as at 8 kHz)', async () => {
    const [a, b] = await Promise.all([
      synthesizeSpeechSamples('one two three', { voice: 'en', sampleRate: 8000 }),
      synthesizeSpeechSamples('one two three', { voice: 'en', sampleRate: 16000 }),
    ]);
    expect(a.length).toBeGreaterThan(8000 * 0.5);
    expect(Math.abs(b.length / a.length - 2)).toBeLessThan(0.01);
    expect(rms(a, a.length)).toBeGreaterThan(300);
  });

  it('reports an unknown voice as a SynthesisError, and refuses voice names that are not voice names', async () => {
    await expect(synthesizeSpeech('x', { voice: 'zz-qq', sampleRate: 8000 })).rejects.toBeInstanceOf(SynthesisError);
    await expect(synthesizeSpeech('x', { voice: '--help', sampleRate: 8000 })).rejects.toBeInstanceOf(RangeError);
  });

  it('parses a WAV whose sizes were never filled in (written to a pipe)', () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0, 'ascii');
    header.writeUInt32LE(0x7ffff024, 4);
    header.write('WAVEfmt ', 8, 'ascii');
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(22050, 24);
    header.writeUInt32LE(44100, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36, 'ascii');
    header.writeUInt32LE(0x7ffff000, 40);
    const wav = parseWav(Buffer.concat([header, Buffer.from([1, 0, 2, 0, 3])]));
    expect(wav.sampleRate).toBe(22050);
    expect([...wav.data]).toEqual([1, 0, 2, 0]);
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(SynthesisError);
  });
});
