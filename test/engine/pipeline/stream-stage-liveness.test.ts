import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LivenessCheck, StreamingStage, encodeServiceMessage, parseClientMessage, synthesizeSpeechSamples, type StreamingError, type StreamingStageOptions } from '../../../engine/src/pipeline/streaming/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { PAIR, drive, scriptedServer, waitFor } from './helpers.js';

const RATE = 8000;
let speech: Int16Array;

beforeAll(async () => {
  const words = await synthesizeSpeechSamples('where is the station', { voice: 'en', sampleRate: RATE });
  speech = new Int16Array(words.length + RATE);
  speech.set(words);
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stage(url: string, extra: Partial<StreamingStageOptions> = {}): StreamingStage {
  const s = new StreamingStage(PAIR, { url, sourceLanguage: 'en', targetLanguage: 'es', reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, ...extra });
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

/** Drives speech through the stage until a translation comes back. */
async function translateOnce(s: StreamingStage): Promise<string> {
  const texts: string[] = [];
  const onTranslation = (m: { text: string }): void => void texts.push(m.text);
  s.on('translation', onTranslation);
  await drive(s, speech, RATE, () => texts.length > 0, { maxMs: 30_000, from: 0 });
  s.off('translation', onTranslation);
  return texts[0]!;
}

describe('StreamingStage liveness check (tandem.media.v1 ping/pong)', () => {
  it('detects a service stalled by its stall gate, reports `stalled`, reconnects, and translates again once released', async () => {
    const svc = await service();
    // A generous timeout: a healthy but slow (busy host) service must not be flagged before the stall.
    const s = stage(svc.url, { livenessIntervalMs: 20, livenessTimeoutMs: 1000 });
    const errors: StreamingError[] = [];
    const started: string[] = [];
    s.on('error', (e) => errors.push(e));
    s.on('started', (id) => started.push(id ?? '?'));
    await waitFor(() => s.stats().pongsReceived >= 3, 10_000, 'pongs from the healthy service');
    expect(svc.sessions[0]!.pings).toBeGreaterThanOrEqual(3);
    expect(s.stats()).toMatchObject({ stalls: 0, pongsUnmatched: 0 });

    svc.stallGate.stall();
    await waitFor(() => errors.some((e) => e.code === 'stalled'), 20_000, 'stall detected');
    expect(errors.filter((e) => e.code !== 'stalled')).toEqual([]);
    expect(errors[0]!.message).toMatch(/no pong to ping \d+ within 1000 ms/);
    expect(s.stats().stalls).toBeGreaterThanOrEqual(1);
    // Dropped and reopened: the stalled service sees a new session, which it does not confirm, and
    // that session is pinged from the start (the service listed `ping` before), so it is found
    // stalled too: a stall is reported per stalled session.
    await waitFor(() => s.stats().stalls >= 2, 20_000, 'the reopened session found stalled too');
    expect(s.stats().connects).toBeGreaterThanOrEqual(2);
    expect(s.stats().disconnects).toBeGreaterThanOrEqual(1);

    const report = svc.stallGate.release();
    expect(report.messagesWithheld).toBeGreaterThan(0);
    // The session open at the release has lost its `started`, but its pings are answered now, so it
    // is not flagged; it translates.
    const pongsAtRelease = s.stats().pongsReceived;
    await waitFor(() => s.connected && s.stats().pongsReceived > pongsAtRelease, 20_000, 'pongs after the release');
    const stallsAfterRecovery = s.stats().stalls;
    expect(await translateOnce(s)).toMatch(/^utterance 1, \d+\.\d s$/);
    const last = svc.sessions.at(-1)!;
    expect(last.utterances).toHaveLength(1);
    expect(last.pings).toBeGreaterThan(0);
    expect(s.stats().stalls).toBe(stallsAfterRecovery);
    expect(errors.every((e) => e.code === 'stalled')).toBe(true);
    expect(started.length).toBeGreaterThanOrEqual(1);
  });

  it('never pings or flags a service that does not list the ping feature, even while it stalls', async () => {
    const svc = await service({ features: [] });
    const s = stage(svc.url, { livenessIntervalMs: 5, livenessTimeoutMs: 20 });
    const errors: StreamingError[] = [];
    s.on('error', (e) => errors.push(e));
    expect(await translateOnce(s)).toMatch(/^utterance 1/);

    // Stalled: it hears a whole utterance and holds its answer back, many liveness timeouts long.
    svc.stallGate.stall();
    const utterances = svc.sessions[0]!.utterances.length;
    await drive(s, speech, RATE, () => svc.sessions[0]!.utterances.length > utterances, { maxMs: 30_000, from: 0 });
    svc.stallGate.release();

    expect(svc.sessions).toHaveLength(1);
    expect(svc.sessions[0]!.pings).toBe(0);
    expect(s.stats()).toMatchObject({ stalls: 0, pingsSent: 0, connects: 1, disconnects: 0 });
    expect(errors).toEqual([]);
  });

  it('counts malformed and unknown pong ids without crashing or flagging a service that answers', async () => {
    const server = await scriptedServer((ws) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = parseClientMessage(data as Buffer);
        if (msg.event === 'start') ws.send(encodeServiceMessage({ event: 'started', protocol: 'tandem.media.v1', features: ['ping', 'some-future-feature'] }));
        if (msg.event === 'ping') {
          ws.send(JSON.stringify({ event: 'pong', id: 'not-a-number' }));
          ws.send(JSON.stringify({ event: 'pong', id: -1 }));
          ws.send(encodeServiceMessage({ event: 'pong', id: msg.id + 1_000_000 }));
          ws.send(encodeServiceMessage({ event: 'pong', id: msg.id }));
        }
      });
    });
    cleanups.push(() => server.close());
    const s = stage(server.url, { livenessIntervalMs: 10, livenessTimeoutMs: 2000 });
    const errors: StreamingError[] = [];
    s.on('error', (e) => errors.push(e));
    await waitFor(() => s.stats().pongsReceived >= 10, 10_000, 'pongs');
    const st = s.stats();
    expect(st.stalls).toBe(0);
    expect(st.connects).toBe(1);
    // Each ping brought one unknown id and two malformed pongs (protocol errors, counted).
    expect(st.pongsUnmatched).toBeGreaterThanOrEqual(5);
    expect(st.badMessages).toBeGreaterThanOrEqual(10);
    expect(new Set(errors.map((e) => `${e.code}/${e.protocolCode}`))).toEqual(new Set(['protocol/invalid_message']));
    expect(s.connected).toBe(true);
  });
});

describe('LivenessCheck', () => {
  function check(timeoutMs = 100): { c: LivenessCheck; pings: number[]; stalls: string[] } {
    vi.useFakeTimers();
    const pings: number[] = [];
    const stalls: string[] = [];
    const c = new LivenessCheck({ intervalMs: 10, timeoutMs, sendPing: (id) => pings.push(id), onStall: (d) => stalls.push(d) });
    return { c, pings, stalls };
  }

  it('stalls when the oldest ping is unanswered for the timeout, once, and then stops', () => {
    const { c, pings, stalls } = check();
    c.started(true);
    vi.advanceTimersByTime(50);
    expect(pings).toEqual([1, 2, 3, 4, 5]);
    expect(c.pong(3)).toBe('matched'); // answers 1–3
    expect(c.outstanding).toBe(2);
    vi.advanceTimersByTime(89); // ping 4 was sent at 40 ms: its deadline is at 140 ms
    expect(stalls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(stalls).toEqual(['no pong to ping 4 within 100 ms']);
    const sent = pings.length;
    vi.advanceTimersByTime(1000);
    expect(pings.length).toBe(sent);
    expect(stalls).toHaveLength(1);
  });

  it('is never stalled by a service that answers every ping', () => {
    const { c, pings, stalls } = check(15);
    c.started(true);
    for (let t = 0; t < 1000; t++) {
      vi.advanceTimersByTime(1);
      const last = pings.at(-1);
      if (last !== undefined && c.outstanding > 0) c.pong(last);
    }
    expect(pings.length).toBe(100);
    expect(stalls).toEqual([]);
  });

  it('counts unknown and repeated ids as unmatched', () => {
    const { c } = check();
    c.started(true);
    vi.advanceTimersByTime(10);
    expect(c.pong(7)).toBe('unmatched');
    expect(c.pong(1)).toBe('matched');
    expect(c.pong(1)).toBe('unmatched');
  });

  it('stops pinging for good when started says the service does not support it', () => {
    const { c, pings, stalls } = check();
    c.begin();
    vi.advanceTimersByTime(30);
    expect(pings).toEqual([1, 2, 3]);
    c.started(false);
    c.begin();
    vi.advanceTimersByTime(1000);
    expect(pings).toEqual([1, 2, 3]);
    expect(stalls).toEqual([]);
    expect(c.outstanding).toBe(0);
  });
});
