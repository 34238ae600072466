/**
 * A tiny reader for classic pcap files (not pcapng) with Ethernet link type and
 * IPv4/UDP frames, enough to pull RTP/RTCP datagrams out of the tcpdump
 * captures recorded against real Asterisk. Anything else is skipped.
 */

export interface UdpDatagram {
  /** 1-based frame number, as Wireshark shows it. */
  frame: number;
  timeUs: number;
  src: string;
  dst: string;
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;

export function readPcapUdp(file: Buffer): UdpDatagram[] {
  const magic = file.readUInt32LE(0);
  let littleEndian: boolean;
  if (magic === 0xa1b2c3d4) littleEndian = true;
  else if (magic === 0xd4c3b2a1) littleEndian = false;
  else throw new Error(`not a microsecond classic pcap file (magic 0x${magic.toString(16)})`);
  const u32 = (at: number): number => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`unsupported pcap link type ${linkType}`);

  const out: UdpDatagram[] = [];
  let at = 24;
  let frame = 0;
  while (at + 16 <= file.length) {
    frame++;
    const timeUs = u32(at) * 1_000_000 + u32(at + 4);
    const capturedLength = u32(at + 8);
    const data = file.subarray(at + 16, at + 16 + capturedLength);
    at += 16 + capturedLength;
    const udp = udpOf(data);
    if (udp !== null) out.push({ frame, timeUs, ...udp });
  }
  return out;
}

function udpOf(frame: Buffer): Omit<UdpDatagram, 'frame' | 'timeUs'> | null {
  if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800) return null;
  const ip = frame.subarray(14);
  const headerLength = (ip[0]! & 0x0f) * 4;
  if (ip[0]! >> 4 !== 4 || ip[9] !== 17) return null;
  const addr = (at: number): string => `${ip[at]}.${ip[at + 1]}.${ip[at + 2]}.${ip[at + 3]}`;
  const udp = ip.subarray(headerLength);
  const udpLength = udp.readUInt16BE(4);
  return {
    src: `${addr(12)}:${udp.readUInt16BE(0)}`,
    dst: `${addr(16)}:${udp.readUInt16BE(2)}`,
    payload: Buffer.from(udp.subarray(8, udpLength)),
  };
}
