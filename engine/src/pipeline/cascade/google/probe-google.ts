/**
 * `tandem verify-config` for the Google parts, each without cost where the
 * API allows: the recognizer opens a StreamingRecognize stream, sends only its
 * config and half-closes it (no audio, so nothing is billed; a refused key
 * ends it with UNAUTHENTICATED); the translator translates "Hello." once
 * (billed: six characters); the synthesizer lists the voices of each target
 * language (ListVoices, free) and checks a configured voice is among them.
 * No result shows a key.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../../../../common/src/errors.js';
import type { CascadeProvider } from '../../translation/config.js';
import type { CascadeProbe } from '../probe.js';
import { acquireGoogleClient, googleMetadata, type GoogleEndpoint } from './grpc.js';
import { GoogleTranslator } from './translator.js';

type Part<T> = Extract<T, { kind: 'google' }>;

const describeStatus = (code: grpc.status, details: string): string =>
  code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED ? `key refused (${grpc.status[code]})` : `${grpc.status[code] ?? code} ${details.slice(0, 120)}`;

export function probeGoogleRecognizer(r: Part<CascadeProvider['recognizer']>, language: string, timeoutMs: number): Promise<CascadeProbe> {
  const name = `cascade recognizer google (${r.endpoint})`;
  const lease = acquireGoogleClient('speech', r);
  return new Promise<CascadeProbe>((resolve) => {
    const client = lease.value as grpc.Client & { streamingRecognize: (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<object, object> };
    const call = client.streamingRecognize(googleMetadata(r), { deadline: Date.now() + timeoutMs });
    call.on('error', () => undefined);
    call.on('data', () => undefined);
    call.on('status', (st: grpc.StatusObject) => {
      lease.release();
      resolve({ name, ok: st.code === grpc.status.OK, detail: st.code === grpc.status.OK ? 'stream accepted, key accepted' : describeStatus(st.code, st.details) });
    });
    call.write({ streamingConfig: { config: { encoding: 'MULAW', sampleRateHertz: 8000, languageCode: language }, interimResults: true, singleUtterance: false } });
    call.end();
  });
}

export async function probeGoogleTranslator(t: Part<CascadeProvider['translator']>, direction: { source: string; target: string }, timeoutMs: number): Promise<CascadeProbe> {
  const name = `cascade translator google ${direction.source}→${direction.target}`;
  const translator = new GoogleTranslator({ ...t, timeoutMs, maxRetries: 0 });
  try {
    const text = await translator.translate('Hello.', { sourceLanguage: direction.source, targetLanguage: direction.target, signal: AbortSignal.timeout(timeoutMs) });
    return { name, ok: true, detail: `"Hello." → "${text.slice(0, 60)}"` };
  } catch (err) {
    return { name, ok: false, detail: errorMessage(err) };
  } finally {
    translator.release();
  }
}

interface ListVoicesResponse {
  voices: Array<{ name: string; languageCodes: string[] }>;
}

export async function probeGoogleSynthesizer(s: Part<CascadeProvider['synthesizer']>, languages: string[], timeoutMs: number): Promise<CascadeProbe> {
  const name = `cascade synthesizer google (${s.endpoint})`;
  const lease = acquireGoogleClient('tts', s as GoogleEndpoint);
  const client = lease.value as grpc.Client & {
    listVoices: (req: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: ListVoicesResponse) => void) => void;
  };
  try {
    const found: string[] = [];
    for (const language of languages) {
      const res = await new Promise<ListVoicesResponse>((resolve, reject) =>
        client.listVoices({ languageCode: language }, googleMetadata(s), { deadline: Date.now() + timeoutMs }, (err, r) => (err !== null || r === undefined ? reject(err ?? new Error('empty answer')) : resolve(r))),
      );
      const wanted = s.voices[language] ?? s.voices[language.split('-')[0]!];
      if (res.voices.length === 0) return { name, ok: false, detail: `no voice for ${language}` };
      if (wanted !== undefined && !res.voices.some((v) => v.name === wanted)) return { name, ok: false, detail: `voice ${wanted} not offered for ${language}` };
      found.push(wanted ?? res.voices[0]!.name);
    }
    return { name, ok: true, detail: `voices ${found.join(', ')}` };
  } catch (err) {
    const e = err as Partial<grpc.ServiceError>;
    return { name, ok: false, detail: typeof e.code === 'number' ? describeStatus(e.code, e.details ?? '') : errorMessage(err) };
  } finally {
    lease.release();
  }
}
