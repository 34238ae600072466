import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ReferenceService, referenceAnswerText } from '../../../tools/reference-service/reference-service.js';
import { encodeClientMessage, parseServiceMessage, type ServiceMessage } from '../../../engine/src/pipeline/streaming/protocol.js';
import { waitFor } from './helpers.js';

/**
 * The reference service under repetition: sessions whose utterances have the
 * same number and (rounded) duration get the same answer, spoken once.
 */
interface Client {
  ws: WebSocket;
  messages: ServiceMessage[];
  audioBytes: number;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connect(url: string, pairId: string): Promise<Client> {
  const ws = new WebSocket(url);
  const client: Client = { ws, messages: [], audioBytes: 0 };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) client.audioBytes += data.length;
    else client.messages.push(parseServiceMessage(data.toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(() => ws.terminate());
  ws.send(encodeClientMessage({ event: 'start', protocol: 'tandem.media.v1', pairId, srcExt: '7000', dstExt: '7001', direction: 'A->B', sampleRate: 8000, sourceLanguage: 'en', targetLanguage: 'es' }));
  await waitFor(() => client.messages.some((m) => m.event === 'started'), 5000, 'started');
  return client;
}

/** One utterance bounded by the client's VAD hints. */
function speak(client: Client, startMs: number, endMs: number): void {
  client.ws.send(encodeClientMessage({ event: 'speech', state: 'start', atMs: startMs }));
  client.ws.send(encodeClientMessage({ event: 'speech', state: 'end', atMs: endMs }));
}

const marks = (c: Client): number => c.messages.filter((m) => m.event === 'mark').length;

describe('ReferenceService answers', () => {
  it('name the utterance and its duration in seconds, rounded to 100 ms', () => {
    expect(referenceAnswerText(3, 1440)).toBe('utterance 3, 1.4 s');
    expect(referenceAnswerText(1, 1460)).toBe('utterance 1, 1.5 s');
    expect(referenceAnswerText(12, 40)).toBe('utterance 12, 0.0 s');
    expect(referenceAnswerText(2, 2000)).toBe('utterance 2, 2.0 s');
  });

  it('are synthesized once per (text, voice, rate) and served from the cache to every other session', async () => {
    const svc = await ReferenceService.start();
    cleanups.push(() => svc.close());
    const clients = await Promise.all(['pair_001', 'pair_002', 'pair_003'].map((id) => connect(svc.url, id)));
    // 1000–1040 ms and 1010 ms all round to "1.0 s": one text, three sessions, at the same time.
    speak(clients[0]!, 0, 1000);
    speak(clients[1]!, 500, 1540);
    speak(clients[2]!, 200, 1210);
    await waitFor(() => clients.every((c) => marks(c) === 1), 15_000, 'three answers');
    const texts = clients.map((c) => c.messages.find((m) => m.event === 'transcript'));
    for (const t of texts) expect(t).toMatchObject({ event: 'transcript', text: 'utterance 1, 1.0 s', final: true });
    // Each session got the same audio, though espeak-ng spoke it once.
    expect(clients[0]!.audioBytes).toBeGreaterThan(8000);
    expect(clients.map((c) => c.audioBytes)).toEqual([clients[0]!.audioBytes, clients[0]!.audioBytes, clients[0]!.audioBytes]);
    let stats = svc.stats();
    expect(stats.cache).toMatchObject({ capacity: 256, entries: 1, hits: 2, misses: 1 });
    expect(stats.synthesizer.calls).toBe(1);
    expect(stats).toMatchObject({ sessions: 3, liveSessions: 3, utterances: 3, answersSent: 3, synthesisFailures: 0 });

    // A different duration is a different text: a miss, and a second synthesis.
    speak(clients[0]!, 2000, 3300);
    await waitFor(() => marks(clients[0]!) === 2, 15_000, 'second answer');
    stats = svc.stats();
    expect(clients[0]!.messages.filter((m) => m.event === 'transcript').at(-1)).toMatchObject({ text: 'utterance 2, 1.3 s' });
    expect(stats.cache).toMatchObject({ entries: 2, hits: 2, misses: 2 });
    expect(stats.synthesizer.calls).toBe(2);
  }, 30_000);

  it('keeps at most cacheEntries answers, evicting the least recently used', async () => {
    const svc = await ReferenceService.start({ cacheEntries: 1 });
    cleanups.push(() => svc.close());
    const a = await connect(svc.url, 'pair_001');
    const b = await connect(svc.url, 'pair_002');
    speak(a, 0, 1000); // "utterance 1, 1.0 s"
    await waitFor(() => marks(a) === 1, 15_000);
    speak(a, 2000, 2500); // "utterance 2, 0.5 s" evicts the first
    await waitFor(() => marks(a) === 2, 15_000);
    speak(b, 0, 1000); // "utterance 1, 1.0 s" again: gone from the cache
    await waitFor(() => marks(b) === 1, 15_000);
    expect(svc.stats().cache).toMatchObject({ capacity: 1, entries: 1, hits: 0, misses: 3 });
    expect(svc.stats().synthesizer.calls).toBe(3);
  }, 30_000);

  it('refuses a negative cache size', async () => {
    await expect(ReferenceService.start({ cacheEntries: -1 })).rejects.toThrow(/cacheEntries/);
  });
});

describe('ReferenceService stalled (the soak provider-stall fault)', () => {
  it('reads audio and sends nothing while stalled, counting what it held back; released, it answers again', async () => {
    const svc = await ReferenceService.start();
    cleanups.push(() => svc.close());
    const client = await connect(svc.url, 'pair_001');
    const before = client.messages.length;
    svc.stallGate.stall();
    expect(svc.stallGate.stalled).toBe(true);
    client.ws.send(Buffer.alloc(320), { binary: true });
    speak(client, 0, 1000);
    // The answer was made (counted as sent by the session) but held back by the stall.
    await waitFor(() => svc.stats().answersSent === 1, 15_000, 'the answer made during the stall');
    await waitFor(() => svc.sessions[0]!.bytesReceived === 320, 5000, 'audio read');
    expect(client.messages.length).toBe(before);
    expect(client.audioBytes).toBe(0);
    const report = svc.stallGate.release();
    expect(report.sessionsCaught).toBe(1);
    expect(report.audioBytesAccepted).toBe(320);
    // transcript, translation, at least one audio chunk, mark.
    expect(report.messagesWithheld).toBeGreaterThanOrEqual(4);
    expect(svc.stallGate.answerAfterReleaseMs).toBeNull();

    speak(client, 2000, 3000);
    await waitFor(() => marks(client) === 1, 15_000, 'an answer after the release');
    expect(client.audioBytes).toBeGreaterThan(0);
    expect(svc.stallGate.answerAfterReleaseMs).not.toBeNull();
  });

  it('lists the ping feature and answers each ping with its id, except while stalled', async () => {
    const svc = await ReferenceService.start();
    cleanups.push(() => svc.close());
    const client = await connect(svc.url, 'pair_001');
    await waitFor(() => client.messages.some((m) => m.event === 'started'), 5000, 'started');
    expect(client.messages.find((m) => m.event === 'started')).toMatchObject({ features: ['ping'] });
    const pongs = (): number[] => client.messages.flatMap((m) => (m.event === 'pong' ? [m.id] : []));
    client.ws.send(encodeClientMessage({ event: 'ping', id: 1 }));
    await waitFor(() => pongs().length === 1, 5000, 'pong 1');
    svc.stallGate.stall();
    client.ws.send(encodeClientMessage({ event: 'ping', id: 2 }));
    await waitFor(() => svc.sessions[0]!.pings === 2, 5000, 'ping 2 read');
    const report = svc.stallGate.release();
    expect(report.messagesWithheld).toBe(1);
    client.ws.send(encodeClientMessage({ event: 'ping', id: 3 }));
    await waitFor(() => pongs().length === 2, 5000, 'pong 3');
    expect(pongs()).toEqual([1, 3]);
  });

  it('without features, its started lists none', async () => {
    const svc = await ReferenceService.start({ features: [] });
    cleanups.push(() => svc.close());
    const client = await connect(svc.url, 'pair_001');
    await waitFor(() => client.messages.some((m) => m.event === 'started'), 5000, 'started');
    expect(client.messages.find((m) => m.event === 'started')).not.toHaveProperty('features');
  });
});
