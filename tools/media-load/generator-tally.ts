import type { CoreResult, GeneratorProgress, WindowSample } from './generator-protocol.js';
import { jitterHistogram, latencyHistogram, type Histogram } from './histogram.js';

/**
 * Everything a generator core counts and measures, per direction where it matters ([0] = A→B, [1] = B→A), and the
 * progress and result built from it. Public fields: the send and receive paths bump them directly.
 */
export class GeneratorTally {
  readonly latency: [Histogram, Histogram] = [latencyHistogram(), latencyHistogram()];
  readonly pacing = jitterHistogram();
  readonly sendLateness = latencyHistogram();
  readonly sent: [number, number] = [0, 0];
  readonly received: [number, number] = [0, 0];
  readonly duplicates: [number, number] = [0, 0];
  readonly impairmentDropped: [number, number] = [0, 0];
  sentTotal = 0;
  receivedTotal = 0;
  badPackets = 0;
  untagged = 0;
  stale = 0;
  skippedSends = 0;
  socketErrors = 0;
  reordered = 0;
  delayed = 0;
  delayOverflow = 0;
  maxSendLateMs = 0;

  progress(): GeneratorProgress {
    return {
      sent: this.sentTotal,
      received: this.receivedTotal,
      measuredSent: this.sent[0] + this.sent[1],
      measuredReceived: this.received[0] + this.received[1],
      maxSendLateMs: this.maxSendLateMs,
    };
  }

  result(windows: readonly WindowSample[]): CoreResult {
    const direction = (d: 0 | 1): CoreResult['aToB'] => ({
      sent: this.sent[d],
      received: this.received[d],
      duplicates: this.duplicates[d],
      latency: this.latency[d].snapshot(),
      impairmentDropped: this.impairmentDropped[d],
    });
    return {
      aToB: direction(0),
      bToA: direction(1),
      pacing: this.pacing.snapshot(),
      sendLateness: this.sendLateness.snapshot(),
      sentTotal: this.sentTotal,
      receivedTotal: this.receivedTotal,
      badPackets: this.badPackets,
      untagged: this.untagged,
      stale: this.stale,
      skippedSends: this.skippedSends,
      socketErrors: this.socketErrors,
      reordered: this.reordered,
      delayed: this.delayed,
      delayOverflow: this.delayOverflow,
      windows: [...windows],
    };
  }
}
