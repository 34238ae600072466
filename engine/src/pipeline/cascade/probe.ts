/**
 * `tandem verify-config` for a cascade: can each configured part work? The
 * recognizer's and ElevenLabs' WebSocket upgrades are tried with the key (101
 * = reachable and accepted; 401/403 = key refused) and closed without sending
 * audio or text; Apertium and DeepL translate one short sentence per
 * direction (DeepL bills those few characters); espeak-ng lists its voices and
 * finds one for each language; the Azure parts are in azure-probe.ts, the
 * Google ones in google/probe-google.ts. A direction's own parts
 * (`byDirection`) are probed in that direction's languages, and the fallback's
 * parts too, named so (`cascade B->A translator deepl`, `cascade fallback
 * translator apertium …`). Keys are never part of a result.
 */
import { errorMessage } from '../../../../common/src/errors.js';
import { EspeakSynthesizer } from '../providers/espeak-synthesizer.js';
import type { CascadeProvider, RecognizerConfig, SynthesizerConfig, TranslatorConfig } from '../translation/config.js';
import { ApertiumService } from './apertium-translator.js';
import { probeAzureRecognizer, probeAzureSynthesizer, probeAzureTranslator } from './azure-probe.js';
import { DeeplTranslator } from './deepl-translator.js';
import { probeGoogleRecognizer, probeGoogleSynthesizer, probeGoogleTranslator } from './google/probe-google.js';
import { PROBE_TIMEOUT_MS, host, tryUpgrade } from './probe-upgrade.js';

export interface CascadeProbe {
  name: string;
  ok: boolean;
  detail: string;
}

type Direction = { source: string; target: string };

export async function probeCascade(provider: CascadeProvider, languages: { A: string; B: string }): Promise<CascadeProbe[]> {
  const ab = { source: languages.A, target: languages.B };
  const ba = { source: languages.B, target: languages.A };
  const out: CascadeProbe[] = [
    await probeRecognizer(provider.recognizer, languages.A),
    ...(await probeTranslator(provider.translator, [ab, ba])),
    await probeSynthesizer(provider.synthesizer, [ab.target, ba.target]),
  ];
  // A part used by one direction only, or only while a cloud part is down, is probed as well: it fails a call just the same.
  const extra: Array<[string, { recognizer?: RecognizerConfig | undefined; translator?: TranslatorConfig | undefined; synthesizer?: SynthesizerConfig | undefined }, Direction[]]> = [
    ['A->B', provider.byDirection['A->B'] ?? {}, [ab]],
    ['B->A', provider.byDirection['B->A'] ?? {}, [ba]],
    ['fallback', provider.fallback ?? {}, [ab, ba]],
  ];
  for (const [label, parts, directions] of extra) {
    const named = (probe: CascadeProbe): CascadeProbe => ({ ...probe, name: probe.name.replace(/^cascade /, `cascade ${label} `) });
    if (parts.recognizer !== undefined) out.push(named(await probeRecognizer(parts.recognizer, directions[0]!.source)));
    if (parts.translator !== undefined) out.push(...(await probeTranslator(parts.translator, directions)).map(named));
    if (parts.synthesizer !== undefined) out.push(named(await probeSynthesizer(parts.synthesizer, directions.map((d) => d.target))));
  }
  return out;
}

async function probeRecognizer(r: RecognizerConfig, language: string): Promise<CascadeProbe> {
  if (r.kind === 'google') return probeGoogleRecognizer(r, language, PROBE_TIMEOUT_MS);
  if (r.kind === 'azure') return probeAzureRecognizer(r, language);
  const dg = new URL(r.url);
  dg.searchParams.set('model', r.model);
  dg.searchParams.set('language', language);
  dg.searchParams.set('encoding', 'mulaw');
  dg.searchParams.set('sample_rate', '8000');
  const rec = await tryUpgrade(dg.toString(), { Authorization: `Token ${r.apiKey}` });
  return { name: `cascade recognizer deepgram (${host(r.url)})`, ...rec };
}

/** Apertium is tried in every direction given (free, local); a billed or remote translator in the first only. */
async function probeTranslator(t: TranslatorConfig, directions: Direction[]): Promise<CascadeProbe[]> {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const d = directions[0]!;
  if (t.kind === 'google') return [await probeGoogleTranslator(t, d, PROBE_TIMEOUT_MS)];
  if (t.kind === 'azure') return [await probeAzureTranslator(t, d, signal)];
  if (t.kind === 'deepl') {
    const deepl = new DeeplTranslator({ serverUrl: t.serverUrl, authKey: t.authKey, formality: t.formality, glossaryId: t.glossaryId, timeoutMs: PROBE_TIMEOUT_MS, maxRetries: 0 });
    try {
      const text = await deepl.translate('Hello.', { sourceLanguage: d.source, targetLanguage: d.target, signal });
      return [{ name: 'cascade translator deepl', ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` }];
    } catch (err) {
      return [{ name: 'cascade translator deepl', ok: false, detail: errorMessage(err) }];
    }
  }
  const out: CascadeProbe[] = [];
  const service = new ApertiumService({ modesDir: t.modesDir, requestTimeoutMs: PROBE_TIMEOUT_MS, maxInFlight: 4, languageCodes: t.languageCodes });
  try {
    for (const dir of directions) {
      const name = `cascade translator apertium ${dir.source}→${dir.target}`;
      try {
        const text = await service.translate('Hello.', { sourceLanguage: dir.source, targetLanguage: dir.target, signal });
        out.push({ name, ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` });
      } catch (err) {
        out.push({ name, ok: false, detail: errorMessage(err) });
      }
    }
  } finally {
    service.close();
  }
  return out;
}

async function probeSynthesizer(s: SynthesizerConfig, targets: string[]): Promise<CascadeProbe> {
  if (s.kind === 'google') return probeGoogleSynthesizer(s, targets, PROBE_TIMEOUT_MS);
  if (s.kind === 'azure') return probeAzureSynthesizer(s, targets, AbortSignal.timeout(PROBE_TIMEOUT_MS));
  if (s.kind === 'elevenlabs') {
    const url = `${s.url.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(s.voiceId)}/stream-input?model_id=${encodeURIComponent(s.modelId)}&output_format=ulaw_8000`;
    const syn = await tryUpgrade(url, { 'xi-api-key': s.apiKey });
    return { name: `cascade synthesizer elevenlabs (${host(s.url)})`, ...syn };
  }
  const espeak = new EspeakSynthesizer({ voices: s.voices });
  try {
    const voices = await Promise.all(targets.map((target) => espeak.voiceFor(target)));
    return { name: 'cascade synthesizer espeak-ng', ok: true, detail: `voices ${voices.join(', ')}` };
  } catch (err) {
    return { name: 'cascade synthesizer espeak-ng', ok: false, detail: errorMessage(err) };
  } finally {
    await espeak.close();
  }
}
