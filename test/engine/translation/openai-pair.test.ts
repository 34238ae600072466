import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaEngine } from '../../../engine/src/engine.js';
import { OpenAiRealtimeLocalServer } from '../../../tools/doubles/openai-realtime-server.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import { RtpPeer, paced, waitFor } from '../../support/rtp-peer.js';
import { speechScript, ulawRms, type SpeechScript } from './speech-fixture.js';
import { freePortRange } from '../../support/ports.js';

/**
 * A pair translated through the OpenAI-Realtime-compatible provider: Tandem's
 * VAD commits each utterance (client turn detection), the local protocol
 * double (not a model) answers, the answer reaches leg B.
 */
describe('translated pair with an OpenAI-Realtime-compatible provider', () => {
  let engine: MediaEngine;
  let server: OpenAiRealtimeLocalServer;
  let script: SpeechScript;

  beforeAll(async () => {
    script = await speechScript(['Please call me a taxi.', 'My flight leaves at nine.']);
    server = await OpenAiRealtimeLocalServer.start({ apiKey: 'sk-local-test' });
    engine = await MediaEngine.start({ workers: 1, portRange: await freePortRange(200) });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await server?.close();
  });

  it('commits each VAD utterance, gets transcript and translation, and injects the answer into leg B', async () => {
    const transcripts: TranscriptEvent[] = [];
    engine.on('transcript', (t) => transcripts.push(t));
    const peerA = await RtpPeer.open();
    const peerB = await RtpPeer.open();
    const legs = await engine.openPair({
      pairId: 'pair_oa',
      extA: '7000',
      extB: '7001',
      remoteA: peerA.endpoint,
      remoteB: peerB.endpoint,
      translation: {
        provider: { kind: 'openai-realtime', url: `${server.url}?model=local-double`, apiKey: 'sk-local-test', turnDetection: 'client' },
        languages: { A: 'en', B: 'de' },
        directions: ['A->B'],
      },
    });
    try {
      await paced(script.frames.length, (i) => peerA.sendRtp(legs.legA, script.frames[i]!));
      await waitFor(() => transcripts.filter((t) => t.final).length === 2, 15_000);
      const session = server.sessions.find((s) => !s.closed);
      expect(session?.commits).toBe(2);
      expect(session?.responseCreates).toBe(2);
      expect(session?.invalid).toEqual([]);
      const instructions = JSON.stringify(session?.sessionUpdates[0]);
      expect(instructions).toMatch(/en/);
      expect(instructions).toMatch(/de/);
      for (const t of transcripts.filter((e) => e.final)) {
        expect(t).toMatchObject({ pairId: 'pair_oa', srcExt: '7000', dstExt: '7001', direction: 'A->B', targetLanguage: 'de' });
        expect(t.translatedText).not.toBeNull();
      }
      await waitFor(() => peerB.received.filter((p) => ulawRms(p.payload) > 300).length >= 20, 10_000);
      // B->A is not translated: it stays a transparent duplex, and B sent nothing.
      expect(peerA.received.filter((p) => ulawRms(p.payload) > 300)).toHaveLength(0);
    } finally {
      await engine.closePair('pair_oa');
      peerA.close();
      peerB.close();
    }
    await waitFor(() => server.liveSessions === 0);
  }, 60_000);
});
