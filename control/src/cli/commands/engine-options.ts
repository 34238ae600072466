import { ConfigError } from '../../../../common/src/errors.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { EngineConfigInput } from '../../../../engine/src/index.js';
import { DATAGRAM_IO_CHOICES, type DatagramIoChoice } from '../../../../engine/src/index.js';

/** Engine flags shared by every command that runs an engine; env vars give the defaults. */
export function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--workers <n>', 'worker threads owning pair sockets').env('TANDEM_WORKERS').argParser(parseInteger))
    .addOption(new Option('--bind <address>', 'address leg sockets bind to').env('TANDEM_BIND_ADDRESS').default('127.0.0.1'))
    .addOption(new Option('--ports <min-max>', 'UDP port range for leg sockets').env('TANDEM_PORT_RANGE').default('21000-29999'))
    .addOption(new Option('--codec <name>', 'default leg format').choices(['ulaw', 'alaw', 'slin', 'slin16']).env('TANDEM_CODEC').default('ulaw'))
    .addOption(
      new Option('--io <path>', 'how RTP legs reach the network: native (a batched UDP port per worker, recvmmsg/sendmmsg), dgram (node:dgram, a socket per leg), auto (native when the addon loads)')
        .choices(DATAGRAM_IO_CHOICES)
        .env('TANDEM_IO')
        .default('auto'),
    )
    .addOption(
      new Option('--worker-nice <n>', 'nice value of the worker threads that pace RTP (-20..19; below 0 needs CAP_SYS_NICE) (default: -5)')
        .env('TANDEM_WORKER_NICE')
        .argParser(parseInteger),
    );
}

export interface EngineFlags {
  workers?: number;
  bind: string;
  ports: string;
  codec: 'ulaw' | 'alaw' | 'slin' | 'slin16';
  workerNice?: number;
  io: DatagramIoChoice;
}

/** Parses a `--ports min-max` value; range checks are the engine config's job. */
export function parsePortRange(text: string): { min: number; max: number } {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (!match) throw new ConfigError('ports', `must look like 21000-29999, got ${JSON.stringify(text)}`);
  return { min: Number(match[1]), max: Number(match[2]) };
}

export function engineConfigFromFlags(flags: EngineFlags): EngineConfigInput {
  return {
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    bindAddress: flags.bind,
    portRange: parsePortRange(flags.ports),
    codec: flags.codec,
    io: flags.io,
    ...(flags.workerNice !== undefined ? { workerNice: flags.workerNice } : {}),
  };
}

/** For `argParser`: commander then names the flag, or the variable the value came from, in its error. */
export function parseInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}
