/**
 * `tandem verify-config` for the Azure parts of a cascade (probe.ts): the
 * speech-to-text WebSocket upgrade with the key (closed before any audio),
 * Translator translating "Hello." once (billed: six characters), and the
 * text-to-speech voice list (`GET /cognitiveservices/voices/list`, not
 * billed), checked to hold the voice each target language would speak with.
 * Keys are never part of a result.
 */
import { z } from 'zod';
import { errorMessage } from '../../../../common/src/errors.js';
import type { RecognizerConfig, SynthesizerConfig, TranslatorConfig } from '../translation/config.js';
import { azureSttUrl, azureTtsUrl } from './azure-parts.js';
import { AzureTranslator } from './azure-translator.js';
import { azureVoiceFor } from './azure-tts-synthesizer.js';
import { fetchWithRetry } from './http-retry.js';
import type { CascadeProbe } from './probe.js';
import { host, tryUpgrade } from './probe-upgrade.js';

const NO_RETRY = { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0 };

export async function probeAzureRecognizer(r: Extract<RecognizerConfig, { kind: 'azure' }>, language: string): Promise<CascadeProbe> {
  const url = new URL(azureSttUrl(r));
  url.searchParams.set('language', language);
  url.searchParams.set('format', 'detailed');
  const result = await tryUpgrade(url.toString(), { 'Ocp-Apim-Subscription-Key': r.key });
  return { name: `cascade recognizer azure (${host(url.toString())})`, ...result };
}

export async function probeAzureTranslator(t: Extract<TranslatorConfig, { kind: 'azure' }>, d: { source: string; target: string }, signal: AbortSignal): Promise<CascadeProbe> {
  const translator = new AzureTranslator({ url: t.url, key: t.key, region: t.region, category: t.category, retry: NO_RETRY });
  const name = `cascade translator azure (${host(t.url)})`;
  try {
    const text = await translator.translate('Hello.', { sourceLanguage: d.source, targetLanguage: d.target, signal });
    return { name, ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` };
  } catch (err) {
    return { name, ok: false, detail: errorMessage(err) };
  }
}

const VoiceList = z.array(z.object({ ShortName: z.string() }).passthrough());

export async function probeAzureSynthesizer(s: Extract<SynthesizerConfig, { kind: 'azure' }>, languages: string[], signal: AbortSignal): Promise<CascadeProbe> {
  const base = azureTtsUrl(s).replace(/\/+$/, '');
  const name = `cascade synthesizer azure (${host(base)})`;
  try {
    const res = await fetchWithRetry('azure tts', () => ({ url: `${base}/cognitiveservices/voices/list`, init: { headers: { 'Ocp-Apim-Subscription-Key': s.key } } }), signal, NO_RETRY);
    const list = VoiceList.safeParse(await res.json());
    if (!list.success) return { name, ok: false, detail: 'the voice list is not the documented JSON' };
    const known = new Set(list.data.map((v) => v.ShortName));
    const wanted = languages.map((l) => ({ language: l, voice: azureVoiceFor(l, s.voices) }));
    const missing = wanted.filter((w) => w.voice === undefined || !known.has(w.voice));
    if (missing.length > 0) return { name, ok: false, detail: `no voice for ${missing.map((m) => `${m.language} (${m.voice ?? 'none configured'})`).join(', ')}` };
    return { name, ok: true, detail: `voices ${wanted.map((w) => w.voice).join(', ')}` };
  } catch (err) {
    return { name, ok: false, detail: errorMessage(err) };
  }
}
