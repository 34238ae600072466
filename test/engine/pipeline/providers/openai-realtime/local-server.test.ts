import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { OpenAiRealtimeLocalServer, type OpenAiRealtimeLocalServerOptions } from '../../../../../tools/doubles/openai-realtime-server.js';
import { waitFor } from '../../helpers.js';

type Event = { type: string } & Record<string, unknown>;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: OpenAiRealtimeLocalServerOptions = {}): Promise<OpenAiRealtimeLocalServer> {
  const svc = await OpenAiRealtimeLocalServer.start(options);
  cleanups.push(() => svc.close());
  return svc;
}

/** A bare client that records every event, to check the double from the wire. */
async function client(url: string, key?: string): Promise<{ ws: WebSocket; events: Event[]; send: (e: object) => void; status: number }> {
  const ws = new WebSocket(url, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  cleanups.push(() => ws.terminate());
  const events: Event[] = [];
  ws.on('message', (data: Buffer) => events.push(JSON.parse(data.toString('utf8')) as Event));
  const status = await new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', () => resolve(-1));
  });
  return { ws, events, send: (e) => ws.send(JSON.stringify(e)), status };
}

function pcmBase64(ms: number, amplitude: number, hz = 300): string {
  const n = (ms * 24000) / 1000;
  const buf = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 24000)), 2 * i);
  return buf.toString('base64');
}

const types = (events: Event[]): string[] => events.map((e) => e.type);
const PCM = { type: 'audio/pcm', rate: 24000 };

describe('OpenAiRealtimeLocalServer (a protocol double, not a model)', () => {
  it('requires the bearer key when configured, and records the model of the URL', async () => {
    const svc = await server({ apiKey: 'sk-k' });
    expect((await client(svc.url)).status).toBe(401);
    expect((await client(svc.url, 'sk-wrong')).status).toBe(401);
    const ok = await client(`${svc.url}?model=gpt-realtime`, 'sk-k');
    expect(ok.status).toBe(101);
    await waitFor(() => ok.events.length === 1, 5000, 'session.created');
    expect(ok.events[0]).toMatchObject({ type: 'session.created', session: { id: svc.sessions[0]!.id, type: 'realtime', model: 'gpt-realtime' } });
    expect(svc.rejectedCount).toBe(2);
  });

  it('validates what the client sends and answers refusals with error events', async () => {
    const svc = await server();
    const c = await client(svc.url);
    c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(20, 0) });
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } });
    c.send({ type: 'input_audio_buffer.append', audio: 'not base64' });
    c.send({ type: 'input_audio_buffer.append', audio: 'AAAA' });
    c.send({ type: 'conversation.item.create', item: {} });
    c.send({ type: 'response.cancel' });
    c.ws.send('{broken');
    await waitFor(() => c.events.filter((e) => e.type === 'error').length === 6, 5000, 'refusals');
    const codes = c.events.filter((e) => e.type === 'error').map((e) => (e.error as { code: string }).code);
    expect(codes).toEqual(['invalid_event', 'invalid_audio', 'invalid_audio', 'invalid_event', 'response_cancel_not_active', 'invalid_json']);
    const rec = svc.sessions[0]!;
    expect(rec.invalid[0]).toBe('order: audio before session.update');
    expect(rec.invalid).toHaveLength(7);
    expect(rec.sessionUpdates).toHaveLength(0);
    expect(rec.samplesReceived).toBe(480);
  });

  it('client turn detection: commits need 100 ms, a response streams audio deltas then done, one response at a time', async () => {
    const svc = await server({ answer: 'tone', toneMs: 600, chunkMs: 100, chunkIntervalMs: 30 });
    const c = await client(svc.url);
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: PCM, transcription: { model: 'm', language: 'en' }, turn_detection: null }, output: { format: PCM } } } });
    c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(60, 1000) });
    c.send({ type: 'input_audio_buffer.commit', event_id: 'c1' });
    c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(240, 1000) });
    c.send({ type: 'input_audio_buffer.commit' });
    c.send({ type: 'response.create', event_id: 'r1' });
    c.send({ type: 'response.create', event_id: 'r2' });
    await waitFor(() => c.events.some((e) => e.type === 'response.done'), 5000, 'response.done');
    const rec = svc.sessions[0]!;
    expect(rec.turnDetection).toBe('none');
    const errors = c.events.filter((e) => e.type === 'error').map((e) => e.error as { code: string; event_id: string });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'input_audio_buffer_commit_empty', event_id: 'c1' }),
      expect.objectContaining({ code: 'conversation_already_has_active_response', event_id: 'r2' }),
    ]);
    const flow = types(c.events).filter((t) => t !== 'error' && t !== 'response.output_audio_transcript.delta');
    expect(flow).toEqual([
      'session.created',
      'session.updated',
      'input_audio_buffer.committed',
      'conversation.item.input_audio_transcription.completed',
      'response.created',
      ...Array<string>(6).fill('response.output_audio.delta'),
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.done',
    ]);
    const u = rec.utterances[0]!;
    expect(u).toMatchObject({ n: 1, text: 'utterance 1, 0.3 s', status: 'completed', samplesSent: 14_400 });
    const audio = c.events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta as string, 'base64').length);
    expect(audio.reduce((a, b) => a + b, 0)).toBe(2 * 14_400);
    expect(c.events.find((e) => e.type === 'response.output_audio_transcript.done')).toMatchObject({ transcript: u.text, response_id: u.responseId });
    expect(c.events.find((e) => e.type === 'conversation.item.input_audio_transcription.completed')).toMatchObject({ item_id: u.itemId, transcript: u.text });
  });

  it('server VAD: a loud burst followed by silence gives speech_started/stopped, a commit and an automatic response', async () => {
    const svc = await server({ answer: 'tone', toneMs: 200, eventNames: 'beta' });
    const c = await client(svc.url);
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: PCM, turn_detection: { type: 'server_vad', silence_duration_ms: 200, prefix_padding_ms: 0 } } } } });
    for (let i = 0; i < 25; i++) c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(20, 0) }); // 0.5 s quiet
    for (let i = 0; i < 40; i++) c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(20, 8000) }); // 0.8 s loud
    for (let i = 0; i < 20; i++) c.send({ type: 'input_audio_buffer.append', audio: pcmBase64(20, 0) }); // 0.4 s quiet
    await waitFor(() => c.events.some((e) => e.type === 'response.done'), 5000, 'response.done');
    const started = c.events.find((e) => e.type === 'input_audio_buffer.speech_started')!;
    const stopped = c.events.find((e) => e.type === 'input_audio_buffer.speech_stopped')!;
    expect(started.audio_start_ms).toBeGreaterThanOrEqual(480);
    expect(started.audio_start_ms).toBeLessThanOrEqual(520);
    expect(stopped.audio_end_ms).toBe(1300);
    expect(stopped.item_id).toBe(started.item_id);
    expect(types(c.events)).toContain('response.audio.delta'); // beta names on request
    expect(types(c.events)).not.toContain('conversation.item.input_audio_transcription.completed'); // no transcription configured
    expect(svc.sessions[0]!.utterances).toMatchObject([{ n: 1, startMs: 500, endMs: 1300, text: 'utterance 1, 0.8 s', status: 'completed' }]);
  });
});
