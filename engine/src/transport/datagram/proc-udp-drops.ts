import { readFileSync } from 'node:fs';

/**
 * The kernel's per-socket drop counter (datagrams refused because the receive
 * buffer was full) for the IPv4 UDP socket bound to `ipv4`:`port`, read from
 * /proc/net/udp. The native port gets the same figure from SO_RXQ_OVFL; this
 * is how the dgram port reports it. Null when not on Linux or not found.
 */
export function procUdpDrops(ipv4: number, port: number, table = '/proc/net/udp'): number | null {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return null;
  }
  // The address as the kernel prints it: the network-order bytes read as a little-endian word.
  const le = (((ipv4 & 255) << 24) | (((ipv4 >>> 8) & 255) << 16) | (((ipv4 >>> 16) & 255) << 8) | ((ipv4 >>> 24) & 255)) >>> 0;
  const local = `${le.toString(16).toUpperCase().padStart(8, '0')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields[1] === local && fields.length >= 13) {
      const drops = Number(fields[fields.length - 1]);
      return Number.isSafeInteger(drops) ? drops : null;
    }
  }
  return null;
}
