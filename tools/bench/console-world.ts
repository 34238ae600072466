import { request } from 'node:http';
import { parentPort } from 'node:worker_threads';
import { AsteriskSimulator, tone } from '../asterisk-simulator/ari/index.js';
import { toWorldSchema, type FromWorld, type ToWorld } from './console-world-protocol.js';

/**
 * Everything outside Tandem in the console benchmark, on a thread of its own: the
 * Asterisk simulator (its calls and all their RTP) and the operator's console pages
 * (Server-Sent Events streams). The benchmark's main
 * thread then holds only Tandem's control plane, as it would in production, so
 * its event-loop delay is the control plane's and not the simulator's.
 */
const port = parentPort;
if (port === null) throw new Error('console-world must run as a worker thread');

let sim: AsteriskSimulator | null = null;
let watching: { stop(): FromWorld } | null = null;
const post = (message: FromWorld): void => port.postMessage(message);

/** The console pages' streams, counted until stopped (the benchmark's main thread scrapes /metrics). */
async function watch(base: string, token: string, paths: readonly string[]): Promise<{ stop(): FromWorld }> {
  const login = await fetch(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (login.status !== 204) throw new Error(`console login answered ${login.status}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const totals = { bytes: 0, events: 0 };
  const streams = paths.map((path) => {
    const req = request(`${base}${path}`, { headers: { cookie } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        totals.bytes += chunk.length;
        totals.events += chunk.toString('utf8').split('\nevent: ').length - 1;
      });
    });
    req.on('error', () => undefined);
    req.end();
    return req;
  });
  return {
    stop: () => {
      for (const req of streams) req.destroy();
      return { type: 'watched', ...totals };
    },
  };
}

async function handle(message: ToWorld): Promise<FromWorld> {
  switch (message.type) {
    case 'start':
      sim = await AsteriskSimulator.start({ username: message.username, password: message.password });
      return { type: 'started', ariUrl: sim.ariUrl };
    case 'calls': {
      if (sim === null) throw new Error('not started');
      for (const ext of message.extBs) sim.endpoints.set(ext, { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) });
      message.extBs.forEach((_, i) => sim!.placeCall({ callerNumber: `5${String(i).padStart(6, '0')}`, audio: tone(440) }));
      return { type: 'placed', calls: message.extBs.length };
    }
    case 'watch':
      watching = await watch(message.base, message.token, message.paths);
      return { type: 'watching' };
    case 'unwatch': {
      const done = watching?.stop() ?? { type: 'watched', bytes: 0, events: 0 };
      watching = null;
      return done;
    }
    case 'close':
      watching?.stop();
      await sim?.close();
      sim = null;
      return { type: 'closed' };
  }
}

port.on('message', (raw: unknown) => {
  const parsed = toWorldSchema.safeParse(raw);
  if (!parsed.success) {
    post({ type: 'error', message: `bad message: ${parsed.error.message}` });
    return;
  }
  handle(parsed.data).then(post, (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
