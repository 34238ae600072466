/**
 * One-off extraction of the golden RTP/RTCP fixtures in test/data/rtp/ from the
 * recordings of real Asterisk 22.10.1. Tests never run this and never read the
 * recordings; it is kept so the fixtures can be regenerated and audited:
 *
 *   npx tsx test/engine/rtp/support/extract-golden.ts <observed-dir> test/data/rtp
 *
 * Per RTP flow it keeps the first FIRST_N datagrams and the last one, and it
 * keeps every RTCP datagram. The per-flow expectations (SSRC, payload type,
 * payload length, packet count) are copied from the recorder's own
 * rtp_analysis.json, an independent decoding, so the tests check our parser
 * against it rather than against itself.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcapUdp, type UdpDatagram } from './pcap.js';

const FIRST_N = 20;

interface AnalysisFlow {
  packets: number;
  pt: Record<string, number>;
  ssrc?: Record<string, number>;
  payload_len?: Record<string, number>;
}

function isRtcpish(payload: Buffer): boolean {
  return payload.length >= 4 && payload[0]! >> 6 === 2 && payload[1]! >= 192 && payload[1]! <= 223;
}

function isRtpish(payload: Buffer): boolean {
  return payload.length >= 12 && payload[0]! >> 6 === 2 && !isRtcpish(payload);
}

function onlyKey(record: Record<string, number> | undefined, what: string): string {
  const keys = Object.keys(record ?? {});
  if (keys.length !== 1) throw new Error(`expected exactly one ${what}, got ${keys.join(',')}`);
  return keys[0]!;
}

function extract(observedDir: string, scenario: string): unknown {
  const pcapPath = join(scenario, 'capture.pcap');
  const datagrams = readPcapUdp(readFileSync(join(observedDir, pcapPath)));
  const analysis = JSON.parse(readFileSync(join(observedDir, scenario, 'rtp_analysis.json'), 'utf8')) as {
    flows: Record<string, AnalysisFlow>;
  };
  const byFlow = new Map<string, UdpDatagram[]>();
  for (const d of datagrams) {
    const key = `${d.src} -> ${d.dst}`;
    if (!(key in analysis.flows)) continue; // SIP and anything the recorder did not classify as media
    const list = byFlow.get(key) ?? [];
    list.push(d);
    byFlow.set(key, list);
  }
  const flows = [];
  const rtcp = [];
  for (const [key, list] of byFlow) {
    const flow = analysis.flows[key]!;
    const hexOf = (d: UdpDatagram): { frame: number; hex: string } => ({ frame: d.frame, hex: d.payload.toString('hex') });
    if ('RTCP' in flow.pt) {
      for (const d of list) {
        if (!isRtcpish(d.payload)) throw new Error(`${key} frame ${d.frame} is not RTCP`);
        rtcp.push({ flow: key, ...hexOf(d) });
      }
      continue;
    }
    if (list.length !== flow.packets || !list.every((d) => isRtpish(d.payload))) {
      throw new Error(`${key}: pcap has ${list.length} datagrams, analysis says ${flow.packets}`);
    }
    flows.push({
      flow: key,
      expected: {
        packets: flow.packets,
        payloadType: Number(onlyKey(flow.pt, 'payload type')),
        ssrc: parseInt(onlyKey(flow.ssrc, 'SSRC'), 16),
        payloadLength: Number(onlyKey(flow.payload_len, 'payload length')),
      },
      first: list.slice(0, FIRST_N).map(hexOf),
      last: hexOf(list[list.length - 1]!),
    });
  }
  return { source: `observed/${pcapPath} (real Asterisk 22.10.1, 127.0.0.1); expectations from observed/${scenario}/rtp_analysis.json`, flows, rtcp };
}

const [observedDir, outDir] = process.argv.slice(2);
if (observedDir === undefined || outDir === undefined) throw new Error('usage: extract-golden.ts <observed-dir> <out-dir>');
for (const scenario of ['s1_pair_caller_hangup', 's5_slin16']) {
  writeFileSync(join(outDir, `${scenario}.golden.json`), JSON.stringify(extract(observedDir, scenario), null, 1) + '\n');
}
// The raw slin16 payloads the recorder dumped, to check payload extraction byte for byte.
const slin = readFileSync(join(observedDir, 's5_slin16', 'slin16_first100_payloads_hex.txt'), 'utf8').trim().split('\n');
writeFileSync(join(outDir, 's5_slin16.first10_payloads_hex.txt'), slin.slice(0, 10).join('\n') + '\n');
