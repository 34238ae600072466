import { randomUUID } from 'node:crypto';
import type { CallLegRecord, CallRecord } from '../../../control/src/records/index.js';

export function legFixture(over: Partial<CallLegRecord> = {}): CallLegRecord {
  return {
    ext: '7000',
    rxPackets: 500,
    rxBytes: 500 * 172,
    txPackets: 498,
    txBytes: 498 * 172,
    txErrors: 0,
    dropped: { FOREIGN_SOURCE: 2 },
    played: 495,
    lost: 5,
    lossPct: 1,
    late: 1,
    duplicates: 0,
    reordered: 1,
    concealed: 5,
    overflow: 0,
    accelerated: 0,
    decodeErrors: 0,
    resyncs: 0,
    jitterMeanMs: 1.5,
    jitterMaxMs: 4.25,
    depthMeanMs: 24,
    depthMaxMs: 60,
    delayMs: 44,
    r: 88.3,
    mos: 4.29,
    ...over,
  };
}

/** A finished 10 s call on pair_001 that the caller ended; `over` changes any field. */
export function recordFixture(over: Partial<CallRecord> = {}): CallRecord {
  const endedAt = over.endedAt ?? '2026-12-07T10:00:10.000Z';
  return {
    id: randomUUID(),
    pairId: 'pair_001',
    callId: '1796657390.0',
    extA: '7000',
    extB: '7001',
    caller: '5551234',
    node: 'tandem-1',
    startedAt: new Date(Date.parse(endedAt) - 10_000).toISOString(),
    answeredAt: new Date(Date.parse(endedAt) - 9_500).toISOString(),
    endedAt,
    durationMs: 10_000,
    talkMs: 9_500,
    setupMs: 420,
    teardownMs: 12,
    hangupBy: 'caller',
    hangupCause: null,
    teardownReason: 'caller-hangup',
    codec: 'ulaw',
    translated: false,
    mosA: 4.29,
    mosB: 4.38,
    legs: { A: legFixture(), B: legFixture({ ext: '7001', lost: 0, lossPct: 0, mos: 4.38, r: 91.7, dropped: {} }) },
    recording: null,
    ...over,
  };
}
