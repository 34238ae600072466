/**
 * `tandem verify-config` for a cascade: can each configured part work? The
 * recognizer's and ElevenLabs' WebSocket upgrades are tried with the key (101
 * = reachable and accepted; 401/403 = key refused) and closed without sending
 * audio or text; Apertium and DeepL translate one short sentence per
 * direction (DeepL bills those few characters); espeak-ng lists its voices and
 * finds one for each language; the Azure parts are in azure-probe.ts. Keys
 * are never part of a result.
 */
import { errorMessage } from '../../../../common/src/errors.js';
import { EspeakSynthesizer } from '../providers/espeak-synthesizer.js';
import type { CascadeProvider } from '../translation/config.js';
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

export async function probeCascade(provider: CascadeProvider, languages: { A: string; B: string }): Promise<CascadeProbe[]> {
  const out: CascadeProbe[] = [];
  const directions = [
    { source: languages.A, target: languages.B },
    { source: languages.B, target: languages.A },
  ];
  const r = provider.recognizer;
  if (r.kind === 'google') out.push(await probeGoogleRecognizer(r, languages.A, PROBE_TIMEOUT_MS));
  else if (r.kind === 'deepgram') {
    const dg = new URL(r.url);
    dg.searchParams.set('model', r.model);
    dg.searchParams.set('language', languages.A);
    dg.searchParams.set('encoding', 'mulaw');
    dg.searchParams.set('sample_rate', '8000');
    const rec = await tryUpgrade(dg.toString(), { Authorization: `Token ${r.apiKey}` });
    out.push({ name: `cascade recognizer deepgram (${host(r.url)})`, ...rec });
  } else out.push(await probeAzureRecognizer(r, languages.A));

  const t = provider.translator;
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  if (t.kind === 'apertium') {
    const service = new ApertiumService({ modesDir: t.modesDir, requestTimeoutMs: PROBE_TIMEOUT_MS, maxInFlight: 4, languageCodes: t.languageCodes });
    try {
      for (const d of directions) {
        try {
          const text = await service.translate('Hello.', { sourceLanguage: d.source, targetLanguage: d.target, signal });
          out.push({ name: `cascade translator apertium ${d.source}→${d.target}`, ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` });
        } catch (err) {
          out.push({ name: `cascade translator apertium ${d.source}→${d.target}`, ok: false, detail: errorMessage(err) });
        }
      }
    } finally {
      service.close();
    }
  } else if (t.kind === 'google') {
    out.push(await probeGoogleTranslator(t, directions[0]!, PROBE_TIMEOUT_MS));
  } else if (t.kind === 'deepl') {
    const deepl = new DeeplTranslator({ serverUrl: t.serverUrl, authKey: t.authKey, formality: t.formality, glossaryId: t.glossaryId, timeoutMs: PROBE_TIMEOUT_MS, maxRetries: 0 });
    const d = directions[0]!;
    try {
      const text = await deepl.translate('Hello.', { sourceLanguage: d.source, targetLanguage: d.target, signal });
      out.push({ name: 'cascade translator deepl', ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` });
    } catch (err) {
      out.push({ name: 'cascade translator deepl', ok: false, detail: errorMessage(err) });
    }
  } else out.push(await probeAzureTranslator(t, directions[0]!, signal));

  const s = provider.synthesizer;
  if (s.kind === 'espeak-ng') {
    const espeak = new EspeakSynthesizer({ voices: s.voices });
    try {
      const voices = await Promise.all(directions.map((d) => espeak.voiceFor(d.target)));
      out.push({ name: 'cascade synthesizer espeak-ng', ok: true, detail: `voices ${voices.join(', ')}` });
    } catch (err) {
      out.push({ name: 'cascade synthesizer espeak-ng', ok: false, detail: errorMessage(err) });
    } finally {
      await espeak.close();
    }
  } else if (s.kind === 'google') {
    out.push(await probeGoogleSynthesizer(s, directions.map((d) => d.target), PROBE_TIMEOUT_MS));
  } else if (s.kind === 'elevenlabs') {
    const url = `${s.url.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(s.voiceId)}/stream-input?model_id=${encodeURIComponent(s.modelId)}&output_format=ulaw_8000`;
    const syn = await tryUpgrade(url, { 'xi-api-key': s.apiKey });
    out.push({ name: `cascade synthesizer elevenlabs (${host(s.url)})`, ...syn });
  } else out.push(await probeAzureSynthesizer(s, directions.map((d) => d.target), signal));
  return out;
}
