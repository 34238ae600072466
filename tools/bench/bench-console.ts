/**
 * What watching costs: N mirrored calls through the Asterisk simulator, then
 * the same run measured in alternating phases — console closed, console open
 * (the calls page twice and one call's page streaming, /metrics scraped every
 * second) — `--rounds` times, then one phase where only the engine sample the
 * console shares is taken. The simulator and the pages run on a thread of
 * their own (console-world.ts), so this thread holds Tandem's control plane
 * (and the one-a-second scrape, timed on its loop). Prints, per phase, the
 * engine's loss and pacing (late ticks), the engine workers' CPU (each
 * worker's own thread time, from /proc/thread-self/stat), the process's CPU,
 * the control plane's event-loop delay and what the streams carried; then
 * each kind's mean and range over its phases.
 *
 *   node --import tsx tools/bench/bench-console.ts [--pairs 100] [--seconds 20] [--workers 2] [--rounds 3]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { setLogLevel } from '../../common/src/logger.js';
import { siblingModule, startSourceWorker } from '../../common/src/source-worker.js';
import { TandemNode } from '../../control/src/node/tandem-node.js';
import { fromWorldSchema, type FromWorld, type ToWorld } from './console-world-protocol.js';
import { positiveIntFlag } from './native/flags.js';

const { values } = parseArgs({ options: { pairs: { type: 'string' }, seconds: { type: 'string' }, workers: { type: 'string' }, rounds: { type: 'string' } } });
const rounds = positiveIntFlag('rounds', values.rounds, 3);
const pairs = positiveIntFlag('pairs', values.pairs, 100);
const seconds = positiveIntFlag('seconds', values.seconds, 20);
const workers = positiveIntFlag('workers', values.workers, 2);
const TOKEN = 'bench-console-token-0123456789';
const ARI_PASSWORD = 'bench-secret';
setLogLevel('warn');

const world: Worker = startSourceWorker(siblingModule(import.meta.url, 'console-world'));
/** One request to the world thread and its answer (requests are sequential). */
function ask<T extends FromWorld['type']>(message: ToWorld, expected: T): Promise<Extract<FromWorld, { type: T }>> {
  return new Promise((resolve, reject) => {
    world.once('message', (raw: unknown) => {
      const answer = fromWorldSchema.parse(raw);
      if (answer.type === expected) resolve(answer as Extract<FromWorld, { type: T }>);
      else reject(new Error(answer.type === 'error' ? `world thread: ${answer.message}` : `world thread answered ${answer.type}, expected ${expected}`));
    });
    world.postMessage(message);
  });
}

const { ariUrl } = await ask({ type: 'start', username: 'tandem', password: ARI_PASSWORD }, 'started');
const node = await TandemNode.start({
  engine: { workers, requestTimeoutMs: 30_000 },
  store: { poolSize: pairs },
  ari: { url: ariUrl, username: 'tandem', password: ARI_PASSWORD },
  api: { token: TOKEN },
  processMetrics: false,
});
const address = node.apiAddress;
if (address === null || !('url' in address)) throw new Error('expected a TCP API');
const base = address.url;
const extBs = Array.from({ length: pairs }, (_, i) => node.store.pool.extensionsAt(i).extB);
await ask({ type: 'calls', extBs }, 'placed');
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

/**
 * `watch`: the console pages and the scraper; `sample`: only the engine sample they share, once a
 * second (what the workers pay for being watched, without the control plane's rows and JSON).
 */
/** Each phase's figures by what was watching, for the closing comparison. */
const byKind = new Map<'none' | 'sample' | 'console', Array<{ latePct: number; lossPct: number; loopP99Ms: number }>>();

async function phase(name: string, watch: 'none' | 'sample' | 'console'): Promise<string> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const sampling = watch === 'sample' ? setInterval(() => void node.sampler.sample().catch(() => undefined), 1000) : null;
  if (watch === 'console') await ask({ type: 'watch', base, token: TOKEN, paths: ['/console/stream/calls', '/console/stream/calls', '/console/stream/call/pair_001'] }, 'watching');
  // The scrape is timed here, on the control plane's own loop: the world thread's loop is busy with the simulator's RTP.
  const scrape = { count: 0, ms: 0 };
  const scraper =
    watch === 'console'
      ? setInterval(() => {
          const at = performance.now();
          void fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
            .then((r) => r.text())
            .then(() => {
              scrape.ms += performance.now() - at;
              scrape.count++;
            }, () => undefined);
        }, 1000)
      : null;
  const before = await totals();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  delay.enable();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  delay.disable();
  const after = await totals();
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedMs = performance.now() - startedAt;
  if (sampling) clearInterval(sampling);
  if (scraper) clearInterval(scraper);
  const watched = watch === 'console' ? await ask({ type: 'unwatch' }, 'watched') : null;
  // Percent of one core over the phase.
  const engineCpuMs = after.engineCpuMs === null || before.engineCpuMs === null ? null : after.engineCpuMs - before.engineCpuMs;
  const engineCpu = engineCpuMs === null ? 'engine CPU n/a' : `engine CPU ${((100 * engineCpuMs) / elapsedMs).toFixed(1)} %`;
  // The process's CPU less the engine workers' (and less the world thread's, which process.cpuUsage counts too: not
  // separable here, so the figure is labelled as the process's).
  const processCpu = `process CPU ${((100 * (cpu.user + cpu.system)) / 1000 / elapsedMs).toFixed(1)} % (world thread included)`;
  const played = after.played - before.played;
  const lost = after.lost - before.lost;
  const ticks = after.ticks - before.ticks;
  const latePct = (100 * (after.lateTicks - before.lateTicks)) / Math.max(1, ticks);
  (byKind.get(watch) ?? byKind.set(watch, []).get(watch)!).push({ latePct, lossPct: (100 * lost) / Math.max(1, played + lost), loopP99Ms: delay.percentile(99) / 1e6 });
  return [
    `${name.padEnd(16)}`,
    `loss ${((100 * lost) / Math.max(1, played + lost)).toFixed(3)} %`,
    `concealed ${after.concealed - before.concealed}`,
    `late ticks ${after.lateTicks - before.lateTicks}/${ticks} (${latePct.toFixed(2)} %)`,
    engineCpu,
    processCpu,
    `control-plane loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
    watched
      ? `streams ${(watched.bytes / seconds / 1024).toFixed(1)} KiB/s in ${watched.events} events, /metrics ${scrape.count} scrapes mean ${(scrape.ms / Math.max(1, scrape.count)).toFixed(1)} ms`
      : watch === 'sample'
        ? 'engine sampled every second, no console'
        : 'no console, no scrapes',
  ].join(' | ');
}

process.stdout.write(`${pairs} mirrored calls through the simulator, ${workers} engine workers, ${seconds} s per phase, ${rounds} rounds (CPU in % of one core)\n`);
// Closed and open alternate, so drift over the run (and the machine's own noise) shows as spread within each kind.
for (let round = 0; round < rounds; round++) {
  process.stdout.write(`${await phase('console closed', 'none')}\n`);
  process.stdout.write(`${await phase('console open', 'console')}\n`);
}
process.stdout.write(`${await phase('console closed', 'none')}\n`);
process.stdout.write(`${await phase('engine sampled', 'sample')}\n`);
const spread = (kind: 'none' | 'sample' | 'console', pick: (p: { latePct: number; lossPct: number; loopP99Ms: number }) => number, digits: number): string => {
  const values = (byKind.get(kind) ?? []).map(pick);
  if (values.length === 0) return '-';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `${mean.toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
};
for (const [kind, label] of [['none', 'closed'], ['console', 'open']] as const) {
  process.stdout.write(`${label.padEnd(7)} ${byKind.get(kind)?.length ?? 0} phases: late ticks ${spread(kind, (p) => p.latePct, 2)} %, loss ${spread(kind, (p) => p.lossPct, 3)} %, control-plane loop p99 ${spread(kind, (p) => p.loopP99Ms, 1)} ms\n`);
}
await node.close();
await ask({ type: 'close' }, 'closed');
await world.terminate();
