import { readFileSync } from 'node:fs';

export interface GoldenDatagram {
  frame: number;
  hex: string;
}

export interface GoldenFlow {
  flow: string;
  expected: { packets: number; payloadType: number; ssrc: number; payloadLength: number };
  first: GoldenDatagram[];
  last: GoldenDatagram;
}

export interface GoldenCapture {
  source: string;
  flows: GoldenFlow[];
  rtcp: (GoldenDatagram & { flow: string })[];
}

const DATA_DIR = new URL('../../../data/rtp/', import.meta.url);

export function loadCapture(name: 's1_pair_caller_hangup' | 's5_slin16'): GoldenCapture {
  return JSON.parse(readFileSync(new URL(`${name}.golden.json`, DATA_DIR), 'utf8')) as GoldenCapture;
}

export function loadSlin16Payloads(): Buffer[] {
  return readFileSync(new URL('s5_slin16.first10_payloads_hex.txt', DATA_DIR), 'utf8')
    .trim()
    .split('\n')
    .map((line) => Buffer.from(line, 'hex'));
}

export function flowNamed(capture: GoldenCapture, flow: string): GoldenFlow {
  const found = capture.flows.find((f) => f.flow === flow);
  if (found === undefined) throw new Error(`no flow ${flow} in ${capture.source}`);
  return found;
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
