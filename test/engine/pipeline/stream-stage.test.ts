import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ConfigError } from '../../../common/src/errors.js';
import { StreamingStage, encodeServiceMessage, parseClientMessage, synthesizeSpeechSamples, type StreamingError, type StreamingStageOptions } from '../../../engine/src/pipeline/streaming/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { PAIR, drive, makeFrame, rms, scriptedServer, waitFor } from './helpers.js';

const RATE = 8000; // the leg's rate (slin); the session runs at 16 kHz, so both resamplers are exercised
let speech: Int16Array;

beforeAll(async () => {
  // Real speech, about 2 s, then 1 s of silence so the detector's hangover ends the utterance.
  const words = await synthesizeSpeechSamples('hello, this is a test of the translation loop', { voice: 'en', sampleRate: RATE });
  speech = new Int16Array(words.length + RATE);
  speech.set(words);
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stage(url: string, extra: Partial<StreamingStageOptions> = {}): StreamingStage {
  const s = new StreamingStage(PAIR, { url, sourceLanguage: 'en', targetLanguage: 'es', reconnectInitialDelayMs: 50, ...extra });
  cleanups.push(async () => {
    s.close();
    await s.whenClosed();
  });
  return s;
}

async function service(options: Parameters<typeof ReferenceService.start>[0] = {}): Promise<ReferenceService> {
  const svc = await ReferenceService.start(options);
  cleanups.push(() => svc.close());
  return svc;
}

describe('StreamingStage with the reference service', () => {
  it('streams speech tagged with the pair, gets the translated audio played back, and acknowledges the mark after it played', async () => {
    const svc = await service();
    const s = stage(svc.url);
    const transcripts: string[] = [];
    const translations: string[] = [];
    const marks: Array<{ name: string; queued: number; played: number }> = [];
    s.on('transcript', (m) => transcripts.push(m.text));
    s.on('translation', (m) => translations.push(`${m.language}:${m.text}`));
    s.on('mark', (name) => marks.push({ name, queued: s.stats().queuedSamples, played: s.stats().framesPlayed }));
    await waitFor(() => s.connected, 5000, 'connect');

    const log = await drive(s, speech, RATE, () => marks.length > 0, { maxMs: 20_000 });

    const record = svc.sessions[0]!;
    expect(record.start).toMatchObject({ pairId: 'pair_007', srcExt: '7000', dstExt: '7001', direction: 'A->B', sampleRate: 16000, encoding: 'pcm_s16le', sourceLanguage: 'en', targetLanguage: 'es' });
    expect(record.utterances).toHaveLength(1);
    const u = record.utterances[0]!;
    // espeak's sentence is about 2 s; the detector must have found most of it as one utterance.
    expect(u.endMs - u.startMs).toBeGreaterThan(1000);
    expect(u.endMs - u.startMs).toBeLessThan(speech.length / 8);
    const seconds = (Math.round((u.endMs - u.startMs) / 100) / 10).toFixed(1);
    expect(transcripts).toEqual([`utterance 1, ${seconds} s`]);
    expect(translations).toEqual([`es:utterance 1, ${seconds} s`]);

    // Nothing came back before the utterance ended; translated speech came afterwards.
    const loud = log.outputRms.filter((r) => r > 300).length;
    expect(loud).toBeGreaterThan(10);
    expect(log.nullOutputs).toBeGreaterThan(u.endMs / 20);
    // The mark fired only once every sample queued before it had been played out: nothing left in
    // the queue, and at least as many 20 ms frames played as the answer holds (more if a chunk of
    // it arrived after the queue had run dry, which pads a frame with silence).
    expect(marks).toHaveLength(1);
    expect(marks[0]!.name).toBe('utterance-1');
    expect(marks[0]!.queued).toBe(0);
    expect(marks[0]!.played).toBeGreaterThanOrEqual(Math.ceil(u.audioBytes / 2 / 320));
    expect(s.stats().samplesReceived).toBe(u.audioBytes / 2);
    await waitFor(() => record.marksAcked.length > 0, 5000, 'mark ack at the service');
    expect(record.marksAcked).toEqual(['utterance-1']);
    expect(s.stats()).toMatchObject({ droppedBackpressure: 0, badMessages: 0, queueDroppedSamples: 0 });
    expect(s.stats().bytesSent).toBe(record.bytesReceived);
  });

  it('duck mode mixes the original under the translation at the configured gain', async () => {
    const svc = await service();
    const s = stage(svc.url, { mode: 'duck', duckGain: 0.5 });
    await waitFor(() => s.connected, 5000, 'connect');
    const frame = makeFrame(RATE);
    frame.pcm.fill(1000);
    const out = s.process(frame);
    // Nothing translated yet: the listener hears the original at half level.
    expect(out).not.toBeNull();
    expect([...out!.pcm.subarray(0, out!.samples)].every((v) => v === 500)).toBe(true);
    frame.status = 'silence';
    expect(s.process(frame)).toBeNull();
  });

  it('flush() drops queued audio, acknowledges the pending mark and tells the service to clear', async () => {
    const svc = await service();
    const s = stage(svc.url);
    const marks: string[] = [];
    s.on('mark', (n) => marks.push(n));
    await waitFor(() => s.connected, 5000, 'connect');
    // Feed speech without draining playback, then wait for the answer to be queued.
    const frame = makeFrame(RATE);
    for (let off = 0; off + 160 <= speech.length; off += 160) {
      frame.pcm.set(speech.subarray(off, off + 160));
      s.process(frame);
      if (s.stats().queuedSamples > 0) break;
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => s.stats().marksReceived === 1, 15_000, 'audio and mark queued');
    const queued = s.stats().queuedSamples;
    expect(queued).toBeGreaterThan(1600);
    s.flush();
    expect(s.stats().queuedSamples).toBe(0);
    expect(s.stats().clearedSamples).toBe(queued);
    expect(marks).toEqual(['utterance-1']);
    frame.pcm.fill(0);
    expect(s.process(frame)).toBeNull();
    await waitFor(() => svc.sessions[0]!.clears === 1, 5000, 'clear at the service');
  });

  it('refuses a wrong token: unauthorized, no reconnect, token absent from what the stage reports', async () => {
    const svc = await service({ token: 'right-secret-token' });
    const s = stage(svc.url, { token: 'wrong-secret-token' });
    const errors: StreamingError[] = [];
    s.on('error', (e) => errors.push(e));
    await waitFor(() => errors.length > 0 && s.stats().failedConnects === 1, 5000, 'rejection');
    await new Promise((r) => setTimeout(r, 200));
    expect(errors.map((e) => e.code)).toEqual(['unauthorized']);
    expect(JSON.stringify(errors)).not.toContain('secret');
    expect(svc.rejectedCount).toBe(1);
    expect(svc.sessions).toHaveLength(0);
    expect(s.stats().failedConnects).toBe(1);

    const ok = stage(svc.url, { token: 'right-secret-token' });
    await waitFor(() => svc.sessions[0]?.pairId === 'pair_007', 5000, 'authorized session');
    expect(ok.connected).toBe(true);
  });

  it('rejects bad options with a ConfigError naming the key', () => {
    expect(() => new StreamingStage(PAIR, { url: 'http://x', sourceLanguage: 'en', targetLanguage: 'es' })).toThrow(ConfigError);
    try {
      new StreamingStage(PAIR, { url: 'ws://127.0.0.1:1/', sourceLanguage: 'en', targetLanguage: 'es', duckGain: 3 });
    } catch (err) {
      expect((err as ConfigError).key).toBe('duckGain');
    }
  });
});

describe('StreamingStage with misbehaving services', () => {
  it('a service that disconnects mid-utterance is reported, and the stage reconnects and starts again', async () => {
    const starts: string[] = [];
    let first = true;
    const srv = await scriptedServer((ws: WebSocket) => {
      let frames = 0;
      ws.on('message', (data, isBinary) => {
        if (!isBinary) {
          const m = parseClientMessage(data as Buffer);
          if (m.event === 'start') starts.push(m.pairId);
          return;
        }
        if (first && ++frames === 20) {
          first = false;
          ws.terminate();
        }
      });
    });
    cleanups.push(srv.close);
    const s = stage(srv.url);
    const disconnects: boolean[] = [];
    s.on('disconnected', (d) => disconnects.push(d.willReconnect));
    await waitFor(() => s.connected, 5000, 'connect');
    await drive(s, speech, RATE, () => starts.length === 2 && s.connected && s.stats().framesSent > 30, { maxMs: 10_000 });
    expect(disconnects).toEqual([true]);
    expect(starts).toEqual(['pair_007', 'pair_007']);
    expect(s.stats()).toMatchObject({ connects: 2, disconnects: 1 });
    // Frames ticked while the connection was down were dropped and counted, not queued.
    expect(s.stats().droppedNotConnected).toBeGreaterThan(0);
  });

  it('a service that stalls (never reads) costs dropped frames, counted as backpressure, never a blocked or throwing process()', async () => {
    const srv = await scriptedServer((ws: WebSocket) => {
      ws.once('message', () => ws.pause());
    });
    cleanups.push(srv.close);
    const s = stage(srv.url, { maxBufferedBytes: 32 * 1024, sampleRate: 16000 });
    await waitFor(() => s.connected, 5000, 'connect');
    const frame = makeFrame(16000);
    for (let i = 0; i < frame.samples; i++) frame.pcm[i] = (i * 97) % 20000;
    let calls = 0;
    // Loopback socket buffers absorb a few MB before ws starts buffering; bounded at 200 000 frames (128 MB).
    while (s.stats().droppedBackpressure < 50 && calls < 200_000) {
      for (let k = 0; k < 500; k++, calls++) expect(() => s.process(frame)).not.toThrow();
      await new Promise((r) => setImmediate(r));
    }
    const stats = s.stats();
    expect(stats.droppedBackpressure).toBeGreaterThanOrEqual(50);
    expect(stats.framesSent + stats.droppedBackpressure + stats.droppedNotConnected).toBe(calls);
  });

  it('a service that answers garbage is reported per message and the session carries on', async () => {
    const srv = await scriptedServer((ws: WebSocket) => {
      ws.once('message', () => {
        ws.send('this is not json');
        ws.send('{"event":"bogus"}');
        ws.send('{"event":"transcript","text":"missing fields"}');
        ws.send(Buffer.from([1, 2, 3]), { binary: true });
        ws.send(encodeServiceMessage({ event: 'error', code: 'overloaded', message: 'try later' }));
        ws.send(Buffer.alloc(640, 0x10), { binary: true });
        ws.send(encodeServiceMessage({ event: 'mark', name: 'after-garbage' }));
        ws.send(encodeServiceMessage({ event: 'transcript', utteranceId: 'u1', text: 'still here', final: true, startMs: 0, endMs: 10, language: 'en' }));
      });
    });
    cleanups.push(srv.close);
    const s = stage(srv.url);
    const errors: StreamingError[] = [];
    const transcripts: string[] = [];
    const marks: string[] = [];
    s.on('error', (e) => errors.push(e));
    s.on('transcript', (m) => transcripts.push(m.text));
    s.on('mark', (m) => marks.push(m));
    // A listener that throws must not break the stage either.
    s.on('transcript', () => {
      throw new Error('bad listener');
    });
    await waitFor(() => transcripts.length === 1, 5000, 'transcript after garbage');
    expect(errors.map((e) => e.protocolCode ?? `${e.code}:${e.serviceCode}`)).toEqual(['not_json', 'unknown_event', 'invalid_message', 'odd_length_audio', 'service:overloaded']);
    expect(s.stats()).toMatchObject({ badMessages: 4, serviceErrors: 1, samplesReceived: 320, connected: true });
    const log = await drive(s, new Int16Array(0), RATE, () => marks.length === 1, { maxMs: 5000 });
    // 320 samples at 16 kHz are one 20 ms frame at 8 kHz: 0x1010 = 4112 before the resampler's ramp.
    expect(Math.max(...log.outputRms)).toBeGreaterThan(1000);
    expect(marks).toEqual(['after-garbage']);
  });

  it('a service that asks to clear drops the queued audio and the mark is acknowledged', async () => {
    const acks: string[] = [];
    const srv = await scriptedServer((ws: WebSocket) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = parseClientMessage(data as Buffer);
        if (m.event === 'start') {
          ws.send(Buffer.alloc(32000 * 2), { binary: true }); // 2 s at 16 kHz
          ws.send(encodeServiceMessage({ event: 'mark', name: 'm1' }));
          setTimeout(() => ws.send(encodeServiceMessage({ event: 'clear' })), 100);
        }
        if (m.event === 'mark') acks.push(m.name);
      });
    });
    cleanups.push(srv.close);
    const s = stage(srv.url);
    await waitFor(() => s.stats().clearsFromService === 1, 5000, 'clear from service');
    expect(s.stats().queuedSamples).toBe(0);
    expect(s.stats().clearedSamples).toBe(32000);
    expect(s.process(null)).toBeNull();
    await waitFor(() => acks.length === 1, 5000, 'mark ack');
    expect(acks).toEqual(['m1']);
  });

  it('a service that accepts TCP but never answers the upgrade hits the connect timeout, counted and reported', async () => {
    const { createServer } = await import('node:net');
    const held = new Set<import('node:net').Socket>();
    const tcp = createServer((sock) => {
      held.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const sock of held) sock.destroy();
          tcp.close(() => r());
        }),
    );
    const port = (tcp.address() as import('node:net').AddressInfo).port;
    const s = stage(`ws://127.0.0.1:${port}/`, { connectTimeoutMs: 200, reconnectMaxAttempts: 1, reconnectInitialDelayMs: 10 });
    const errors: StreamingError[] = [];
    s.on('error', (e) => errors.push(e));
    await waitFor(() => errors.some((e) => e.code === 'gave_up'), 5000, 'giving up after timeouts');
    expect(errors.filter((e) => e.code === 'connect_failed').map((e) => /timed out/i.test(e.message))).toEqual([true, true]);
    expect(s.stats()).toMatchObject({ failedConnects: 2, connects: 0 });
    expect(held.size).toBe(2);
  });

  it('a service that is not there: connect failures are counted and retried, never thrown', async () => {
    const srv = await scriptedServer(() => undefined);
    const url = srv.url;
    await srv.close(); // the port is now closed: connection refused
    const s = stage(url, { reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 20, reconnectMaxAttempts: 3 });
    const errors: string[] = [];
    s.on('error', (e) => errors.push(e.code));
    await waitFor(() => errors.includes('gave_up'), 5000, 'giving up');
    expect(s.stats().failedConnects).toBe(4);
    expect(errors.filter((c) => c === 'connect_failed')).toHaveLength(4);
    expect(s.process(makeFrame(RATE))).toBeNull();
    expect(s.stats().droppedNotConnected).toBe(1);
  });
});

describe('lifecycle', () => {
  it('close() sends stop, and stage and service leave no sockets or timers behind', async () => {
    const count = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const baseSockets = count('TCPSocketWrap') + count('TCPServerWrap');
    const baseTimers = count('Timeout');
    const svc = await ReferenceService.start();
    const s = new StreamingStage(PAIR, { url: svc.url, sourceLanguage: 'en', targetLanguage: 'es', pingIntervalMs: 1000 });
    await waitFor(() => svc.sessions.length === 1 && s.connected, 5000, 'session');
    s.close();
    s.close(); // idempotent
    expect(s.closed).toBe(true);
    expect(s.process(makeFrame(RATE))).toBeNull();
    await s.whenClosed();
    await waitFor(() => svc.sessions[0]!.closed, 5000, 'session closed at the service');
    expect(svc.sessions[0]!.stopped).toBe(true);
    await svc.close();
    await svc.close();
    expect(svc.closed).toBe(true);
    await waitFor(() => count('TCPSocketWrap') + count('TCPServerWrap') <= baseSockets, 5000, 'sockets closed');
    expect(count('Timeout')).toBeLessThanOrEqual(baseTimers);
    expect(rms(new Int16Array(4), 4)).toBe(0);
  });
});

describe('logs', () => {
  it('never contain the bearer token, right or wrong, while saying that a connection was refused', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const script = fileURLToPath(new URL('./fixtures/auth-log.ts', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, TANDEM_LOG_LEVEL: 'debug' };
    delete env['VITEST'];
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], { env, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(0);
    const logs = result.stdout + result.stderr;
    expect(logs).toContain('upgrade refused');
    expect(logs).toContain('streaming connected');
    expect(logs).not.toContain('RIGHT-TOKEN');
    expect(logs).not.toContain('WRONG-TOKEN');
    // The header's form ("Bearer <token>"), not the words in the refusal message.
    expect(logs).not.toMatch(/Bearer /);
  });
});

describe('process() robustness', () => {
  it('a frame it cannot handle costs that tick only, counted, never thrown', async () => {
    const svc = await service();
    const s = stage(svc.url);
    await waitFor(() => s.connected, 5000, 'connect');
    const odd = { ...makeFrame(RATE), sampleRate: 44100 };
    expect(s.process(odd)).toBeNull();
    expect(s.process(odd)).toBeNull();
    expect(s.stats().processErrors).toBe(2);
    expect(s.process(makeFrame(RATE))).toBeNull();
    expect(s.stats().framesSent).toBe(1);
    // The rejected rate did not become the playback rate of idle ticks.
    expect(s.process(null)).toBeNull();
    expect(s.stats().processErrors).toBe(2);
  });
});
