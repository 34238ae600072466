/**
 * A call carried at 16 kHz through Asterisk's WebSocket media channel
 * (chan_websocket) instead of UnicastRTP, end to end against the simulator:
 * externalMedia with transport=websocket, the engine's legs connecting to
 * /media/<MEDIA_WEBSOCKET_CONNECTION_ID>, each phone hearing the other; and the
 * configuration that would leave calls silent on a real Asterisk refused at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { parseCallConfig } from '../../../control/src/calls/index.js';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { dominantFrequency, rms, tone, type AudioSource, type HeardChunk } from '../../../tools/asterisk-simulator/ari/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import type { TranscriptEvent } from '../../../engine/src/pipeline/transcript-event.js';
import { expectAllReleased, startHarness, type Harness } from '../../support/control-harness.js';
import { waitFor } from '../../support/rtp-peer.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** What a phone heard with sound in it (chan_websocket plays silence whenever its queue is empty). */
const voiced = (chunks: readonly HeardChunk[]): HeardChunk[] => chunks.filter((c) => rms([c]) > 500);

describe('a call over the WebSocket media transport', () => {
  it('slin16: each phone hears the other through WebSocket/INCOMING externalMedia channels, then everything is released', async () => {
    h = await startHarness({
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) } },
      calls: { format: 'slin16', mediaTransport: 'websocket' },
    });
    const call = h.sim.placeCall({ callerNumber: '5551234', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 15_000);

    const channels = new Map(h.sim.channels().map((c) => [c.id, c]));
    for (const id of ['em_pair_001_A', 'em_pair_001_B']) {
      expect(channels.get(id)?.name).toMatch(/^WebSocket\/INCOMING\//);
      expect(channels.get(id)).toMatchObject({ state: 'Up', inStasis: true });
      expect(channels.get(id)?.vars['MEDIA_WEBSOCKET_CONNECTION_ID']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const byId = new Map(h.sim.bridges().map((b) => [b.id, [...b.channels].sort()]));
    expect(byId.get('brg_pair_001_A')).toEqual([call.channelId, 'em_pair_001_A'].sort());
    expect(byId.get('brg_pair_001_B')).toEqual(['chan_pair_001_B', 'em_pair_001_B'].sort());

    await waitFor(() => voiced(h!.sim.heard(call.channelId)).length >= 40 && voiced(h!.sim.heard('chan_pair_001_B')).length >= 40, 10_000);
    const callerHeard = voiced(h.sim.heard(call.channelId));
    const legBHeard = voiced(h.sim.heard('chan_pair_001_B'));
    expect(callerHeard.every((c) => c.sampleRate === 16000)).toBe(true);
    expect(legBHeard.every((c) => c.sampleRate === 16000)).toBe(true);
    expect(Math.abs(dominantFrequency(callerHeard) - 880)).toBeLessThan(25);
    expect(Math.abs(dominantFrequency(legBHeard) - 440)).toBeLessThan(25);

    const stats = await h.node.engine.stats();
    const pair = stats.shards.flatMap((s) => s.pairStats).find((p) => p.pairId === 'pair_001');
    expect(pair).toMatchObject({ codec: 'slin16', legA: { transport: 'websocket', connected: true }, legB: { transport: 'websocket', connected: true } });

    h.sim.hangup(call.channelId);
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(h.closed[0]).toEqual({ pairId: 'pair_001', reason: 'caller-hangup' });
    await expectAllReleased(h);
  });

  it('tears the call down when a media channel goes away mid-call (its connection closes with it)', async () => {
    h = await startHarness({
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } },
      calls: { format: 'slin16', mediaTransport: 'websocket' },
    });
    h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.active.length === 1, 15_000);
    // Someone else hangs up em_pair_001_B (an operator, a dialplan): Asterisk closes its media connection.
    const res = await fetch(`${h.sim.ariUrl}/ari/channels/em_pair_001_B`, { method: 'DELETE', headers: { Authorization: `Basic ${Buffer.from('tandem:test-secret').toString('base64')}` } });
    expect(res.status).toBe(204);
    await waitFor(() => h!.closed.length === 1, 10_000);
    expect(['external-media-lost', 'engine-error']).toContain(h.closed[0]?.reason);
    await expectAllReleased(h);
  });

  it('fails setup cleanly when the engine cannot reach the media channel, and releases the pair', async () => {
    // A media URL nobody serves: the engine's connection is refused, setup fails, the caller hears congestion.
    h = await startHarness({
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20, audio: tone(880) } },
      calls: { format: 'slin16', mediaTransport: 'websocket', mediaUrl: 'ws://127.0.0.1:1/media/' },
    });
    h.sim.placeCall({ callerNumber: '100', audio: tone(440) });
    await waitFor(() => h!.closed.length === 1, 15_000);
    expect(h.closed[0]?.reason).toBe('setup-failed');
    await expectAllReleased(h);
  });
});

describe('a translated call at 16 kHz over the WebSocket media transport', () => {
  let service: ReferenceService | null = null;
  afterEach(async () => {
    await service?.close();
    service = null;
  });

  it('recognises the caller at 16 kHz and speaks the answer into bridge B only', async () => {
    service = await ReferenceService.start();
    const sentence = await synthesizeSpeechSamples('Where is the train station?', { voice: 'en', sampleRate: 16000 });
    const speech = new Int16Array(8000 + sentence.length + 16000 * 2);
    speech.set(sentence, 8000);
    h = await startHarness({
      workers: 1,
      endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 20 } },
      calls: {
        format: 'slin16',
        mediaTransport: 'websocket',
        translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 16000 }, languages: { A: 'en', B: 'es' } },
      },
    });
    const transcripts: TranscriptEvent[] = [];
    h.node.engine.on('transcript', (event) => transcripts.push(event));
    const call = h.sim.placeCall({ callerNumber: '5551234', audio: speechAt16k(speech) });
    await waitFor(() => transcripts.some((t) => t.final && t.direction === 'A->B'), 20_000);
    const final = transcripts.find((t) => t.final && t.direction === 'A->B');
    expect(final).toMatchObject({ pairId: 'pair_001', srcExt: '7000', dstExt: '7001', language: 'en', targetLanguage: 'es' });
    // The service heard 16 kHz audio (what the WebSocket leg carries, no resampling to 8 kHz on the way).
    expect(service.sessions.find((s) => s.direction === 'A->B')?.start).toMatchObject({ sampleRate: 16000 });
    await waitFor(() => voiced(h!.sim.heard('chan_pair_001_B')).length >= 10, 10_000);
    expect(h.sim.heard('chan_pair_001_B').every((c) => c.sampleRate === 16000)).toBe(true);
    expect(voiced(h.sim.heard(call.channelId))).toEqual([]);
    // The answer injected into bridge B never reached bridge B's own recognizer (a bridge sends nobody their own audio).
    expect(transcripts.filter((t) => t.direction === 'B->A')).toEqual([]);
    h.sim.hangup(call.channelId);
    await expectAllReleased(h);
  }, 60_000);
});

/** Plays `pcm` (16 kHz) once, then silence. */
function speechAt16k(pcm: Int16Array): AudioSource {
  let at = 0;
  return (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (sampleRate === 16000) {
      for (let i = 0; i < samples && at + i < pcm.length; i++) out[i] = pcm[at + i]!;
      at += samples;
    }
    return out;
  };
}

describe('a configuration that would leave calls silent', () => {
  it('refuses slin16 and slin over RTP externalMedia, saying why and what to use', () => {
    const slin16 = (() => {
      try {
        parseCallConfig({ format: 'slin16' });
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(slin16).toBeInstanceOf(ConfigError);
    expect((slin16 as ConfigError).key).toBe('format');
    expect((slin16 as ConfigError).message).toContain('Asterisk does not play slin16 received over RTP externalMedia');
    expect((slin16 as ConfigError).message).toContain('use --codec ulaw, or the WebSocket media transport');
    expect(() => parseCallConfig({ format: 'slin' })).toThrow(/µ-law/);
    expect(() => parseCallConfig({ format: 'slin16', mediaTransport: 'websocket' })).toThrow(ConfigError); // no mediaUrl
    expect(parseCallConfig({ format: 'slin16', mediaTransport: 'websocket', mediaUrl: 'ws://127.0.0.1:8088/media/' })).toMatchObject({ format: 'slin16', mediaTransport: 'websocket' });
    expect(parseCallConfig({ format: 'ulaw' }).mediaTransport).toBe('rtp');
  });

  it('TandemNode refuses it before connecting anywhere', async () => {
    // ARI_URL points nowhere: the refusal must come first, not a connection error.
    await expect(
      TandemNode.start({ ari: { url: 'http://127.0.0.1:1', username: 'tandem', password: 'x' }, calls: { format: 'slin16' } }),
    ).rejects.toMatchObject({ name: 'ConfigError', key: 'format' });
  });
});
