import { afterEach, describe, expect, it } from 'vitest';
import { GoogleRecognizer, type GoogleRecognizerOptions } from '../../../engine/src/pipeline/cascade/google/recognizer.js';
import { sharedCount } from '../../../engine/src/pipeline/cascade/shared.js';
import type { RecognizedText } from '../../../engine/src/pipeline/cascade/types.js';
import type { MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';
import { GoogleDouble, type GoogleDoubleOptions } from '../../../tools/doubles/google-server.js';
import { toneFrame, waitFor } from './helpers.js';

const context: StageContext = { pairId: 'p1', srcExt: '1001', dstExt: '1002', direction: 'A->B' };
const KEY = 'google-test-key';

function options(endpoint: string, over: Partial<GoogleRecognizerOptions> = {}): GoogleRecognizerOptions {
  return {
    endpoint,
    tls: false,
    apiKey: KEY,
    enableAutomaticPunctuation: true,
    streamLimitMs: 280_000,
    finalizeTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    reconnectMaxAttempts: 5,
    maxBufferedFrames: 1000,
    ...over,
  };
}

const frame = (tone: boolean, index: number, rate: 8000 | 16000 = 8000): MediaFrame => toneFrame(context, tone, index, rate);

let clock = 0;
function utterance(r: GoogleRecognizer, speechFrames: number, silenceFrames: number, rate: 8000 | 16000 = 8000): void {
  for (let i = 0; i < speechFrames; i++) r.pushAudio(frame(true, clock++, rate));
  for (let j = 0; j < silenceFrames; j++) r.pushAudio(frame(false, clock++, rate));
}

type Stats = Record<string, number | string>;

describe('GoogleRecognizer against the Google Speech-to-Text double', () => {
  let double: GoogleDouble | null = null;
  let rec: GoogleRecognizer | null = null;
  afterEach(async () => {
    rec?.close();
    await double?.close();
    rec = null;
    double = null;
    expect(sharedCount()).toBe(0);
  });

  async function start(over: Partial<GoogleRecognizerOptions> = {}, doubleOver: Partial<GoogleDoubleOptions> = {}, rate: 8000 | 16000 = 8000, before?: (d: GoogleDouble) => void) {
    double = await GoogleDouble.start({ apiKey: KEY, script: ['hello how are you today', 'the cat is black'], ...doubleOver });
    before?.(double);
    const r = new GoogleRecognizer(context, 'en-US', rate, options(double.endpoint, over));
    rec = r;
    const results: RecognizedText[] = [];
    const errors: string[] = [];
    const connections: string[] = [];
    r.on('transcript', (t) => results.push(t));
    r.on('error', (code) => errors.push(code));
    r.on('connection', (state) => connections.push(state));
    return { r, results, errors, connections, stats: () => r.stats() as Stats };
  }

  it('streams µ-law at 8 kHz after a streamingConfig and gets interim then final text with timing', async () => {
    const { r, results, connections, stats } = await start();
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
    expect(final.confidence).toBeCloseTo(0.92);
    expect(final.endMs).toBeGreaterThan(final.startMs);
    expect(final.startMs).toBeGreaterThanOrEqual(0);
    expect(results.find((t) => !t.final)?.text).toBe('hello how');
    const session = double!.speechSessions[0]!;
    expect(session.config).toMatchObject({ encoding: 'MULAW', sampleRateHertz: 8000, languageCode: 'en-US', audioChannelCount: 1, enableWordTimeOffsets: true });
    expect(session.interimResults).toBe(true);
    expect(session.singleUtterance).toBe(false);
    await waitFor(() => session.audioBytes === 65 * 160, 'all audio at the double (one byte a sample)');
    expect(stats()).toMatchObject({ finals: 1, emptyResults: 0, streams: 1 });
  });

  it('a 16 kHz leg streams LINEAR16 at 16000', async () => {
    const { r, results, connections } = await start({}, {}, 16000);
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25, 16000);
    await waitFor(() => results.find((t) => t.final), 'final');
    expect(double!.speechSessions[0]!.config).toMatchObject({ encoding: 'LINEAR16', sampleRateHertz: 16000 });
    await waitFor(() => double!.speechSessions[0]!.audioBytes === 65 * 320 * 2, 'two bytes a sample');
  });

  it('end of speech half-closes the stream for its final while a new stream takes the next audio', async () => {
    const { r, results, connections, stats } = await start({}, { endpointingMs: 60_000 });
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 2);
    await waitFor(() => results.some((t) => !t.final), 'interim');
    r.endOfSpeech();
    const first = await waitFor(() => results.find((t) => t.final), 'first final');
    expect(first.text).toBe('hello how are you today');
    await waitFor(() => double!.speechSessions[0]!.status === 'OK', 'first stream ended OK');
    expect(double!.speechSessions[0]!.halfClosed).toBe(true);
    await waitFor(() => double!.speechSessions.length === 2, 'second stream');
    utterance(r, 40, 2);
    await waitFor(() => results.filter((t) => !t.final).length >= 2, 'second interim');
    r.endOfSpeech();
    const second = await waitFor(() => results.filter((t) => t.final)[1], 'second final');
    expect(second.text).toBe('the cat is black');
    // The second stream's clock starts where the first stream's audio ended.
    expect(second.startMs).toBeGreaterThanOrEqual(first.endMs);
    expect(stats()).toMatchObject({ rotations: 2, connects: 1, disconnects: 0 });
  });

  it('a refused key is reported as unauthorized and not retried', async () => {
    const { errors, stats } = await start({ apiKey: 'another-key' });
    await waitFor(() => errors.includes('unauthorized'), 'unauthorized');
    expect(double!.unauthenticated).toBe(1);
    expect(stats().state).toBe('stopped');
  });

  it('UNAVAILABLE is retried with backoff, then given up', async () => {
    const { errors } = await start({ reconnectMaxAttempts: 2 }, {}, 8000, (d) => d.setFault('speech', 'unavailable'));
    await waitFor(() => errors.includes('gave_up'), 'gave_up');
    expect(errors.filter((e) => e === 'unavailable')).toHaveLength(3);
  });

  it('a service that ends every stream at once is retried with backoff, not in a tight loop', async () => {
    const { errors } = await start({ reconnectMaxAttempts: 2 }, {}, 8000, (d) => d.setFault('speech', 'hangup'));
    await waitFor(() => errors.includes('gave_up'), 'gave_up');
    expect(double!.speechSessions).toHaveLength(3);
    expect(double!.speechSessions.every((x) => x.status === 'OK')).toBe(true);
  });

  it('RESOURCE_EXHAUSTED twice, then the stream comes up and recognizes', async () => {
    const { r, results, errors, connections } = await start({}, {}, 8000, (d) => d.setFault('speech', 'exhausted', 2));
    await waitFor(() => errors.filter((e) => e === 'overloaded').length === 2, 'two overloaded');
    await waitFor(() => double!.speechSessions.length === 1, 'an accepted stream');
    expect(connections.filter((c) => c === 'connected').length).toBeGreaterThanOrEqual(1);
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
  });

  it('a stalled stream is cancelled after finalizeTimeoutMs and counted; audio is still taken without blocking', async () => {
    const { r, results, errors, connections, stats } = await start({ finalizeTimeoutMs: 200, streamLimitMs: 1000 }, {}, 8000, (d) => d.setFault('speech', 'stall', 1));
    await waitFor(() => connections.includes('connected'), 'connected');
    // Nothing was heard back, so there is nothing to finalize: end of speech alone does not rotate.
    r.endOfSpeech();
    expect(stats().rotations).toBe(0);
    for (let i = 0; i < 51; i++) r.pushAudio(frame(false, clock++));
    await waitFor(() => double!.speechSessions[0]!.audioBytes === 50 * 160, 'a second of audio at the double, then the rotation');
    // The stream limit rotates; the stalled stream never ends after its half-close and is given up.
    await waitFor(() => errors.includes('stalled'), 'stalled');
    expect(stats()).toMatchObject({ stalls: 1, limitRotations: 1 });
    await waitFor(() => double!.speechSessions[0]!.cancelled, 'stalled stream cancelled at the double');
    expect(double!.speechSessions[0]!.halfClosed).toBe(true);
    // The next stream answers.
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final on the next stream');
    expect(final.text).toBe('hello how are you today');
  });

  it('Google ending a stream at its duration limit (OUT_OF_RANGE) is restarted transparently', async () => {
    const { r, results, errors, connections, stats } = await start({}, { streamLimitMs: 1500 });
    await waitFor(() => connections.includes('connected'), 'connected');
    for (let i = 0; i < 80; i++) r.pushAudio(frame(false, clock++));
    await waitFor(() => double!.speechSessions[0]!.status === 'OUT_OF_RANGE', 'limit hit');
    await waitFor(() => stats().outOfRangeRestarts === 1, 'restarted');
    await waitFor(() => double!.speechSessions.length === 2, 'second stream');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
    expect(errors).toEqual([]);
    expect(connections).toEqual(['connected']);
  });

  it('a stream reaching streamLimitMs is replaced at a pause before Google would end it', async () => {
    const { r, results, errors, connections, stats } = await start({ streamLimitMs: 1000 });
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    await waitFor(() => results.find((t) => t.final), 'final');
    for (let i = 0; i < 10; i++) r.pushAudio(frame(false, clock++));
    await waitFor(() => double!.speechSessions[0]!.status === 'OK', 'first stream half-closed and ended');
    expect(stats().limitRotations).toBe(1);
    await waitFor(() => double!.speechSessions.length === 2, 'second stream');
    expect(errors).toEqual([]);
  });

  it('a drop mid-utterance keeps the words heard so far, reconnects, and the next utterance is recognized', async () => {
    const { r, results, errors, connections, stats } = await start({}, {}, 8000, (d) => d.setFault('speech', 'drop', 1));
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    const kept = await waitFor(() => results.find((t) => t.final), 'the interim promoted to a final');
    expect(kept).toMatchObject({ text: 'hello how', confidence: null });
    expect(errors).toContain('unavailable');
    await waitFor(() => connections.filter((c) => c === 'connected').length === 2, 'reconnected');
    expect(connections).toEqual(['connected', 'disconnected', 'connected']);
    utterance(r, 40, 25);
    const next = await waitFor(() => results.filter((t) => t.final)[1], 'next final');
    expect(next.text).toBe('the cat is black');
    expect(stats()).toMatchObject({ connects: 2, disconnects: 1 });
  });

  it('a result without alternatives is counted, not a fault; the good ones still get through', async () => {
    const { r, results, errors, connections, stats } = await start({}, {}, 8000, (d) => d.setFault('speech', 'malformed'));
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
    expect(stats().emptyResults).toBe(1);
    expect(errors).toEqual([]);
  });

  it('close cancels the stream and releases the shared channel', async () => {
    const { r, connections } = await start();
    await waitFor(() => connections.includes('connected'), 'connected');
    expect(sharedCount()).toBe(1);
    r.close();
    r.close();
    expect(sharedCount()).toBe(0);
    await waitFor(() => double!.speechSessions[0]!.cancelled, 'cancelled at the double');
  });
});
