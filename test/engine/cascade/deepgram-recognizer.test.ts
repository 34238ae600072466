import { afterEach, describe, expect, it } from 'vitest';
import { DeepgramRecognizer, type DeepgramOptions } from '../../../engine/src/pipeline/cascade/deepgram-recognizer.js';
import type { RecognizedText } from '../../../engine/src/pipeline/cascade/types.js';
import { DeepgramDouble, type DeepgramFault } from '../../../tools/doubles/deepgram-server.js';
import { context, utterance, waitFor } from './helpers.js';

const KEY = 'dg-test-key';

function options(url: string, over: Partial<DeepgramOptions> = {}): DeepgramOptions {
  return {
    url,
    apiKey: KEY,
    model: 'nova-3',
    endpointingMs: 300,
    utteranceEndMs: 1000,
    keepAliveMs: 4000,
    maxBufferedBytes: 64 * 1024,
    connectTimeoutMs: 5000,
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 100,
    reconnectMaxAttempts: 5,
    pingIntervalMs: 0,
    maxMessageBytes: 1 << 20,
    ...over,
  };
}

describe('DeepgramRecognizer against the Deepgram double', () => {
  let double: DeepgramDouble | null = null;
  let rec: DeepgramRecognizer | null = null;
  afterEach(async () => {
    rec?.close();
    await rec?.whenClosed();
    await double?.close();
    rec = null;
    double = null;
  });

  async function start(fault: DeepgramFault = 'none', over: Partial<DeepgramOptions> = {}) {
    double = await DeepgramDouble.start({ apiKey: KEY, script: ['hello how are you today', 'the cat is black'], fault });
    const r = new DeepgramRecognizer(context, 'en-US', 8000, options(double.url, over));
    rec = r;
    const results: RecognizedText[] = [];
    const errors: string[] = [];
    const connections: string[] = [];
    r.on('transcript', (t) => results.push(t));
    r.on('error', (code) => errors.push(code));
    r.on('connection', (state) => connections.push(state));
    return { r, results, errors, connections };
  }

  it('streams µ-law at 8 kHz with the documented query and gets interim then final text', async () => {
    const { r, results, connections } = await start();
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
    expect(final.confidence).toBeCloseTo(0.98);
    expect(final.endMs).toBeGreaterThan(final.startMs);
    const interim = results.find((t) => !t.final);
    expect(interim?.text).toBe('hello how');
    const q = double!.sessions[0]!.query;
    expect(q).toMatchObject({ encoding: 'mulaw', sample_rate: '8000', interim_results: 'true', endpointing: '300', utterance_end_ms: '1000', language: 'en-US', model: 'nova-3' });
    // µ-law: one byte a sample.
    expect(double!.sessions[0]!.audioBytes).toBe(65 * 160);
    expect(r.stats()).toMatchObject({ finals: 1, badMessages: 0 });
  });

  it('Finalize on end of speech ends the utterance without waiting for endpointing', async () => {
    const { r, results, connections } = await start('none', { endpointingMs: 5000 });
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 2);
    r.endOfSpeech();
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('hello how are you today');
    expect(double!.sessions[0]!.finalizes).toBe(1);
  });

  it('sends KeepAlive while no audio flows and CloseStream at close', async () => {
    const { r, connections } = await start('none', { keepAliveMs: 100 });
    await waitFor(() => connections.includes('connected'), 'connected');
    await waitFor(() => double!.sessions[0]!.keepAlives >= 2, 'keep-alives');
    r.close();
    await r.whenClosed();
    await waitFor(() => double!.sessions[0]!.closeStreams === 1, 'CloseStream');
  });

  it('a refused key is reported as unauthorized and not retried', async () => {
    double = await DeepgramDouble.start({ apiKey: 'another-key', script: ['x'] });
    const r = new DeepgramRecognizer(context, 'en-US', 8000, options(double.url));
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

  it('a stalled service yields no text, and the audio is still taken without blocking', async () => {
    const { r, results, connections } = await start('stall');
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    await waitFor(() => double!.sessions[0]!.audioBytes === 65 * 160, 'audio at the double');
    expect(results).toHaveLength(0);
    expect(r.stats().framesSent).toBe(65);
  });

  it('a drop mid-utterance reconnects and the next utterance is recognized', async () => {
    const { r, results, connections } = await start('drop');
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    await waitFor(() => connections.includes('disconnected'), 'disconnected');
    double!.fault = 'none';
    await waitFor(() => connections.filter((c) => c === 'connected').length === 2, 'reconnected');
    utterance(r, 40, 25);
    const final = await waitFor(() => results.find((t) => t.final), 'final');
    expect(final.text).toBe('the cat is black');
    expect(r.stats()).toMatchObject({ connects: 2, disconnects: 1 });
  });

  it('malformed messages are counted and reported; the good ones still get through', async () => {
    const { r, results, errors, connections } = await start('malformed');
    await waitFor(() => connections.includes('connected'), 'connected');
    utterance(r, 40, 25);
    await waitFor(() => results.find((t) => t.final), 'final');
    expect(errors.filter((e) => e === 'protocol')).toHaveLength(2);
    expect(r.stats().badMessages).toBe(2);
  });
});
