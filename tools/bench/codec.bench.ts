/**
 * Codec hot-path benchmarks: one 20 ms frame per iteration, all buffers
 * allocated here once, so the numbers show per-frame cost without GC noise.
 */
import type { Bench } from 'tinybench';
import { decodeUlaw, Downsampler16to8, encodeUlaw, Upsampler8to16 } from '../../engine/src/codec/index.js';

export function addCodecBenches(bench: Bench): void {
  const ulawFrame = new Uint8Array(160);
  for (let i = 0; i < ulawFrame.length; i++) ulawFrame[i] = (i * 37) & 0xff;
  const pcm8 = new Int16Array(160);
  for (let i = 0; i < pcm8.length; i++) pcm8[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  const pcm16 = new Int16Array(320);
  for (let i = 0; i < pcm16.length; i++) pcm16[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  const decoded = new Int16Array(160);
  const encoded = new Uint8Array(160);
  const up = new Upsampler8to16();
  const upOut = new Int16Array(320);
  const down = new Downsampler16to8();
  const downOut = new Int16Array(160);

  bench
    .add('ulaw decode 20ms', () => {
      decodeUlaw(ulawFrame, 0, 160, decoded);
    })
    .add('ulaw encode 20ms', () => {
      encodeUlaw(pcm8, 160, encoded, 0);
    })
    .add('resample 8k->16k 20ms', () => {
      up.process(pcm8, 160, upOut);
    })
    .add('resample 16k->8k 20ms', () => {
      down.process(pcm16, 320, downOut);
    });
}
