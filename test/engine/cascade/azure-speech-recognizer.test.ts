import { afterEach, describe, expect, it } from 'vitest';
import { AzureSpeechRecognizer, type AzureSpeechRecognizerOptions } from '../../../engine/src/pipeline/cascade/azure-speech-recognizer.js';
import type { RecognizedText } from '../../../engine/src/pipeline/cascade/types.js';
import { AzureSpeechDouble, type AzureSpeechFault } from '../../../tools/doubles/azure-speech-server.js';
import { TEST_CONNECTION, context, frame, utterance, waitFor } from './helpers.js';

const KEY = 'azure-speech-test-key';

function options(url: string, over: Partial<AzureSpeechRecognizerOptions> = {}): AzureSpeechRecognizerOptions {
  return {
    url,
    key: KEY,
    segmentationSilenceMs: 300,
    maxBufferedBytes: 64 * 1024,
    maxPendingMs: 2000,
    turnEndTimeoutMs: 5000,
    ...TEST_CONNECTION,
    ...over,
  };
}

describe('AzureSpeechRecognizer against the Azure Speech double', () => {
  let double: AzureSpeechDouble | null = null;
  let rec: AzureSpeechRecognizer | null = null;
  afterEach(async () => {
    rec?.close();
    await rec?.whenClosed();
    await double?.close();
    rec = null;
    double = null;
  });

  async function start(fault: AzureSpeechFault = 'none', over: Partial<AzureSpeechRecognizerOptions> = {}, rate: 8000 | 16000 = 8000) {
    double = await AzureSpeechDouble.start({ key: KEY, script: ['hello how are you today', 'the cat is black'], fault });
    const r = new AzureSpeechRecognizer(context, 'en-US', rate, options(double.url, over));
    rec = r;
    const results: RecognizedText[] = [];
    const errors: string[] = [];
    const connections: string[] = [];
    r.on('transcript', (t) => results.push(t));
    r.on('error', (code) => errors.push(code));
    r.on('connection', (state) => connections.push(state));
    return { r, results, errors, connections };
  }

  it('streams µ-law 8 kHz in the SDK framing and gets a hypothesis then the phrase with offsets and confidence', async () => {
    const { r, results, connections } = await start();
    await waitFor(() => connections.includes('connected'), 'connected');
    await waitFor(() => double!.sessions[0]?.turns.length === 1, 'first turn');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('Hello how are you today.');
    expect(final.confidence).toBeCloseTo(0.93);
    // The tone starts at the first frame and lasts 40 frames: the double's offsets (100 ns ticks) come back in ms.
    expect(final.startMs).toBe(0);
    expect(final.endMs).toBe(800);
    const interim = results.find((t) => !t.final);
    expect(interim).toMatchObject({ text: 'hello how', final: false, startMs: 0, confidence: null });
    const s = double!.sessions[0]!;
    expect(s.query).toMatchObject({ language: 'en-US', format: 'detailed' });
    expect(s.connectionId).toMatch(/^[0-9A-F]{32}$/);
    expect(s.configs).toBe(1);
    expect(s.turns[0]!.requestId).toMatch(/^[0-9A-F]{32}$/);
    expect(s.turns[0]!.format).toMatchObject({ formatTag: 7, sampleRate: 8000, bitsPerSample: 8, channels: 1 });
    expect(s.turns[0]!.context).toMatchObject({ phraseDetection: { mode: 'Conversation', conversation: { segmentation: { mode: 'Custom', segmentationSilenceTimeoutMs: 300 } } } });
    await waitFor(() => s.turns[0]!.audioBytes >= 65 * 160, 'all audio at the double');
    expect(s.turns[0]!.audioBytes).toBe(65 * 160);
    expect(r.stats()).toMatchObject({ finals: 1, hypotheses: 1, badMessages: 0, turns: 1 });
  });

  it('a 16 kHz leg sends 16-bit PCM at 16 kHz', async () => {
    const { r, results, connections } = await start('none', {}, 16000);
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25, 16000);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('Hello how are you today.');
    const turn = double!.sessions[0]!.turns[0]!;
    expect(turn.format).toMatchObject({ formatTag: 1, sampleRate: 16000, bitsPerSample: 16 });
    // The final can reach us before the double has read the last silence frames (a busy host): wait for all of them.
    await waitFor(() => turn.audioBytes >= 65 * 640, 'all audio at the double');
    expect(turn.audioBytes).toBe(65 * 640);
  });

  it('end of speech ends the turn at once; the next turn continues the timeline and nothing said meanwhile is lost', async () => {
    const { r, results, connections } = await start('none', { segmentationSilenceMs: 5000 });
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 2);
    r.endOfSpeech();
    // Said before the next turn is open: held, then sent on it.
    for (let i = 0; i < 10; i++) r.pushAudio(frame(false, 42 + i));
    const first = await waitFor(() => results.find((t) => t.final), 'first final');
    expect(first.text).toBe('Hello how are you today.');
    await waitFor(() => double!.sessions[0]!.turns.length === 2, 'second turn');
    const s = double!.sessions[0]!;
    expect(s.turns[0]!.audioEnded).toBe(true);
    expect(s.turns[1]!.requestId).not.toBe(s.turns[0]!.requestId);
    expect(s.configs).toBe(1);
    utterance(r, 30, 2);
    r.endOfSpeech();
    const second = await waitFor(() => results.filter((t) => t.final)[1], 'second final');
    expect(second.text).toBe('The cat is black.');
    // Turn 2's offsets start after the 42 + 10 frames of turn 1's audio (1040 ms).
    expect(second.startMs).toBe(1040);
    expect(s.turns[0]!.audioBytes + s.turns[1]!.audioBytes).toBe((42 + 10 + 32) * 160);
    expect(r.stats()).toMatchObject({ droppedPending: 0 });
  });

  it('audio before the connection opens waits in a bounded queue; the oldest beyond it is dropped and counted', async () => {
    double = await AzureSpeechDouble.start({ key: KEY, script: ['x'] });
    const r = new AzureSpeechRecognizer(context, 'en-US', 8000, options(double.url, { maxPendingMs: 1000 }));
    rec = r;
    for (let i = 0; i < 200; i++) r.pushAudio(frame(false, i));
    expect(r.stats()).toMatchObject({ pending: 50, droppedPending: 150 });
    await waitFor(() => double!.sessions[0]?.turns[0]?.audioBytes === 50 * 160, 'held audio sent');
    expect(r.stats()).toMatchObject({ pending: 0 });
  });

  it('a refused key is reported as unauthorized and not retried', async () => {
    double = await AzureSpeechDouble.start({ key: 'another-key', script: ['x'] });
    const r = new AzureSpeechRecognizer(context, 'en-US', 8000, options(double.url));
    rec = r;
    const errors: string[] = [];
    r.on('error', (code) => errors.push(code));
    await waitFor(() => errors.includes('unauthorized'), 'unauthorized');
    expect(double.rejectedCount).toBe(1);
    expect(double.sessions).toHaveLength(0);
  });

  it('HTTP 429 on the upgrade is retried with backoff, then given up', async () => {
    const { errors } = await start('ratelimit', { reconnectMaxAttempts: 2 });
    await waitFor(() => errors.includes('gave_up'), 'gave_up');
    expect(errors.filter((e) => e === 'connect_failed').length).toBe(3);
  });

  it('a service that closes with 1011 is reconnected to; 1007 (parameters refused) is not', async () => {
    const { r, errors, connections } = await start('servererror');
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 5, 0);
    await waitFor(() => connections.includes('disconnected'), 'disconnected');
    double!.fault = 'badrequest';
    await waitFor(() => connections.filter((c) => c === 'connected').length === 2, 'reconnected');
    utterance(r, 5, 0);
    await waitFor(() => errors.includes('bad_request'), 'bad_request');
    await waitFor(() => double!.liveSessions === 0, 'closed');
    expect(double!.sessions).toHaveLength(2);
  });

  it('a stalled service (no turn.end after the end of audio) is dropped and reconnected', async () => {
    const { r, results, errors, connections } = await start('stall', { turnEndTimeoutMs: 300 });
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 5);
    r.endOfSpeech();
    await waitFor(() => errors.includes('stalled'), 'stalled');
    await waitFor(() => connections.filter((c) => c === 'connected').length === 2, 'reconnected');
    expect(results).toHaveLength(0);
    expect(r.stats()).toMatchObject({ stalls: 1, disconnects: 1 });
  });

  it('a drop mid-utterance keeps the hypothesis as the final, reconnects, and the next utterance is recognized', async () => {
    const { r, results, connections } = await start('drop');
    await waitFor(() => connections.includes('connected'), 'connected');
    await waitFor(() => double!.sessions[0]?.turns.length === 1, 'first turn');
    utterance(r, 40, 25);
    await waitFor(() => connections.includes('disconnected'), 'disconnected');
    expect(results.filter((t) => t.final)).toEqual([{ text: 'hello how', final: true, startMs: 0, endMs: 200, confidence: null }]);
    double!.fault = 'none';
    await waitFor(() => connections.filter((c) => c === 'connected').length === 2, 'reconnected');
    await waitFor(() => double!.sessions[1]?.turns.length === 1, 'turn on the new connection');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.filter((t) => t.final)[1], 'final after reconnect');
    expect(final.text).toBe('The cat is black.');
    expect(r.stats()).toMatchObject({ connects: 2, disconnects: 1 });
  });

  it('malformed messages are counted and reported; the good ones still get through', async () => {
    const { r, results, errors, connections } = await start('malformed');
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('Hello how are you today.');
    // No headers; no X-RequestId; a hypothesis whose Text is a number; a binary message.
    expect(errors.filter((e) => e === 'protocol')).toHaveLength(4);
    expect(r.stats()).toMatchObject({ badMessages: 4 });
  });
});
