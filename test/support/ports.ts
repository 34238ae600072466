import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A loopback port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface PortRange {
  min: number;
  max: number;
}

/*
 * Engine port ranges for tests. The engine binds leg sockets inside a configured
 * range (it cannot take kernel-chosen ports: Asterisk-facing ports come from a
 * range an operator opens), so a test that hard-codes one collides with another
 * test file, or with a second test run on the same host. Instead each test takes a
 * random range that is free right now: below the kernel's ephemeral ports (so
 * bind(0) sockets never land in it afterwards) and above Asterisk's default RTP
 * range. Every port is probed, so a small range (an exhaustion test) really holds
 * as many ports as it says.
 */
const RANGE_FLOOR = 20_000;
const RANGE_CEILING = 32_767;

async function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return await new Promise<boolean>((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** A random range of `size` UDP ports on 127.0.0.1, each free when probed. */
export async function freePortRange(size: number): Promise<PortRange> {
  if (!Number.isInteger(size) || size < 1 || size > RANGE_CEILING - RANGE_FLOOR) throw new RangeError(`size must be 1..${RANGE_CEILING - RANGE_FLOOR}, got ${size}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = RANGE_FLOOR + Math.floor(Math.random() * (RANGE_CEILING - RANGE_FLOOR - size + 1));
    const range = { min, max: min + size - 1 };
    let free = true;
    // Sequential binds: a thousand of them take a few ms, and no burst of sockets at once.
    for (let port = range.min; port <= range.max && free; port++) free = await udpPortFree(port);
    if (free) return range;
  }
  throw new Error(`no free range of ${size} UDP ports in ${RANGE_FLOOR}-${RANGE_CEILING} after 50 tries`);
}
