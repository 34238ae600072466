/** The shapes the node sends (control/src/console/live-calls.ts and the call records API). */
export interface LiveLeg {
  ext: string;
  rxPps: number;
  txPps: number;
  lossPct: number;
  jitterMs: number;
  depthMs: number;
  concealed: number;
  mos: number | null;
  levelDbfs: number;
  clipped: number;
}

export interface LiveCall {
  pairId: string;
  callId: string;
  caller: string | null;
  extA: string;
  extB: string;
  state: string;
  startedAt: number;
  answeredAt: number | null;
  languages: { A: string; B: string } | null;
  legs: { A: LiveLeg; B: LiveLeg } | null;
}

export interface TimelineEntry {
  at: number;
  what: string;
}

export interface Transcript {
  pairId: string;
  callId: string | null;
  direction: string;
  srcExt: string;
  language: string;
  targetLanguage?: string;
  text: string;
  translatedText?: string | null;
  final: boolean;
  utteranceId?: string;
  at?: string;
}

export interface CallRecord {
  id: string;
  pairId: string;
  callId: string;
  extA: string;
  extB: string;
  caller: string | null;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  setupMs: number | null;
  hangupBy: string;
  hangupCause: number | null;
  teardownReason: string;
  codec: string;
  translated: boolean;
  mosA: number | null;
  mosB: number | null;
  legs: Record<string, { rxPackets: number; lossPct: number; jitterMeanMs: number; mos: number | null }> | null;
}
