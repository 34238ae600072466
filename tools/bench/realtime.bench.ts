/**
 * Benchmarks of the OpenAI Realtime stage's per-tick work that runs without a
 * network: the 24 kHz resamplers, building one outbound append (resample,
 * base64, JSON), and taking in one 100 ms audio delta (parse, base64 check and
 * decode, queue). `addOpenAiRealtimeBenches` follows tools/bench's
 * suites; wire it into tools/bench/run.ts to include it in `npm run bench`.
 */
import type { Bench } from 'tinybench';
import { Downsampler24to16, Downsampler24to8, Upsampler16to24, Upsampler8to24 } from '../../engine/src/codec/resample-24k.js';
import { PlaybackQueue } from '../../engine/src/pipeline/streaming/playback-queue.js';
import { appendEventJson, decodeBase64Audio, tryParseServerEvent } from '../../engine/src/pipeline/providers/openai-realtime/protocol.js';

function sine(count: number, rate: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return out;
}

export function addOpenAiRealtimeBenches(bench: Bench): void {
  const pcm8 = sine(160, 8000);
  const pcm16 = sine(320, 16000);
  const pcm24 = sine(480, 24000);
  const up8 = new Upsampler8to24();
  const up16 = new Upsampler16to24();
  const down8 = new Downsampler24to8();
  const down16 = new Downsampler24to16();
  const out24 = new Int16Array(480);
  const out8 = new Int16Array(160);
  const out16 = new Int16Array(320);
  const bytes = Buffer.alloc(960);

  const delta = Buffer.alloc(4800);
  for (let i = 0; i < 2400; i++) delta.writeInt16LE(Math.round(9000 * Math.sin(i / 7)), 2 * i);
  const deltaEvent = Buffer.from(
    JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'i', output_index: 0, content_index: 0, delta: delta.toString('base64') }),
  );
  const queue = new PlaybackQueue(24000 * 30);

  bench
    .add('resample 8k->24k 20ms', () => {
      up8.process(pcm8, 160, out24);
    })
    .add('resample 16k->24k 20ms', () => {
      up16.process(pcm16, 320, out24);
    })
    .add('resample 24k->8k 20ms', () => {
      down8.process(pcm24, 480, out8);
    })
    .add('resample 24k->16k 20ms', () => {
      down16.process(pcm24, 480, out16);
    })
    .add('realtime append 20ms@8k (resample+base64+json)', () => {
      const n = up8.process(pcm8, 160, out24);
      for (let i = 0, p = 0; i < n; i++, p += 2) {
        bytes[p] = out24[i]!;
        bytes[p + 1] = out24[i]! >> 8;
      }
      if (appendEventJson(bytes.toString('base64', 0, 2 * n)).length === 0) throw new Error('unreachable');
    })
    .add('realtime delta in 100ms (parse+decode+queue+drain)', () => {
      const parsed = tryParseServerEvent(deltaEvent);
      if (!parsed.ok || parsed.message.type !== 'response.output_audio.delta') throw new Error('bad bench event');
      const decoded = decodeBase64Audio(parsed.message.delta);
      if (!decoded.ok) throw new Error('bad bench audio');
      queue.pushS16LE(decoded.bytes, 0, decoded.bytes.length);
      queue.read(out24, 0, 480);
      queue.read(out24, 0, 480);
      queue.read(out24, 0, 480);
      queue.read(out24, 0, 480);
      queue.read(out24, 0, 480);
    });
}
