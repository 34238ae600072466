import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { errorMessage } from '../../../common/src/errors.js';
import { parseRelayArgs, parseRelayCommand, readyLine, RelayUsageError, statsLine, type NodeRelayArgs, type RelaySample } from './node-relay-cli.js';
import { RelayThreads } from './node-relay-threads.js';

/**
 * The Node.js floor for bench:native: a bare dgram relay of the same shape as
 * native-bench/relay.c in socket mode (one connected UDP socket per leg, pairs
 * sharded over worker threads, each packet parsed, µ-law decoded and encoded,
 * re-packetized and sent to the other leg's peer the moment it arrives), with
 * relay.c's command line, stdin commands and stdout lines, so RelayProcess
 * and the relay load test drive it exactly like the C relay. Against it,
 * Tandem's figure shows its own overhead; against C, it shows what dgram,
 * libuv and V8 cost. `--mode node-batch` is relay.c's mmsg shape instead:
 * one DatagramPort per thread (`--io native`: the udp_batch addon; `--io
 * dgram`), legs told apart by their peers' addresses (bench:batch-io). Run as
 * `node --import tsx node-relay.ts` from the sources, or `node
 * node-relay.js` from the build.
 *
 * It exits on SIGTERM/SIGINT/SIGHUP, when stdin closes (unless
 * --ignore-stdin) or after --seconds, whichever comes first.
 */
type StopReason = 'signal' | 'stdin-closed' | 'time-limit';

function writeLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(message: string, exitCode: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

async function run(args: NodeRelayArgs): Promise<void> {
  let badCommands = 0;
  const threads = await RelayThreads.start({
    pairs: args.pairs,
    threads: args.threads,
    bindAddress: args.bindAddress,
    basePort: args.basePort,
    socketBufferBytes: args.socketBufferBytes,
    ...(args.batch === undefined ? {} : { batch: args.batch }),
    onFatal: (err) => fail(`relay: ${err.message}`, 1),
  }).catch((err: unknown) => fail(`relay: ${errorMessage(err)}`, 1));
  const sample = async (): Promise<RelaySample> => {
    const refusedSoFar = badCommands;
    const counters = await threads.counters();
    return { wallS: performance.now() / 1000, cpu: process.cpuUsage(), counters, badCommands: refusedSoFar };
  };

  let stopping = false;
  const stop = async (reason: StopReason): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timeLimit);
    const counters = await threads.close();
    const final = statsLine('final', reason, args, { wallS: performance.now() / 1000, cpu: process.cpuUsage(), counters, badCommands });
    // Exit only once the line is out: the reader waits for it.
    process.stdout.write(`${final}\n`, () => process.exit(0));
  };
  // The time limit counts from process start, as relay.c's does (performance.now() is relative to it).
  const timeLimit = setTimeout(() => void stop('time-limit'), Math.max(0, args.seconds * 1000 - performance.now()));
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => void stop('signal'));

  writeLine(readyLine(args, threads.legs));
  if (args.ignoreStdin) return;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (stopping) return;
    const command = parseRelayCommand(line, args.pairs);
    switch (command.type) {
      case 'none':
        return;
      case 'stats':
        // Threads answer in order, so stats lines leave in the order they were asked for.
        void sample().then((s) => {
          if (!stopping) writeLine(statsLine('stats', null, args, s));
        });
        return;
      case 'remote':
        threads.setPeer(command.pair, command.side, command.address, command.port);
        return;
      case 'bad':
        process.stderr.write(`relay: bad command: ${command.line.slice(0, 80)}\n`);
        badCommands++;
        return;
    }
  });
  lines.once('close', () => void stop('stdin-closed'));
}

function main(): void {
  let args: NodeRelayArgs;
  try {
    args = parseRelayArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof RelayUsageError) fail(err.message, err.exitCode);
    throw err;
  }
  // Writing to a reader that went away must not crash the relay before it has stopped its threads.
  process.stdout.on('error', () => undefined);
  run(args).catch((err: unknown) => fail(`relay: ${errorMessage(err)}`, 1));
}

main();
