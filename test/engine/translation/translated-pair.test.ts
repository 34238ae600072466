import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { MediaEngine } from '../../../engine/src/engine.js';
import type { Direction } from '../../../engine/src/pipeline/stage.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import type { PairTranslationInput } from '../../../engine/src/pipeline/translation/config.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import type { PairStats } from '../../../engine/src/worker/protocol.js';
import { RtpPeer, paced, sleep, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from './speech-fixture.js';
import { freePortRange } from '../../support/ports.js';

/**
 * The translation loop end to end on one engine: real espeak-ng speech sent as
 * RTP on leg A, Silero VAD in the worker, the reference service over a real
 * WebSocket, its spoken answer injected into leg B.
 */
const SPEECH_RMS = 300;

interface Recorded {
  transcripts: TranscriptEvent[];
  events: Array<{ pairId: string; direction: Direction; event: DirectionEvent }>;
}

function record(engine: MediaEngine): Recorded {
  const out: Recorded = { transcripts: [], events: [] };
  engine.on('transcript', (event) => out.transcripts.push(event));
  engine.on('translation', (pairId, direction, event) => out.events.push({ pairId, direction, event }));
  return out;
}

function translation(url: string, extra: Partial<PairTranslationInput> = {}): PairTranslationInput {
  return { provider: { kind: 'tandem', url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' }, ...extra };
}

async function openPeers(engine: MediaEngine, pairId: string, extra: Partial<PairTranslationInput>, url: string, record = false) {
  const peerA = await RtpPeer.open();
  const peerB = await RtpPeer.open();
  const legs = await engine.openPair({
    pairId,
    extA: pairId === 'pair_t1' ? '7000' : '7002',
    extB: pairId === 'pair_t1' ? '7001' : '7003',
    remoteA: peerA.endpoint,
    remoteB: peerB.endpoint,
    translation: translation(url, extra),
    ...(record ? { record: true } : {}),
  });
  return { peerA, peerB, legs };
}

/** Closes the pair in the engine, then the peers standing in for Asterisk. */
async function closePeers(engine: MediaEngine, pairId: string, ...peers: RtpPeer[]): Promise<void> {
  await engine.closePair(pairId);
  for (const peer of peers) peer.close();
}

/** The pair's stats once `ready` holds (polled: the engine's stats are a request to its worker). */
async function pairStatsWhen(engine: MediaEngine, pairId: string, ready: (p: PairStats) => boolean): Promise<PairStats> {
  for (;;) {
    const found = (await engine.stats()).shards.flatMap((s) => s.pairStats).find((p) => p.pairId === pairId);
    if (found !== undefined && ready(found)) return found;
    await sleep(20);
  }
}

const speaking = (peer: RtpPeer) => peer.received.filter((p) => ulawRms(p.payload) > SPEECH_RMS);

describe('translated pair (engine + Silero VAD + reference service)', () => {
  let engine: MediaEngine;
  let service: ReferenceService;
  let script: SpeechScript;
  let recordDir = '';

  beforeAll(async () => {
    script = await speechScript(['Good morning, how are you today?', 'I would like to book a table.', 'Thank you very much.']);
    service = await ReferenceService.start();
    recordDir = await mkdtemp(join(tmpdir(), 'tandem-rec-'));
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200), recording: { dir: recordDir } });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await service?.close();
    if (recordDir) await rm(recordDir, { recursive: true, force: true });
  });

  it('finds each utterance, answers it into leg B only, and reports transcripts, marks and latency', async () => {
    const seen = record(engine);
    const { peerA, peerB, legs } = await openPeers(engine, 'pair_t1', {}, service.url);
    try {
      await paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!));
      await waitFor(() => seen.transcripts.filter((t) => t.final && t.direction === 'A->B').length === 3, 15_000);
      await waitFor(() => seen.events.filter((e) => e.event.type === 'mark').length === 3, 15_000);

      // The service saw one session per direction, tagged with the pair and the speaker.
      const aToB = service.sessions.find((s) => s.pairId === 'pair_t1' && s.direction === 'A->B');
      const bToA = service.sessions.find((s) => s.pairId === 'pair_t1' && s.direction === 'B->A');
      expect(aToB?.srcExt).toBe('7000');
      expect(aToB?.start?.dstExt).toBe('7001');
      expect(aToB?.start?.sourceLanguage).toBe('en');
      expect(aToB?.start?.targetLanguage).toBe('es');
      expect(bToA?.srcExt).toBe('7001');
      // Utterances are the VAD's: it sent start/end hints and they bounded what the service answered.
      expect(aToB?.speechHints).toBe(6);
      expect(aToB?.utterances).toHaveLength(3);
      // Each utterance is the sentence spoken then: it overlaps that sentence and no other. How close its
      // bounds come is the VAD's accuracy, measured on exact audio in pipeline/vad/silero.test.ts; here
      // the audio crosses real sockets in real time, and on a busy box a late sender or a late tick shifts
      // the stream the VAD hears by a few hundred ms.
      const overlaps = (u: { startMs: number; endMs: number }, span: { startMs: number; endMs: number }): boolean => u.startMs < span.endMs && u.endMs > span.startMs;
      aToB!.utterances.forEach((u, i) => {
        expect(script.spans.map((span) => overlaps(u, span))).toEqual(script.spans.map((_, j) => j === i));
      });

      const speech = seen.events.filter((e) => e.pairId === 'pair_t1' && e.direction === 'A->B' && e.event.type === 'speech');
      expect(speech.map((e) => (e.event.type === 'speech' ? e.event.state : ''))).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);

      const finals = seen.transcripts.filter((t) => t.final && t.direction === 'A->B');
      expect(finals.map((t) => t.utteranceId)).toEqual(['u1', 'u2', 'u3']);
      for (const t of finals) {
        expect(t).toMatchObject({ pairId: 'pair_t1', srcExt: '7000', dstExt: '7001', language: 'en', targetLanguage: 'es' });
        expect(t.text).toMatch(/^utterance \d, \d+\.\d s$/);
        expect(t.translatedText).toBe(t.text);
      }

      // The spoken answers reached leg B; leg A (B was silent) heard no speech.
      await waitFor(() => speaking(peerB).length >= 3 * 25, 10_000);
      expect(speaking(peerA)).toHaveLength(0);
      // Between translations the listener's leg carries a continuous stream of silence, as a live leg should.
      expect(peerA.received.length).toBeGreaterThan(script.frames.length * 0.8);
      expect(peerA.received.every((p) => ulawRms(p.payload) === 0)).toBe(true);
      const firstAnswer = speaking(peerB)[0]!.atMs;
      const marks = seen.events.filter((e) => e.event.type === 'mark').map((e) => (e.event.type === 'mark' ? e.event.name : ''));
      expect(marks).toEqual(['utterance-1', 'utterance-2', 'utterance-3']);
      expect(aToB?.marksAcked).toEqual(['utterance-1', 'utterance-2', 'utterance-3']);
      expect(firstAnswer).toBeGreaterThan(0);

      const latency = seen.events.flatMap((e) => (e.event.type === 'latency' ? [e.event] : []));
      expect(latency).toHaveLength(3);
      for (const l of latency) {
        expect(l.totalMs).toBeCloseTo(l.endpointingMs + l.providerMs + l.tandemMs, 6);
        expect(l.tandemMs).toBeCloseTo(l.ingressMs + l.vadMs + l.egressMs, 6);
        expect(l.egressMs).toBeGreaterThanOrEqual(0);
        expect(l.vadMs).toBeGreaterThanOrEqual(0);
        expect(l.providerMs).toBeGreaterThan(0);
        // The VAD waits for silence before it ends an utterance. How long (300 ms less padding), and how
        // soon speech reaches it (ingress: on arrival, not after the jitter buffer's wait) are wall-clock
        // figures: the translation load test reports their percentiles (tandem loadtest --translate);
        // media-direction.test.ts proves on an exact clock that heard frames are handed over on arrival.
        expect(l.endpointingMs).toBeGreaterThan(0);
        expect(l.ingressMs).toBeGreaterThanOrEqual(0);
      }

      const stats = await engine.stats();
      const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_t1');
      expect(pair?.translation).toMatchObject({ languages: { A: 'en', B: 'es' }, provider: 'tandem', directions: ['A->B', 'B->A'] });
    } finally {
      await closePeers(engine, 'pair_t1', peerA, peerB);
    }
    await waitFor(() => service.liveSessions === 0);
  }, 60_000);

  it("between 'nothing': the listener's leg is silent between answers, and each answer opens a talkspurt at once", async () => {
    const seen = record(engine);
    const { peerA, peerB, legs } = await openPeers(engine, 'pair_t1', { between: 'nothing' }, service.url);
    try {
      const two = script.frames.slice(0, Math.ceil((script.spans[1]!.endMs + 600) / 20));
      await paced(two.length, (i) => peerA.sendRtp(legs.legA, two[i]!));
      await waitFor(() => seen.events.filter((e) => e.event.type === 'mark').length === 2, 30_000);
      // The last frames may still be on their way to B (a busy box runs the worker and this process late):
      // read the counters once what the leg sent has all arrived, or give up after 30 s and let the checks say what differs.
      const deadline = Date.now() + 30_000;
      let pair: PairStats | undefined;
      let played: number | undefined;
      for (;;) {
        const stats = await engine.stats();
        pair = stats.shards.flatMap((sh) => sh.pairStats).find((p) => p.pairId === 'pair_t1');
        played = (pair?.translation?.stages['A->B'] as { speech?: { framesPlayed?: number } } | undefined)?.speech?.framesPlayed;
        if ((played !== undefined && pair?.legB.txPackets === played && peerB.received.length === played) || Date.now() > deadline) break;
        await sleep(50);
      }
      // Nothing but the answers reached B: the leg sent exactly the frames the stage played, and each answer
      // (two bursts, apart by more than 200 ms) began with a marker.
      expect(played).toBeGreaterThan(2 * 25);
      expect(pair?.legB.txPackets).toBe(played);
      expect(peerB.received).toHaveLength(played!);
      expect(peerB.received[0]!.marker).toBe(true);
      // A talkspurt starts where RTP time jumps past the packets sent (the leg's silent ticks), in media time:
      // the arrival times this process sees stretch whenever a busy box runs it late.
      const gapAfter = (i: number): boolean => i > 0 && ((peerB.received[i]!.timestamp - peerB.received[i - 1]!.timestamp) >>> 0) > 10 * 160;
      const starts = peerB.received.filter((_, i) => gapAfter(i));
      expect(starts.length).toBeGreaterThanOrEqual(1);
      // Every talkspurt, and only a talkspurt, opens with a marker.
      expect(peerB.received.filter((p) => p.marker)).toEqual([peerB.received[0], ...starts]);
      // A said everything, B nothing: A's leg carried nothing at all.
      expect(peerA.received).toHaveLength(0);
      // Each answer is reported. That it leaves the moment it arrives (no wait for the old 20 ms phase) is
      // proven on an exact clock in media-direction.test.ts; the load test reports egress percentiles.
      const latency = seen.events.flatMap((e) => (e.pairId === 'pair_t1' && e.event.type === 'latency' ? [e.event] : []));
      expect(latency).toHaveLength(2);
      for (const l of latency) expect(l.egressMs).toBeGreaterThanOrEqual(0);
    } finally {
      await closePeers(engine, 'pair_t1', peerA, peerB);
    }
    await waitFor(() => service.liveSessions === 0);
  }, 60_000);

  it('records both legs, original and translated, into one 4-channel WAV', async () => {
    const recordings: Array<{ pairId: string; path: string; durationMs: number }> = [];
    engine.on('recording', (pairId, summary) => recordings.push({ pairId, path: summary.path, durationMs: summary.durationMs }));
    const { peerA, peerB, legs } = await openPeers(engine, 'pair_t1', {}, service.url, true);
    expect(legs.recordingPath).toMatch(/pair_t1-.*\.wav$/);
    try {
      const one = script.frames.slice(0, Math.ceil((script.spans[0]!.endMs + 1000) / 20));
      await paced(one.length, (i) => peerA.sendRtp(legs.legA, one[i]!));
      await waitFor(() => speaking(peerB).length >= 40, 15_000);
    } finally {
      await closePeers(engine, 'pair_t1', peerA, peerB);
    }
    await waitFor(() => recordings.length === 1);
    expect(recordings[0]).toMatchObject({ pairId: 'pair_t1', path: legs.recordingPath });
    const wav = await readFile(legs.recordingPath!);
    const data = wav.indexOf(Buffer.from('data'));
    const channels = 4;
    expect(wav.readUInt16LE(22)).toBe(channels);
    expect(wav.readUInt32LE(24)).toBe(8000);
    const frames = (wav.length - data - 8) / (2 * channels);
    expect((frames / 8000) * 1000).toBeCloseTo(recordings[0]!.durationMs, -2);
    const energy = [0, 0, 0, 0];
    for (let f = 0; f < frames; f++) {
      for (let c = 0; c < channels; c++) energy[c]! += Math.abs(wav.readInt16LE(data + 8 + (f * channels + c) * 2));
    }
    const mean = energy.map((e) => e / frames);
    // 1: what A said; 2: B said nothing; 3: what B heard (the answer); 4: A heard nothing.
    expect(mean[0]).toBeGreaterThan(100);
    expect(mean[1]).toBeLessThan(5);
    expect(mean[2]).toBeGreaterThan(100);
    expect(mean[3]).toBeLessThan(5);
  }, 60_000);

  it('clear drops the answer being played and acknowledges its mark', async () => {
    const seen = record(engine);
    const { peerA, peerB, legs } = await openPeers(engine, 'pair_t1', {}, service.url);
    try {
      const one = script.frames.slice(0, Math.ceil((script.spans[0]!.endMs + 1000) / 20));
      await paced(one.length, (i) => peerA.sendRtp(legs.legA, one[i]!));
      await waitFor(() => speaking(peerB).length >= 5, 15_000);
      const cleared = await engine.clearPlayback('pair_t1', 'A->B');
      expect(cleared).toBe(1);
      const atClear = speaking(peerB).length;
      await sleep(600);
      // At most a tick or two was already on its way.
      expect(speaking(peerB).length - atClear).toBeLessThanOrEqual(3);
      const session = service.sessions.filter((s) => s.pairId === 'pair_t1' && s.direction === 'A->B').at(-1)!;
      await waitFor(() => session.clears === 1 && session.marksAcked.includes('utterance-1'));
      // Dropped audio will never play: its mark is reported at once.
      expect(seen.events.filter((e) => e.event.type === 'mark').map((e) => (e.event.type === 'mark' ? e.event.name : ''))).toEqual(['utterance-1']);
      // The answer was ~1.5 s of speech; clearing it cut it short.
      expect(speaking(peerB).length).toBeLessThan(40);
    } finally {
      await closePeers(engine, 'pair_t1', peerA, peerB);
    }
  }, 60_000);

  it('changes languages while the pair runs', async () => {
    const { peerA, peerB, legs } = await openPeers(engine, 'pair_t1', {}, service.url);
    try {
      await engine.setTranslation('pair_t1', translation(service.url, { languages: { A: 'en', B: 'fr' } }));
      await waitFor(() => service.sessions.some((s) => s.pairId === 'pair_t1' && s.start?.targetLanguage === 'fr' && !s.closed));
      const translated = await pairStatsWhen(engine, 'pair_t1', (p) => p.stageSwaps?.pending === 0);
      expect(translated?.translation?.languages).toEqual({ A: 'en', B: 'fr' });
      // Both legs feed translation: their jitter buffers favour latency.
      expect([translated?.legA.latencyFirst, translated?.legB.latencyFirst]).toEqual([true, true]);
      // ...and hand each frame to recognition on arrival.
      expect([translated?.legA.earlyReading, translated?.legB.earlyReading]).toEqual([true, true]);
      // Each direction takes new settings at its next pause: nobody speaks here, so at its next tick.
      await engine.setTranslation('pair_t1', translation(service.url, { directions: ['B->A'] }));
      const oneWay = await pairStatsWhen(engine, 'pair_t1', (p) => p.stageSwaps?.pending === 0 && p.stageSwaps.atPause === 4);
      expect([oneWay.legA.latencyFirst, oneWay.legB.latencyFirst]).toEqual([false, true]);
      expect([oneWay.legA.earlyReading, oneWay.legB.earlyReading]).toEqual([false, true]);
      await engine.setTranslation('pair_t1', null);
      const mirrored = await pairStatsWhen(engine, 'pair_t1', (p) => p.stageSwaps?.pending === 0 && p.stageSwaps.atPause === 6);
      expect(mirrored.stageSwaps).toEqual({ atPause: 6, forced: 0, failed: 0, pending: 0 });
      expect([mirrored.legA.latencyFirst, mirrored.legB.latencyFirst]).toEqual([false, false]);
      expect([mirrored.legA.earlyReading, mirrored.legB.earlyReading]).toEqual([false, false]);
      // Back to the transparent duplex: what A sends is what B hears.
      const tone = script.frames.slice(Math.round(script.spans[0]!.startMs / 20), Math.round(script.spans[0]!.startMs / 20) + 50);
      await paced(tone.length, (i) => peerA.sendRtp(legs.legA, tone[i]!));
      await waitFor(() => speaking(peerB).length >= 30);
      await expect(engine.setTranslation('pair_t1', { languages: { A: 'en' } } as unknown as PairTranslationInput)).rejects.toThrow(/translation|provider|languages/);
    } finally {
      await closePeers(engine, 'pair_t1', peerA, peerB);
    }
  }, 60_000);

  it('a provider that answers garbage, stalls or drops affects only its own pair and is reported', async () => {
    const faulty = await FaultyService.start();
    const seen = record(engine);
    const good = await openPeers(engine, 'pair_t1', {}, service.url);
    const bad = await openPeers(engine, 'pair_t2', {}, faulty.url);
    try {
      await paced(script.frames.length, async (i) => {
        await good.peerA.sendRtp(good.legs.legA, script.frames[i]!);
        await bad.peerA.sendRtp(bad.legs.legA, script.frames[i]!);
      });
      await waitFor(() => seen.transcripts.filter((t) => t.final && t.pairId === 'pair_t1' && t.direction === 'A->B').length === 3, 15_000);
      await waitFor(() => speaking(good.peerB).length >= 3 * 25, 10_000);
      const badErrors = seen.events.filter((e) => e.pairId === 'pair_t2' && e.event.type === 'error');
      const goodErrors = seen.events.filter((e) => e.pairId === 'pair_t1' && e.event.type === 'error');
      expect(badErrors.length).toBeGreaterThan(0);
      expect(goodErrors).toHaveLength(0);
      expect(seen.events.some((e) => e.pairId === 'pair_t2' && e.event.type === 'connection' && e.event.state === 'disconnected')).toBe(true);
      expect(seen.transcripts.filter((t) => t.pairId === 'pair_t2')).toHaveLength(0);
      expect(speaking(bad.peerB)).toHaveLength(0);
      // The bad pair's media path still runs: its VAD still heard A.
      expect(seen.events.filter((e) => e.pairId === 'pair_t2' && e.event.type === 'speech' && e.direction === 'A->B').length).toBe(6);
    } finally {
      await engine.closePair('pair_t1');
      await engine.closePair('pair_t2');
      for (const p of [good.peerA, good.peerB, bad.peerA, bad.peerB]) p.close();
      await faulty.close();
    }
  }, 60_000);
});

/** A service that misbehaves in turn on each connection: garbage, then a stall, then a dropped socket. */
class FaultyService {
  readonly #wss: WebSocketServer;
  #connections = 0;
  private constructor(wss: WebSocketServer) {
    this.#wss = wss;
    wss.on('connection', (ws: WebSocket) => this.#serve(ws, this.#connections++));
  }

  static async start(): Promise<FaultyService> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FaultyService(wss);
  }

  get url(): string {
    const address = this.#wss.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected address');
    return `ws://127.0.0.1:${address.port}/`;
  }

  #serve(ws: WebSocket, n: number): void {
    ws.on('error', () => undefined);
    const mode = n % 3;
    if (mode === 0) {
      const timer = setInterval(() => ws.send('{not json'), 200);
      ws.once('close', () => clearInterval(timer));
      setTimeout(() => ws.terminate(), 1500);
    } else if (mode === 1) {
      // Stall: never answer; the client's keepalive or our drop ends it.
      setTimeout(() => ws.terminate(), 2000);
    } else {
      ws.send(Buffer.alloc(3)); // odd-length audio: a protocol error
      setTimeout(() => ws.terminate(), 300);
    }
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
