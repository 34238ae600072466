import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import { encodeUlaw, decodeUlaw } from '../../../engine/src/codec/g711.js';

/** Real speech for the pipeline: sentences spoken by espeak-ng, separated by silence, as 20 ms µ-law frames. */
export interface SpeechScript {
  frames: Buffer[];
  /** Where each sentence's audio really starts and ends (ms from the first frame). */
  spans: Array<{ startMs: number; endMs: number }>;
}

export async function speechScript(sentences: string[], options: { gapMs?: number; leadMs?: number; tailMs?: number } = {}): Promise<SpeechScript> {
  const rate = 8000;
  const gap = Math.round(((options.gapMs ?? 1500) * rate) / 1000);
  const lead = Math.round(((options.leadMs ?? 600) * rate) / 1000);
  const tail = Math.round(((options.tailMs ?? 1500) * rate) / 1000);
  const spoken = await Promise.all(sentences.map((text) => synthesizeSpeechSamples(text, { voice: 'en', sampleRate: rate })));
  const parts: Int16Array[] = [new Int16Array(lead)];
  const spans: SpeechScript['spans'] = [];
  let at = lead;
  spoken.forEach((pcm, i) => {
    const [first, last] = nonzeroSpan(pcm);
    spans.push({ startMs: ((at + first) * 1000) / rate, endMs: ((at + last) * 1000) / rate });
    parts.push(pcm);
    at += pcm.length;
    const pad = i === spoken.length - 1 ? tail : gap;
    parts.push(new Int16Array(pad));
    at += pad;
  });
  const all = new Int16Array(at);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const frames: Buffer[] = [];
  for (let i = 0; i + 160 <= all.length; i += 160) {
    const out = Buffer.alloc(160);
    encodeUlaw(all.subarray(i, i + 160), 160, out, 0);
    frames.push(out);
  }
  return { frames, spans };
}

function nonzeroSpan(pcm: Int16Array): [number, number] {
  let first = 0;
  while (first < pcm.length && Math.abs(pcm[first]!) < 64) first++;
  let last = pcm.length - 1;
  while (last > first && Math.abs(pcm[last]!) < 64) last--;
  return [first, last];
}

/** RMS of a µ-law payload. */
export function ulawRms(payload: Buffer): number {
  const pcm = new Int16Array(payload.length);
  decodeUlaw(payload, 0, payload.length, pcm);
  let acc = 0;
  for (const v of pcm) acc += v * v;
  return Math.sqrt(acc / Math.max(1, pcm.length));
}
