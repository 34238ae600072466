import { randomBytes } from 'node:crypto';
import { synthesizeSpeechSamples } from '../../engine/src/pipeline/streaming/espeak.js';
import { ReferenceService } from '../reference-service/reference-service.js';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import { AsteriskSimulator, type AudioSource } from '../asterisk-simulator/ari/index.js';

export interface ProductDemoOptions {
  /** Calls up at once (default 3). */
  calls?: number;
  /** Stop after this many seconds; default: run until `signal` aborts. */
  seconds?: number;
  /** Each call lasts this long (default 20 s). */
  callSeconds?: number;
  /** The API/console port (default 0: any free port). */
  port?: number;
  signal?: AbortSignal;
  /** Where progress lines go (stdout in the CLI). */
  print: (line: string) => void;
}

export interface ProductDemoSummary {
  consoleUrl: string;
  placed: number;
  ended: number;
  transcripts: number;
  latencyMedianMs: number | null;
  mosMean: number | null;
}

const CALLER_SENTENCES = ['Where is the train station?', 'Two tickets to Madrid, please.', 'What time does the museum open?', 'I would like a table for four.'];
const ANSWER_SENTENCES = ['La estación está a la derecha.', 'Son veinte euros, por favor.', 'El museo abre a las diez.'];

/** Loops its sentences with a pause after each: a party that keeps talking, as a person on a call would. */
function talker(sentences: readonly Int16Array[], pauseSamples: number, offset: number): AudioSource {
  const total = sentences.reduce((n, s) => n + s.length + pauseSamples, 0);
  const script = new Int16Array(total);
  let at = 0;
  for (const s of sentences) {
    script.set(s, at);
    at += s.length + pauseSamples;
  }
  let position = offset % total;
  return (sampleRate, samples) => {
    const out = new Int16Array(samples);
    if (sampleRate !== 8000) return out;
    for (let i = 0; i < samples; i++) out[i] = script[(position + i) % total]!;
    position = (position + samples) % total;
    return out;
  };
}

/**
 * What `npm start` shows: Tandem with its embedded defaults (in-memory pairs,
 * one engine worker) behind the Asterisk simulator, a few calls whose parties
 * speak espeak-ng sentences, translated English ⇄ Spanish through the
 * reference service, and the console to watch them in. New calls replace
 * ended ones until the time is up or the signal aborts; then a summary.
 */
export async function runProductDemo(options: ProductDemoOptions): Promise<ProductDemoSummary> {
  const concurrent = options.calls ?? 3;
  const callMs = (options.callSeconds ?? 20) * 1000;
  const print = options.print;
  const [callerVoice, answerVoice] = await Promise.all([
    Promise.all(CALLER_SENTENCES.map((t) => synthesizeSpeechSamples(t, { voice: 'en', sampleRate: 8000 }))),
    Promise.all(ANSWER_SENTENCES.map((t) => synthesizeSpeechSamples(t, { voice: 'es', sampleRate: 8000 }))),
  ]);
  // A token for this run only, shown to whoever started it so they can log in.
  const token = randomBytes(18).toString('base64url');
  const service = await ReferenceService.start();
  const closers: Array<() => Promise<void>> = [() => service.close()];
  try {
    const ariPassword = randomBytes(12).toString('hex');
    const sim = await AsteriskSimulator.start({ username: 'tandem', password: ariPassword });
    closers.push(() => sim.close());
    const node = await TandemNode.start({
      engine: { workers: 1 },
      store: { poolSize: Math.max(concurrent, 1) },
      ari: { url: sim.ariUrl, username: 'tandem', password: ariPassword },
      calls: { translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' } } },
      api: { token, port: options.port ?? 0 },
    });
    closers.push(() => node.close());
    for (let i = 0; i < node.store.pool.size; i++) {
      sim.endpoints.set(node.store.pool.extensionsAt(i).extB, { behaviour: 'answer', answerAfterMs: 1500, audio: talker(answerVoice, 8000 * 3, i * 9000) });
    }
    const consoleUrl = node.consoleUrl ?? '';
    print(`Tandem is running behind a simulated Asterisk: ${concurrent} calls at a time, English ⇄ Spanish through the reference translation service.`);
    print(`Console: ${consoleUrl}`);
    print(`Token for this run: ${token}`);
    print(options.seconds === undefined ? 'Ctrl-C stops it.' : `Stopping after ${options.seconds} s (Ctrl-C stops it sooner).`);

    let transcripts = 0;
    const latencies: number[] = [];
    node.transcripts.on('transcript', (t) => {
      if (t.final) transcripts++;
    });
    node.engine.on('translation', (_pairId, _direction, event) => {
      if (event.type === 'latency') latencies.push(event.totalMs);
    });
    let placed = 0;
    let ended = 0;
    node.app.on('callended', () => ended++);
    // Every timer the demo arms, so stopping clears them all: one firing after the simulator
    // closed would throw ("simulator is closed").
    const hangups = new Set<NodeJS.Timeout>();
    let stopped = false;
    const place = (): void => {
      if (stopped) return;
      const call = sim.placeCall({ callerNumber: `555${String(1000 + placed).slice(-4)}`, audio: talker(callerVoice, 8000 * 2, placed * 7000) });
      placed++;
      const timer = setTimeout(() => {
        hangups.delete(timer);
        sim.hangup(call.channelId);
      }, callMs * (0.75 + 0.5 * Math.random()));
      hangups.add(timer);
    };
    // Staggered, so calls come and go at different times; each ended call is replaced.
    const starts = Array.from({ length: concurrent }, (_, i) => setTimeout(place, i * 2500));
    const replace = (): void => {
      if (stopped || options.signal?.aborted) return;
      const timer = setTimeout(() => {
        hangups.delete(timer);
        place();
      }, 1000);
      timer.unref();
      hangups.add(timer);
    };
    node.app.on('callended', replace);
    await new Promise<void>((resolve) => {
      const timer = options.seconds === undefined ? null : setTimeout(resolve, options.seconds * 1000);
      options.signal?.addEventListener('abort', () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
    stopped = true;
    node.app.off('callended', replace);
    for (const t of [...starts, ...hangups]) clearTimeout(t);
    const { calls: records } = await node.records.list({ limit: 1000 });
    const mos = records.flatMap((r) => [r.mosA, r.mosB]).filter((m): m is number => m !== null);
    latencies.sort((a, b) => a - b);
    return {
      consoleUrl,
      placed,
      ended,
      transcripts,
      latencyMedianMs: latencies.length === 0 ? null : Math.round(latencies[Math.floor(latencies.length / 2)]!),
      mosMean: mos.length === 0 ? null : Math.round((100 * mos.reduce((a, b) => a + b, 0)) / mos.length) / 100,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}
