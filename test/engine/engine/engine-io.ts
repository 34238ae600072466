import type { DatagramIo } from '../../../engine/src/transport/datagram/index.js';

/**
 * Both ways RTP legs reach the network, for describe.each over the engine's
 * key tests: a batched port per worker (the udp_batch addon; the test fails
 * when it is not built) and a node:dgram socket per leg.
 */
export const ENGINE_IO: readonly DatagramIo[] = ['native', 'dgram'];
