import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../../common/src/errors.js';
import { setLogLevel } from '../../../common/src/logger.js';
import { writeReportFile } from '../../../common/src/report-file.js';
import { loadNativeAddon } from '../../../engine/src/transport/datagram/index.js';
import { ensureNativeBuild } from './native-build.js';
import { runRelayLoadTest, type RelayLoadReport, type RelayVariant } from './relay-load-test.js';
import { positiveIntFlag } from './flags.js';

/**
 * `npm run bench:batch-io`: what batched socket I/O buys a relay in Node.
 * The same per-packet work (parse, µ-law decode and encode, a fresh header:
 * relay.c's transcode) and the same load generator and schedule, five ways:
 *
 *   c-relay-mmsg       C, one socket per thread, recvmmsg/sendmmsg   (native-bench/relay --mode mmsg)
 *   c-relay-socket     C, one socket per leg, recvfrom/send          (native-bench/relay --mode socket)
 *   node-relay         Node, node:dgram, one connected socket per leg (today's engine shape)
 *   node-batch-native  Node, the udp_batch addon, one port per worker thread, demultiplexed by source
 *   node-batch-dgram   Node, the same shape on the node:dgram DatagramPort (the fallback)
 *
 * Rounds alternate the order of the variants (the machine's load drifts);
 * the median over rounds is reported with every round's figure. CPU per
 * relayed packet = the relay process's CPU time over the measured window ÷
 * packets relayed. `--json FILE` writes it all.
 */
const VARIANTS: readonly RelayVariant[] = ['c-relay-mmsg', 'c-relay-socket', 'node-relay', 'node-batch-native', 'node-batch-dgram'];

interface Options {
  pairs: number;
  seconds: number;
  rounds: number;
  threads: number;
  batch: number;
}

interface VariantSummary {
  variant: RelayVariant;
  cpu_us_per_packet_median: number;
  cpu_us_per_packet_rounds: number[];
  loss_pct_rounds: number[];
  rx_batch_mean_rounds: Array<number | null>;
  generator_send_late_p99_ms_rounds: number[];
  ratio_vs_c_mmsg: number | null;
  ratio_vs_c_socket: number | null;
  ratio_vs_node_relay: number | null;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function runVariant(variant: RelayVariant, o: Options, relayBinary: string): Promise<RelayLoadReport> {
  const common = { pairs: o.pairs, seconds: o.seconds, threads: o.threads, warmupSeconds: 2, basePort: 0 };
  switch (variant) {
    case 'c-relay-mmsg':
      return await runRelayLoadTest({ ...common, mode: 'mmsg', relayBinary });
    case 'c-relay-socket':
      return await runRelayLoadTest({ ...common, mode: 'socket', relayBinary });
    case 'node-relay':
      return await runRelayLoadTest({ ...common, mode: 'node' });
    case 'node-batch-native':
      return await runRelayLoadTest({ ...common, mode: 'node-batch', io: 'native', batch: o.batch });
    case 'node-batch-dgram':
      return await runRelayLoadTest({ ...common, mode: 'node-batch', io: 'dgram', batch: o.batch });
  }
}

function describe(r: RelayLoadReport): string {
  return (
    `${r.variant.padEnd(18)} ${String(r.pairs).padStart(5)} pairs  loss ${r.loss_pct.toFixed(3).padStart(7)} %  ` +
    `cpu ${r.cpu_pct.toFixed(1).padStart(5)} %  ${r.cpu_us_per_packet.toFixed(2).padStart(6)} µs/pkt  ` +
    `batch ${r.rx_batch_mean === null ? '   -' : r.rx_batch_mean.toFixed(1).padStart(4)}  generator late p99 ${r.generator_send_late_p99_ms} ms`
  );
}

export async function runBatchIoBench(o: Options, say: (line: string) => void): Promise<object> {
  const addon = loadNativeAddon();
  if (!addon.ok) throw new Error(`the udp_batch addon is needed: ${addon.reason}`);
  const { relay } = await ensureNativeBuild();
  const t0 = performance.now();
  const startLoad = loadavg().map((l) => round(l));
  const runs = new Map<RelayVariant, RelayLoadReport[]>(VARIANTS.map((v) => [v, []]));
  say(`batch-io: ${o.pairs} pairs (${o.pairs * 100} packets/s in and out), ${o.seconds} s measured per run, ${o.rounds} rounds, ${o.threads} relay threads`);
  for (let r = 0; r < o.rounds; r++) {
    // Each round starts at a different variant, so none is always first (or last) on a drifting machine.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length] as RelayVariant);
    say(`round ${r + 1}/${o.rounds} (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    for (const variant of order) {
      const report = await runVariant(variant, o, relay);
      runs.get(variant)?.push(report);
      say(`  ${describe(report)}`);
    }
  }
  const medianOf = (v: RelayVariant): number => median((runs.get(v) ?? []).map((r) => r.cpu_us_per_packet));
  const ratio = (a: number, b: number): number | null => (a > 0 && b > 0 ? round(a / b) : null);
  const cMmsg = medianOf('c-relay-mmsg');
  const cSocket = medianOf('c-relay-socket');
  const nodeRelay = medianOf('node-relay');
  const summary: VariantSummary[] = VARIANTS.map((variant) => {
    const rs = runs.get(variant) ?? [];
    const m = medianOf(variant);
    return {
      variant,
      cpu_us_per_packet_median: round(m, 3),
      cpu_us_per_packet_rounds: rs.map((r) => r.cpu_us_per_packet),
      loss_pct_rounds: rs.map((r) => r.loss_pct),
      rx_batch_mean_rounds: rs.map((r) => r.rx_batch_mean),
      generator_send_late_p99_ms_rounds: rs.map((r) => r.generator_send_late_p99_ms),
      ratio_vs_c_mmsg: ratio(m, cMmsg),
      ratio_vs_c_socket: ratio(m, cSocket),
      ratio_vs_node_relay: ratio(m, nodeRelay),
    };
  });
  say('');
  say(`CPU per relayed packet, median of ${o.rounds} rounds (ratios: this ÷ that; lower is better)`);
  say(`${'variant'.padEnd(18)}  µs/pkt   ÷ C mmsg  ÷ C socket  ÷ node-relay   rounds`);
  for (const s of summary) {
    const f = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)}×`);
    say(
      `${s.variant.padEnd(18)}  ${s.cpu_us_per_packet_median.toFixed(2).padStart(6)}  ${f(s.ratio_vs_c_mmsg).padStart(9)}  ${f(s.ratio_vs_c_socket).padStart(10)}  ` +
        `${f(s.ratio_vs_node_relay).padStart(11)}   ${s.cpu_us_per_packet_rounds.map((x) => x.toFixed(2)).join(', ')}`,
    );
  }
  return {
    command: `npm run bench:batch-io -- ${process.argv.slice(2).join(' ')}`.trim(),
    finished_at: new Date().toISOString(),
    elapsed_s: round((performance.now() - t0) / 1000, 1),
    machine: { cpu_model: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), node: process.version, loadavg: startLoad, loadavg_at_end: loadavg().map((l) => round(l)) },
    options: o,
    summary,
    runs: Object.fromEntries([...runs].map(([v, rs]) => [v, rs.map(({ relay_final: _, ...rest }) => rest)])),
  };
}

async function main(): Promise<void> {
  process.env['TANDEM_LOG_LEVEL'] ??= 'warn';
  setLogLevel(process.env['TANDEM_LOG_LEVEL']);
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      pairs: { type: 'string' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  const options: Options = {
    pairs: positiveIntFlag('pairs', values.pairs, 300),
    seconds: positiveIntFlag('seconds', values.seconds, 8),
    rounds: positiveIntFlag('rounds', values.rounds, 2),
    threads: positiveIntFlag('threads', values.threads, availableParallelism()),
    batch: positiveIntFlag('batch', values.batch, 64),
  };
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const result = await runBatchIoBench(options, say);
  if (values.json) {
    writeReportFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
    say(`wrote ${values.json}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:batch-io failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
