import type { Bench } from 'tinybench';
import { SourceLearner } from '../../engine/src/session/source-learner.js';

/**
 * Strict RTP runs on every received packet: the steady state (the current
 * stream) and the probation path (a spoofer interleaved with it).
 */
export function addSourceBenches(bench: Bench): void {
  const steady = new SourceLearner({ packets: 4 }, true);
  let seq = 0;
  let now = 0;
  bench.add('source learner: packet of the current stream', () => {
    seq = (seq + 1) & 0xffff;
    now += 20;
    if (steady.observe(0x11223344, seq, now, '10.0.0.5', 14000) !== 'accept') throw new Error('not accepted');
  });

  const attacked = new SourceLearner({ packets: 4 }, true);
  let realSeq = 0;
  let spoofSeq = 0;
  let t = 0;
  let k = 0;
  bench.add('source learner: 4 spoofed packets per real one', () => {
    t += 5;
    if (k++ % 5 === 0) {
      realSeq = (realSeq + 1) & 0xffff;
      attacked.observe(0x11223344, realSeq, t, '10.0.0.5', 14000);
    } else {
      spoofSeq = (spoofSeq + 1) & 0xffff;
      if (attacked.observe(0x5bad0bad, spoofSeq, t, '10.0.0.5', 14000) !== 'probation') throw new Error('spoof accepted');
    }
  });
}
