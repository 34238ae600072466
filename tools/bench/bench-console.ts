/**
 * What watching costs: N mirrored calls through the Asterisk simulator, then
 * the same run measured twice side by side — a phase with no console open and
 * a phase with console pages streaming (the calls page twice, one call's page)
 * and /metrics scraped every second. Prints, per phase, the engine's loss and
 * pacing, the engine workers' CPU (each worker's own thread time, from
 * /proc/thread-self/stat: the simulator and the control plane run on the main
 * thread and are not in it), the whole process's CPU, and what the streams carried.
 *
 *   node --import tsx tools/bench/bench-console.ts [--pairs 100] [--seconds 20] [--workers 2]
 */
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../common/src/logger.js';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import { AsteriskSimulator, tone } from '../asterisk-simulator/ari/index.js';
import { positiveIntFlag } from './native/flags.js';

const { values } = parseArgs({ options: { pairs: { type: 'string' }, seconds: { type: 'string' }, workers: { type: 'string' } } });
const pairs = positiveIntFlag('pairs', values.pairs, 100);
const seconds = positiveIntFlag('seconds', values.seconds, 20);
const workers = positiveIntFlag('workers', values.workers, 2);
const TOKEN = 'bench-console-token-0123456789';
setLogLevel('warn');

const sim = await AsteriskSimulator.start({ username: 'tandem', password: 'bench-secret' });
const node = await TandemNode.start({
  engine: { workers, requestTimeoutMs: 30_000 },
  store: { poolSize: pairs },
  ari: { url: sim.ariUrl, username: 'tandem', password: 'bench-secret' },
  api: { token: TOKEN },
  processMetrics: false,
});
const address = node.apiAddress;
if (address === null || !('url' in address)) throw new Error('expected a TCP API');
const base = address.url;
for (let i = 0; i < pairs; i++) sim.endpoints.set(node.store.pool.extensionsAt(i).extB, { behaviour: 'answer', answerAfterMs: 50, audio: tone(880) });
for (let i = 0; i < pairs; i++) sim.placeCall({ callerNumber: `5${String(i).padStart(6, '0')}`, audio: tone(440) });
while (node.app.pairs().filter((p) => p.state === 'active').length < pairs) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 3000));

interface Totals {
  ticks: number;
  lateTicks: number;
  played: number;
  lost: number;
  concealed: number;
  /** Engine worker threads' CPU, ms (null: not on Linux). */
  engineCpuMs: number | null;
}
async function totals(): Promise<Totals> {
  const stats = await node.engine.stats();
  const t: Totals = { ticks: 0, lateTicks: 0, played: 0, lost: 0, concealed: 0, engineCpuMs: 0 };
  for (const s of stats.shards) {
    t.ticks += s.ticks;
    t.lateTicks += s.lateTicks;
    t.engineCpuMs = t.engineCpuMs === null || s.cpuMs === null ? null : t.engineCpuMs + s.cpuMs;
    for (const p of s.pairStats) {
      for (const leg of [p.legA, p.legB]) {
        t.played += leg.jitter.played;
        t.lost += leg.jitter.lost;
        t.concealed += leg.jitter.concealed;
      }
    }
  }
  return t;
}

async function phase(name: string, watch: boolean): Promise<string> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let bytes = 0;
  let events = 0;
  const streams: Array<() => void> = [];
  let scraper: NodeJS.Timeout | null = null;
  let scrapeMs = 0;
  let scrapes = 0;
  if (watch) {
    const login = await fetch(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    for (const path of ['/console/stream/calls', '/console/stream/calls', '/console/stream/call/pair_001']) {
      const req = request(`${base}${path}`, { headers: { cookie } }, (res) => {
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          events += chunk.toString('utf8').split('\nevent: ').length - 1;
        });
      });
      req.on('error', () => undefined);
      req.end();
      streams.push(() => req.destroy());
    }
    scraper = setInterval(() => {
      const at = performance.now();
      void fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
        .then((r) => r.text())
        .then(() => {
          scrapeMs += performance.now() - at;
          scrapes++;
        });
    }, 1000);
  }
  const before = await totals();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  delay.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  delay.disable();
  const after = await totals();
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - startedAt;
  // Percent of one core over the phase.
  const engineCpu = after.engineCpuMs === null || before.engineCpuMs === null ? 'engine CPU n/a' : `engine CPU ${((100 * (after.engineCpuMs - before.engineCpuMs)) / elapsedMs).toFixed(1)} %`;
  const processCpu = `process CPU ${((100 * (cpu.user + cpu.system)) / 1000 / elapsedMs).toFixed(1)} %`;
  for (const stop of streams) stop();
  if (scraper) clearInterval(scraper);
  const played = after.played - before.played;
  const lost = after.lost - before.lost;
  const ticks = after.ticks - before.ticks;
  return [
    `${name.padEnd(16)}`,
    `loss ${((100 * lost) / Math.max(1, played + lost)).toFixed(3)} %`,
    `concealed ${after.concealed - before.concealed}`,
    `late ticks ${after.lateTicks - before.lateTicks}/${ticks} (${((100 * (after.lateTicks - before.lateTicks)) / Math.max(1, ticks)).toFixed(2)} %)`,
    engineCpu,
    processCpu,
    `main loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
    watch ? `streams ${(bytes / seconds / 1024).toFixed(1)} KiB/s in ${events} events, /metrics ${scrapes} scrapes mean ${(scrapeMs / Math.max(1, scrapes)).toFixed(1)} ms` : 'no console, no scrapes',
  ].join(' | ');
}

process.stdout.write(`${pairs} mirrored calls through the simulator, ${workers} engine workers, ${seconds} s per phase (CPU in % of one core)\n`);
process.stdout.write(`${await phase('console closed', false)}\n`);
process.stdout.write(`${await phase('console open', true)}\n`);
process.stdout.write(`${await phase('console closed', false)}\n`);
await node.close();
await sim.close();
