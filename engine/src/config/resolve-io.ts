import { isIPv4 } from 'node:net';
import { ConfigError } from '../../../common/src/errors.js';
import type { DatagramIo } from '../transport/datagram/datagram-port.js';
import { resolveDatagramIo } from '../transport/datagram/open-datagram-port.js';
import type { EngineConfig } from './engine-config.js';

/**
 * Turns the engine's `io` setting into what this host can do. 'auto' is the
 * addon when it loads, else node:dgram with one logged notice per thread (the
 * engine resolves once on its main thread and gives every worker the explicit
 * answer, so a node logs it once). 'native' that cannot load throws
 * NativeIoUnavailableError with the reason. An IPv6 bind address has no
 * batched port (the addon is IPv4 only): dgram for 'auto', an error for 'native'.
 */
export function resolveEngineIo(config: Pick<EngineConfig, 'io' | 'bindAddress'>): DatagramIo {
  if (!isIPv4(config.bindAddress)) {
    if (config.io === 'native') throw new ConfigError('io', `native (batched) socket I/O is IPv4 only; bindAddress is ${config.bindAddress}`);
    return 'dgram';
  }
  return resolveDatagramIo(config.io).io;
}
