import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../../common/src/errors.js';
import { OpenAiRealtimeStage, openAiRealtimeStageFactory, type OpenAiRealtimeStageOptions } from '../../../../../engine/src/pipeline/providers/openai-realtime/index.js';
import { OpenAiRealtimeLocalServer, type OpenAiRealtimeLocalServerOptions } from '../../../../../tools/doubles/openai-realtime-server.js';
import { synthesizeSpeechSamples, type StreamingError, type TranscriptMessage, type TranslationMessage } from '../../../../../engine/src/pipeline/streaming/index.js';
import { toneAmplitude, zeroCrossingFrequency, db } from '../../../codec/signal.js';
import { PAIR, makeFrame, waitFor } from '../../helpers.js';
import { drive, newLog } from './drive.js';

const RATE = 8000;
let words: Int16Array;
/** Real speech (about 2 s) then 1 s of silence, so a 300 ms VAD hangover ends the utterance. */
let speech: Int16Array;

beforeAll(async () => {
  words = await synthesizeSpeechSamples('hello, this is a test of the translation loop', { voice: 'en', sampleRate: RATE });
  speech = new Int16Array(words.length + RATE);
  speech.set(words);
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stage(url: string, extra: Partial<OpenAiRealtimeStageOptions> = {}): OpenAiRealtimeStage {
  const s = new OpenAiRealtimeStage(PAIR, { url, sourceLanguage: 'en', targetLanguage: 'es', vadSilenceMs: 300, reconnectInitialDelayMs: 50, ...extra });
  cleanups.push(async () => {
    s.close();
    await s.whenClosed();
  });
  return s;
}

async function server(options: OpenAiRealtimeLocalServerOptions = {}): Promise<OpenAiRealtimeLocalServer> {
  const svc = await OpenAiRealtimeLocalServer.start(options);
  cleanups.push(() => svc.close());
  return svc;
}

function tone(count: number, hz: number, rate: number, amplitude: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

function collect(s: OpenAiRealtimeStage): { transcripts: TranscriptMessage[]; translations: TranslationMessage[]; marks: Array<{ name: string; queued: number; played: number }>; errors: StreamingError[] } {
  const got = { transcripts: [] as TranscriptMessage[], translations: [] as TranslationMessage[], marks: [] as Array<{ name: string; queued: number; played: number }>, errors: [] as StreamingError[] };
  s.on('transcript', (m) => got.transcripts.push(m));
  s.on('translation', (m) => got.translations.push(m));
  s.on('mark', (name) => got.marks.push({ name, queued: s.stats().queuedSamples, played: s.stats().framesPlayed }));
  s.on('error', (e) => got.errors.push(e));
  return got;
}

describe('OpenAiRealtimeStage session', () => {
  it('starts with a valid GA session.update carrying the languages, the interpreter instructions, 24 kHz pcm and server VAD; key as bearer, model in the URL', async () => {
    const svc = await server({ apiKey: 'sk-local-test-key' });
    const s = stage(svc.url, { apiKey: 'sk-local-test-key', model: 'gpt-realtime-test', voice: 'marin' });
    const started: Array<string | undefined> = [];
    s.on('started', (id) => started.push(id));
    await waitFor(() => started.length === 1, 5000, 'session.created');
    const rec = svc.sessions[0]!;
    await waitFor(() => rec.sessionUpdates.length === 1, 5000, 'session.update');
    expect(started).toEqual([rec.id]);
    expect(rec.model).toBe('gpt-realtime-test');
    expect(rec.invalid).toEqual([]);
    const session = rec.sessionUpdates[0]!;
    expect(session).toMatchObject({
      type: 'realtime',
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
          turn_detection: { type: 'server_vad', silence_duration_ms: 300, create_response: true, interrupt_response: false },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
      },
    });
    expect(session.instructions).toContain('from English into Spanish');
    expect(session.instructions).toContain('Speak only the translation');
    expect(rec.turnDetection).toBe('server_vad');
    expect(s.stats()).toMatchObject({ connected: true, connects: 1, sessions: 1, badMessages: 0 });
  });

  it.each([8000, 16000])('sends %i Hz frames as 24 kHz base64 audio of the same duration and pitch', async (rate) => {
    const svc = await server();
    const s = stage(svc.url);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const input = tone(rate, 1000, rate, 8000); // 1 s
    await drive(s, input, rate, (l) => l.ticks === 50);
    const rec = svc.sessions[0]!;
    await waitFor(() => rec.appends === 50, 5000, 'appends');
    expect(rec.invalid).toEqual([]);
    expect(rec.samplesReceived).toBe(24000); // 50 × 20 ms at 24 kHz
    expect(s.stats()).toMatchObject({ framesSent: 50, bytesSent: 48000, droppedNotConnected: 0, droppedBackpressure: 0 });
    // What arrived is the tone at 24 kHz: same frequency and level (past the filter's start-up).
    const got = rec.capture.subarray(2400, 24000);
    expect(zeroCrossingFrequency(got, 24000)).toBeCloseTo(1000, 0);
    expect(Math.abs(db(toneAmplitude(got, 0, 21600, 1000, 24000) / 8000))).toBeLessThan(1);
  });

  it('rejects bad options with a ConfigError naming the key; the factory validates once, up front', () => {
    const base = { url: 'ws://127.0.0.1:1/', sourceLanguage: 'en', targetLanguage: 'es' };
    const key = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return err instanceof ConfigError ? err.key : 'not a ConfigError';
      }
      return undefined;
    };
    expect(key(() => new OpenAiRealtimeStage(PAIR, { ...base, url: 'https://api.openai.com/v1/realtime' }))).toBe('url');
    expect(key(() => new OpenAiRealtimeStage(PAIR, { ...base, turnDetection: 'semantic' as 'client' }))).toBe('turnDetection');
    expect(key(() => new OpenAiRealtimeStage(PAIR, { ...base, duckGain: 3 }))).toBe('duckGain');
    expect(key(() => new OpenAiRealtimeStage(PAIR, { ...base, apikey: 'x' } as OpenAiRealtimeStageOptions))).toBe('apikey');
    expect(key(() => openAiRealtimeStageFactory({ ...base, targetLanguage: '' }))).toBe('targetLanguage');
  });
});

describe('OpenAiRealtimeStage with the local server (server VAD)', () => {
  it('an utterance of real speech gives transcript + translation, the spoken answer comes out as 8 kHz frames, and the mark fires once it has played', async () => {
    const svc = await server();
    const s = stage(svc.url);
    const got = collect(s);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');

    const log = await drive(s, speech, RATE, () => got.marks.length > 0, { maxMs: 20_000 });

    const rec = svc.sessions[0]!;
    expect(rec.utterances).toHaveLength(1);
    const u = rec.utterances[0]!;
    // espeak's sentence is about 2 s; the energy detector must have found most of it as one utterance.
    expect(u.endMs - u.startMs).toBeGreaterThan(1000);
    expect(u.endMs - u.startMs).toBeLessThanOrEqual((words.length / RATE) * 1000 + 40);
    expect(u.status).toBe('completed');
    const finals = got.transcripts.filter((t) => t.final);
    expect(finals).toEqual([{ event: 'transcript', utteranceId: u.itemId, text: u.text, final: true, startMs: expect.any(Number), endMs: u.endMs, language: 'en' }]);
    expect(finals[0]!.startMs).toBeLessThanOrEqual(u.startMs);
    // Partials of the translation grow word by word; the final is the whole text, tied to the same utterance.
    const translations = got.translations.filter((t) => t.final);
    expect(translations).toEqual([{ event: 'translation', utteranceId: u.itemId, text: u.text, language: 'es', final: true }]);
    expect(got.translations.filter((t) => !t.final).at(-1)?.text).toBe(u.text);

    // Nothing came back while the speaker spoke; the answer came afterwards, as 20 ms frames at the leg's rate.
    expect(log.outputRates).toEqual(new Set([8000]));
    expect(log.outputSizes).toEqual(new Set([160]));
    expect(log.nullOutputs).toBeGreaterThan(u.endMs / 20);
    expect(log.outputRms.filter((r) => r > 300).length).toBeGreaterThan(20);
    // The mark fired only after every sample of the answer had been played out.
    expect(got.marks).toHaveLength(1);
    expect(got.marks[0]).toMatchObject({ name: `response:${u.responseId}`, queued: 0 });
    expect(got.marks[0]!.played).toBeGreaterThanOrEqual(Math.ceil(u.samplesSent / 480));
    expect(log.outputRms.length).toBe(got.marks[0]!.played);
    await waitFor(() => rec.samplesReceived === s.stats().bytesSent / 2, 5000, 'all audio at the server');
    expect(s.stats()).toMatchObject({ samplesReceived: u.samplesSent, responsesStarted: 1, responsesDone: 1, badMessages: 0, serviceErrors: 0, queueDroppedSamples: 0, droppedBackpressure: 0, bargeIns: 0 });
    expect(got.errors).toEqual([]);
    expect(rec.invalid).toEqual([]);
  });

  it('the speaker starting again (server speech_started) drops the queued answer, fires its mark, and the next answer plays', async () => {
    const svc = await server();
    const s = stage(svc.url);
    const got = collect(s);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const log = newLog();
    // Speak, then keep ticking silence until the answer is queued (at least 0.5 s of it).
    await drive(s, speech, RATE, () => s.stats().queuedSamples > 12_000, { log, maxMs: 20_000 });
    const queued = s.stats().queuedSamples;
    // Speak again while it plays.
    const ticksBefore = log.ticks;
    await drive(s, speech, RATE, () => s.stats().bargeIns === 1, { log, maxMs: 10_000 });
    const rec = svc.sessions[0]!;
    const first = rec.utterances[0]!;
    expect(s.stats().queuedSamples).toBe(0);
    expect(s.stats().clearedSamples).toBeGreaterThan(0);
    expect(queued).toBeGreaterThan(12_000);
    expect(s.stats().clearedSamples).toBeLessThanOrEqual(s.stats().samplesReceived);
    // Finish the second utterance: it is answered and played in full.
    await drive(s, speech, RATE, () => got.marks.length === 2, { log, from: (log.ticks - ticksBefore) * 160, maxMs: 20_000 });
    expect(rec.utterances).toHaveLength(2);
    expect(got.marks.map((m) => m.name)).toEqual(rec.utterances.map((u) => `response:${u.responseId}`));
    expect(got.marks[1]!.queued).toBe(0);
    expect(got.transcripts.filter((t) => t.final).map((t) => t.utteranceId).slice(0, 2)).toEqual([first.itemId, rec.utterances[1]!.itemId]);
  });

  it('flush() drops queued audio, cancels the response still streaming, and discards the audio of it that was in flight', async () => {
    // Paced deltas keep the response in progress long enough to be interrupted.
    const svc = await server({ chunkMs: 100, chunkIntervalMs: 80 });
    const s = stage(svc.url);
    const got = collect(s);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const log = newLog();
    await drive(s, speech, RATE, () => s.stats().responsesStarted === 1 && s.stats().queuedSamples > 0, { log, maxMs: 20_000 });
    s.flush();
    expect(s.stats().queuedSamples).toBe(0);
    expect(s.stats().responsesCancelled).toBe(1);
    const rec = svc.sessions[0]!;
    const u = rec.utterances[0]!;
    await waitFor(() => u.status === 'cancelled', 5000, 'cancel at the server');
    expect(rec.cancels).toBe(1);
    // response.done (cancelled) places the response's mark; nothing is queued, so it fires at the next tick.
    await drive(s, new Int16Array(0), RATE, () => got.marks.length === 1, { log, maxMs: 5000 });
    expect(got.marks[0]!.name).toBe(`response:${u.responseId}`);
    // Nothing of the cancelled answer plays any more.
    const quiet = await drive(s, new Int16Array(0), RATE, (l) => l.ticks === 50);
    expect(quiet.outputRms).toHaveLength(0);
    expect(s.stats().samplesReceived + s.stats().samplesDiscarded).toBe(u.samplesSent);
    expect(u.samplesSent).toBeLessThan(48_000); // cut short: the full answer is ~2 s
    expect(rec.invalid).toEqual([]); // the cancel named the active response
    expect(got.errors).toEqual([]);
  });
});

describe('OpenAiRealtimeStage with client turn detection', () => {
  it('speechEnded() commits and asks for a response; the transcript carries the caller\'s times; a second turn waits for the first response', async () => {
    const svc = await server();
    // interruptOnSpeech off: here the second turn must not cut the first answer short.
    const s = stage(svc.url, { turnDetection: 'client', interruptOnSpeech: false });
    const got = collect(s);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const rec = svc.sessions[0]!;
    await waitFor(() => rec.sessionUpdates.length === 1, 5000, 'session.update');
    expect(rec.sessionUpdates[0]!.audio?.input?.turn_detection).toBeNull();
    expect(rec.turnDetection).toBe('none');
    // Nothing sent yet: nothing to commit.
    expect(s.speechEnded(0)).toBe(false);
    expect(s.stats().commitsSkipped).toBe(1);

    s.speechStarted(120);
    const log = await drive(s, words, RATE, (l) => l.ticks * 160 >= words.length);
    expect(s.answering()).toBe(false);
    expect(s.speechEnded(2480)).toBe(true);
    // A response is asked for: the service owes an answer (a new language waits for it).
    expect(s.answering()).toBe(true);
    // A second short turn right away, while the first response is still being produced.
    s.speechStarted(2600);
    await drive(s, words, RATE, (l) => l.ticks === 10, { log: newLog() });
    expect(s.speechEnded(2800)).toBe(true);
    await drive(s, new Int16Array(0), RATE, () => got.marks.length === 2, { log, maxMs: 20_000 });

    expect(rec.commits).toBe(2);
    expect(rec.responseCreates).toBe(2);
    expect(rec.invalid).toEqual([]); // in particular no conversation_already_has_active_response
    expect(rec.utterances.map((u) => u.status)).toEqual(['completed', 'completed']);
    const finals = got.transcripts.filter((t) => t.final);
    expect(finals.map((t) => [t.utteranceId, t.startMs, t.endMs])).toEqual([
      [rec.utterances[0]!.itemId, 120, 2480],
      [rec.utterances[1]!.itemId, 2600, 2800],
    ]);
    expect(got.translations.filter((t) => t.final).map((t) => t.utteranceId)).toEqual([rec.utterances[0]!.itemId, rec.utterances[1]!.itemId]);
    expect(got.marks.map((m) => m.name)).toEqual(rec.utterances.map((u) => `response:${u.responseId}`));
    expect(s.stats()).toMatchObject({ commits: 2, commitsSkipped: 1, responsesDone: 2, bargeIns: 0 });
    // Both answers done and played: the direction is at a pause.
    expect([s.answering(), s.playing()]).toEqual([false, false]);
  });

  it('plays 16 kHz legs, accepts the beta event names, and duck mode mixes the original under the answer', async () => {
    const svc = await server({ answer: 'tone', toneHz: 1000, toneMs: 800, eventNames: 'beta' });
    const s = stage(svc.url, { turnDetection: 'client', mode: 'duck', duckGain: 0.5 });
    const got = collect(s);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    // Duck mode, nothing translated yet: the listener hears the original at half level.
    const frame = makeFrame(16000);
    frame.pcm.fill(1000);
    const out = s.process(frame);
    expect(out).not.toBeNull();
    expect(out!.sampleRate).toBe(16000);
    expect([...out!.pcm.subarray(0, out!.samples)].every((v) => v === 500)).toBe(true);
    frame.status = 'silence';
    expect(s.process(frame)).toBeNull();

    await drive(s, new Int16Array(0), 16000, (l) => l.ticks === 10);
    expect(s.speechEnded(200)).toBe(true);
    // Silent input from here on (status 'silence'): what comes out is the answer alone.
    const log = await drive(s, new Int16Array(0), 16000, () => got.marks.length === 1, { status: 'silence', maxMs: 10_000 });
    expect(got.translations.filter((t) => t.final).map((t) => t.text)).toEqual(['utterance 1, 0.2 s']);
    expect(log.outputRates).toEqual(new Set([16000]));
    expect(log.outputSizes).toEqual(new Set([320]));
    // 800 ms of 1 kHz at 24 kHz became 40 frames of 1 kHz at 16 kHz, same level.
    expect(log.outputRms.length).toBe(40);
    const body = log.output.slice(1600, 11_200);
    expect(zeroCrossingFrequency(body, 16000)).toBeCloseTo(1000, 0);
    expect(Math.abs(db(toneAmplitude(body, 0, 9600, 1000, 16000) / 8000))).toBeLessThan(1);
    expect(s.stats().badMessages).toBe(0);
  });
});

describe('OpenAiRealtimeStage with misbehaving services', () => {
  it('refuses a wrong key: unauthorized, no reconnect, the key absent from what the stage reports', async () => {
    const svc = await server({ apiKey: 'sk-right-secret' });
    const s = stage(svc.url, { apiKey: 'sk-wrong-secret' });
    const got = collect(s);
    await waitFor(() => got.errors.length > 0 && s.stats().failedConnects === 1, 5000, 'rejection');
    await new Promise((r) => setTimeout(r, 300));
    expect(got.errors.map((e) => e.code)).toEqual(['unauthorized']);
    expect(JSON.stringify(got.errors)).not.toContain('secret');
    expect(svc.rejectedCount).toBe(1);
    expect(svc.sessions).toHaveLength(0);
    expect(s.connected).toBe(false);
    // process() keeps working (dropping) without a connection.
    expect(s.process(makeFrame(RATE))).toBeNull();
    expect(s.stats().droppedNotConnected).toBe(1);

    const ok = stage(svc.url, { apiKey: 'sk-right-secret' });
    await waitFor(() => ok.stats().sessions === 1, 5000, 'authorized session');
    expect(svc.sessions).toHaveLength(1);
  });

  it('a dropped connection is reported, and the stage reconnects with a fresh session.update and keeps streaming', async () => {
    const svc = await server();
    const s = stage(svc.url);
    const disconnects: boolean[] = [];
    s.on('disconnected', (d) => disconnects.push(d.willReconnect));
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const log = newLog();
    await drive(s, new Int16Array(0), RATE, () => (svc.sessions[0]?.appends ?? 0) >= 10, { log });
    svc.dropConnections();
    await drive(s, new Int16Array(0), RATE, () => svc.sessions.length === 2 && (svc.sessions[1]?.appends ?? 0) >= 10, { log, maxMs: 10_000 });
    expect(disconnects).toEqual([true]);
    expect(svc.sessions[0]!.closed).toBe(true);
    expect(svc.sessions[1]!.sessionUpdates[0]).toEqual(svc.sessions[0]!.sessionUpdates[0]);
    expect(svc.sessions[1]!.invalid).toEqual([]);
    expect(s.stats()).toMatchObject({ connects: 2, disconnects: 1, sessions: 2 });
    // Frames ticked while the connection was down were dropped and counted, not queued.
    expect(s.stats().droppedNotConnected).toBeGreaterThan(0);
    expect(s.stats().framesSent + s.stats().droppedNotConnected).toBe(log.ticks);
  });

  it('a service that stalls (stops reading) costs dropped frames counted as backpressure, with the socket buffer bounded, and flow resumes after', async () => {
    const svc = await server();
    const maxBufferedBytes = 32 * 1024;
    const s = stage(svc.url, { maxBufferedBytes });
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    svc.stall();
    const frame = makeFrame(16000);
    for (let i = 0; i < frame.samples; i++) frame.pcm[i] = (i * 97) % 20000;
    let calls = 0;
    let maxBuffered = 0;
    // Loopback socket buffers absorb a few MB before ws buffers; bounded at 100 000 frames.
    while (s.stats().droppedBackpressure < 50 && calls < 100_000) {
      for (let k = 0; k < 500; k++, calls++) {
        expect(() => s.process(frame)).not.toThrow();
        maxBuffered = Math.max(maxBuffered, s.stats().socketBufferedBytes);
      }
      await new Promise((r) => setImmediate(r));
    }
    const stats = s.stats();
    expect(stats.droppedBackpressure).toBeGreaterThanOrEqual(50);
    expect(stats.framesSent + stats.droppedBackpressure + stats.droppedNotConnected).toBe(calls);
    // At most one message (~1.3 kB for 20 ms) beyond the bound: memory does not grow with the stall.
    expect(maxBuffered).toBeLessThanOrEqual(maxBufferedBytes + 1400);
    svc.stall(false);
    await waitFor(() => s.stats().socketBufferedBytes === 0, 10_000, 'socket drained');
    const sent = s.stats().framesSent;
    s.process(frame);
    expect(s.stats().framesSent).toBe(sent + 1);
    const rec = svc.sessions[0]!;
    await waitFor(() => rec.appends === sent + 1, 10_000, 'server caught up');
    expect(rec.invalid).toEqual([]);
  });

  it('a service that accepts the upgrade but never starts the session times out and is retried until it does', async () => {
    const svc = await server();
    svc.stall();
    const s = stage(svc.url, { sessionTimeoutMs: 200 });
    const got = collect(s);
    await waitFor(() => svc.sessions.length >= 2, 10_000, 'retries');
    expect(got.errors.filter((e) => e.code === 'connect_failed' && e.message.includes('session.created')).length).toBeGreaterThanOrEqual(1);
    expect(s.stats().failedConnects).toBeGreaterThanOrEqual(1);
    expect(s.stats().sessions).toBe(0);
    svc.stall(false);
    await waitFor(() => s.stats().sessions === 1, 10_000, 'session after the stall');
    expect(s.connected).toBe(true);
  });

  it('garbage is reported as protocol errors and counted, unknown events are ignored, service errors are reported, and the session carries on', async () => {
    const svc = await server();
    const s = stage(svc.url);
    const got = collect(s);
    // A listener that throws must not break the stage either.
    s.on('error', () => {
      throw new Error('bad listener');
    });
    const listenerErrors: string[] = [];
    s.on('listenererror', (event) => listenerErrors.push(event));
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const expected = svc.sendGarbage();
    await waitFor(() => got.errors.length === expected.length, 5000, 'protocol errors');
    expect(got.errors.map((e) => `${e.code}:${e.protocolCode}`)).toEqual(expected.map((c) => `protocol:${c}`));
    expect(s.stats().badMessages).toBe(expected.length);
    expect(listenerErrors).toHaveLength(expected.length);

    svc.sendRaw(JSON.stringify({ type: 'rate_limits.updated', event_id: 'e1', rate_limits: [] }));
    svc.sendRaw(JSON.stringify({ type: 'error', event_id: 'e2', error: { type: 'invalid_request_error', code: 'overloaded', message: 'try later', param: null, event_id: null } }));
    await waitFor(() => got.errors.length === expected.length + 1, 5000, 'service error');
    expect(got.errors.at(-1)).toEqual({ code: 'service', serviceCode: 'overloaded', message: 'try later' });
    expect(s.stats()).toMatchObject({ ignoredMessages: 1, serviceErrors: 1, badMessages: expected.length, connected: true });

    // Still working: a response (beta names) arrives, plays and is marked.
    const answer = Buffer.alloc(9600);
    for (let i = 0; i < 4800; i++) answer.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 500 * i) / 24000)), 2 * i);
    svc.sendRaw(JSON.stringify({ type: 'response.created', response: { id: 'resp_raw' } }));
    svc.sendRaw(JSON.stringify({ type: 'response.audio.delta', response_id: 'resp_raw', item_id: 'it', output_index: 0, content_index: 0, delta: answer.toString('base64') }));
    svc.sendRaw(JSON.stringify({ type: 'response.audio_transcript.done', response_id: 'resp_raw', item_id: 'it', transcript: 'still here' }));
    svc.sendRaw(JSON.stringify({ type: 'response.done', response: { id: 'resp_raw', status: 'completed' } }));
    const log = await drive(s, new Int16Array(0), RATE, () => got.marks.length === 1, { maxMs: 5000 });
    expect(got.marks[0]!.name).toBe('response:resp_raw');
    expect(got.translations.map((t) => [t.text, t.final, t.utteranceId])).toEqual([['still here', true, 'resp_raw']]);
    expect(log.outputRms).toHaveLength(10); // 200 ms
    expect(Math.max(...log.outputRms)).toBeGreaterThan(3000);
    expect(s.stats().samplesReceived).toBe(4800);
    expect(s.stats().badMessages).toBe(expected.length);
  });

  it('close() is idempotent, closes the socket, stops reconnecting and emits nothing afterwards', async () => {
    const svc = await server();
    const s = stage(svc.url);
    await waitFor(() => s.stats().sessions === 1, 5000, 'session');
    const after: string[] = [];
    s.close();
    for (const event of ['connected', 'started', 'transcript', 'translation', 'mark', 'error', 'disconnected'] as const) {
      s.on(event, () => after.push(event));
    }
    expect(() => s.close()).not.toThrow();
    await s.whenClosed();
    expect(s.closed).toBe(true);
    await waitFor(() => svc.sessions[0]!.closed, 5000, 'server saw the close');
    expect(s.process(makeFrame(RATE))).toBeNull();
    s.flush();
    expect(s.speechEnded(100)).toBe(false);
    svc.sendRaw('garbage nobody should hear');
    await new Promise((r) => setTimeout(r, 200));
    expect(after).toEqual([]);
    expect(svc.sessions).toHaveLength(1);
    expect(svc.liveSessions).toBe(0);

    // Closing before the connection is even up resolves too.
    const early = new OpenAiRealtimeStage(PAIR, { url: svc.url, sourceLanguage: 'en', targetLanguage: 'es' });
    early.close();
    await early.whenClosed();
    expect(early.stats().connects).toBe(0);
  });
});
