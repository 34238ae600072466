import type { ProviderStageStats } from '../provider-stage.js';

export interface OpenAiRealtimeStageStats extends ProviderStageStats {
  /** Sessions the service confirmed with session.created. */
  sessions: number;
  /** Bytes waiting in the socket right now. */
  socketBufferedBytes: number;
  /** Audio of cancelled responses that arrived anyway and was discarded (samples, 24 kHz). */
  samplesDiscarded: number;
  responsesStarted: number;
  responsesDone: number;
  responsesCancelled: number;
  /** Playback interrupted because the speaker started again. */
  bargeIns: number;
  commits: number;
  /** speechEnded() calls that committed nothing (less than 100 ms of audio since the last commit). */
  commitsSkipped: number;
  marksEmitted: number;
  /** Well-formed events of types this stage does not use. */
  ignoredMessages: number;
}

/** The counters the realtime stage keeps itself (ProviderStage keeps the rest; the socket gauge is read when asked). */
export type RealtimeCounters = Omit<OpenAiRealtimeStageStats, keyof ProviderStageStats | 'socketBufferedBytes'>;

export function newRealtimeCounters(): RealtimeCounters {
  return {
    sessions: 0,
    samplesDiscarded: 0,
    responsesStarted: 0,
    responsesDone: 0,
    responsesCancelled: 0,
    bargeIns: 0,
    commits: 0,
    commitsSkipped: 0,
    marksEmitted: 0,
    ignoredMessages: 0,
  };
}
