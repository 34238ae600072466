/**
 * The Azure Speech double checked against Microsoft's own client: the real
 * microsoft-cognitiveservices-speech-sdk, pointed at the double with
 * SpeechConfig.fromEndpoint, must connect, stream a push stream's µ-law or
 * PCM, and raise recognizing/recognized events from what the double answers.
 * This is what makes the double (and so the adapter tested against it)
 * faithful to the wire rather than to our reading of it.
 */
import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeUlaw } from '../../../engine/src/codec/index.js';
import { AzureSpeechDouble } from '../../../tools/doubles/azure-speech-server.js';
import { waitFor } from './helpers.js';

const KEY = 'sdk-test-key';

function tone(rate: number, ms: number, amplitude: number): Int16Array {
  const n = (rate * ms) / 1000;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate));
  return pcm;
}

function encode(pcm: Int16Array, encoding: 'mulaw' | 'pcm'): ArrayBuffer {
  if (encoding === 'mulaw') {
    const out = new Uint8Array(pcm.length);
    encodeUlaw(pcm, pcm.length, Buffer.from(out.buffer), 0);
    return out.buffer;
  }
  return pcm.slice().buffer;
}

describe('the Azure Speech double, driven by the official Speech SDK', () => {
  let double: AzureSpeechDouble | null = null;
  let recognizer: sdk.SpeechRecognizer | null = null;
  afterEach(async () => {
    recognizer?.close();
    await double?.close();
    recognizer = null;
    double = null;
  });

  async function recognize(key: string, rate: 8000 | 16000, encoding: 'mulaw' | 'pcm') {
    double ??= await AzureSpeechDouble.start({ key: KEY, script: ['hello how are you today'] });
    const config = sdk.SpeechConfig.fromEndpoint(new URL(double.url), key);
    config.speechRecognitionLanguage = 'en-US';
    config.outputFormat = sdk.OutputFormat.Detailed;
    const format = encoding === 'mulaw' ? sdk.AudioStreamFormat.getWaveFormat(rate, 8, 1, sdk.AudioFormatTag.MuLaw) : sdk.AudioStreamFormat.getWaveFormatPCM(rate, 16, 1);
    const push = sdk.AudioInputStream.createPushStream(format);
    const r = new sdk.SpeechRecognizer(config, sdk.AudioConfig.fromStreamInput(push));
    recognizer = r;
    const events = { recognizing: [] as sdk.SpeechRecognitionResult[], recognized: [] as sdk.SpeechRecognitionResult[], canceled: [] as Array<{ reason: sdk.CancellationReason; errorCode: sdk.CancellationErrorCode; details: string }>, stopped: 0 };
    r.recognizing = (_s, e) => events.recognizing.push(e.result);
    r.recognized = (_s, e) => events.recognized.push(e.result);
    r.canceled = (_s, e) => events.canceled.push({ reason: e.reason, errorCode: e.errorCode, details: e.errorDetails });
    r.sessionStopped = () => events.stopped++;
    r.startContinuousRecognitionAsync(
      () => undefined,
      () => undefined,
    );
    push.write(encode(tone(rate, 800, 6000), encoding));
    push.write(encode(tone(rate, 600, 0), encoding));
    push.close();
    return events;
  }

  it('µ-law 8 kHz: the SDK connects, streams, and reports the hypothesis and the detailed phrase', async () => {
    const events = await recognize(KEY, 8000, 'mulaw');
    await waitFor(() => events.stopped > 0, 'session stopped');
    expect(events.recognizing.map((r) => r.text)).toEqual(['hello how']);
    expect(events.recognized).toHaveLength(1);
    const phrase = events.recognized[0]!;
    expect(phrase.reason).toBe(sdk.ResultReason.RecognizedSpeech);
    expect(phrase.text).toBe('Hello how are you today.');
    expect(phrase.offset).toBe(0);
    expect(phrase.duration).toBe(800 * 10_000);
    const json = JSON.parse(phrase.properties.getProperty(sdk.PropertyId.SpeechServiceResponse_JsonResult)) as { NBest: Array<{ Confidence: number }> };
    expect(json.NBest[0]!.Confidence).toBeCloseTo(0.93);
    // The end of the stream is reported as such, not as an error.
    expect(events.canceled.map((c) => c.reason)).toEqual([sdk.CancellationReason.EndOfStream]);
    const s = double!.sessions[0]!;
    expect(s.configs).toBe(1);
    expect(s.query).toMatchObject({ language: 'en-US', format: 'detailed' });
    expect(s.turns[0]!.format).toMatchObject({ formatTag: 7, sampleRate: 8000, bitsPerSample: 8 });
    expect(s.turns[0]!.audioBytes).toBe(8000 * 1.4);
    expect(s.turns[0]!.audioEnded).toBe(true);
  });

  it('PCM 16 kHz: the same, with the offsets still in 100 ns ticks', async () => {
    const events = await recognize(KEY, 16000, 'pcm');
    await waitFor(() => events.stopped > 0, 'session stopped');
    expect(events.recognized[0]?.text).toBe('Hello how are you today.');
    expect(events.recognized[0]?.duration).toBe(800 * 10_000);
    expect(double!.sessions[0]!.turns[0]!.format).toMatchObject({ formatTag: 1, sampleRate: 16000, bitsPerSample: 16 });
  });

  it('a wrong key: the SDK sees the upgrade refused and cancels with an error', async () => {
    const events = await recognize('wrong-key', 8000, 'mulaw');
    await waitFor(() => events.canceled.length > 0, 'canceled');
    expect(events.canceled[0]).toMatchObject({ reason: sdk.CancellationReason.Error, errorCode: sdk.CancellationErrorCode.ConnectionFailure });
    expect(events.canceled[0]!.details).toContain('401');
    expect(events.recognized).toHaveLength(0);
    expect(double!.rejectedCount).toBeGreaterThan(0);
  });
});
