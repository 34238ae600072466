/**
 * Google Cloud Translation, v3 `TranslationService.TranslateText` over gRPC
 * (https://cloud.google.com/translate/docs/reference/rpc/google.cloud.translation.v3).
 * v3 rather than v2: v2 ("Basic") is a REST API with its own key-in-URL auth,
 * while v3 is the documented current API, speaks gRPC with the same
 * credentials and channel code as Speech-to-Text and Text-to-Speech, and is
 * the one with glossaries and model choice. It needs a project (and location).
 *
 * Wire: `{parent: "projects/<p>/locations/<l>", contents: [text],
 * sourceLanguageCode, targetLanguageCode, mimeType: "text/plain", model?,
 * glossaryConfig?}` with `x-goog-request-params: parent=…`; the answer's
 * `translations[0].translatedText`. A deadline per call, cancelled on abort,
 * one retry of UNAVAILABLE / RESOURCE_EXHAUSTED within the deadline.
 */
import type * as grpc from '@grpc/grpc-js';
import { ProviderError } from '../../providers/types.js';
import type { Lease } from '../shared.js';
import type { CascadeTranslator, TranslateRequest } from '../types.js';
import { acquireGoogleClient, googleMetadata, unaryCall, type GoogleEndpoint } from './grpc.js';

export interface GoogleTranslatorOptions extends GoogleEndpoint {
  projectId: string;
  location: string;
  /** e.g. projects/<p>/locations/<l>/models/general/nmt; the service's default when unset. */
  model?: string | undefined;
  glossaryId?: string | undefined;
  /** Per call, retries included. */
  timeoutMs: number;
  maxRetries: number;
}

interface TranslateTextResponse {
  translations: Array<{ translatedText: string }>;
  glossaryTranslations: Array<{ translatedText: string }>;
}

type TranslationClient = grpc.Client & {
  translateText: (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: TranslateTextResponse) => void) => grpc.ClientUnaryCall;
};

export class GoogleTranslator implements CascadeTranslator {
  readonly name = 'google-translate';
  readonly #o: GoogleTranslatorOptions;
  readonly #client: Lease<grpc.Client>;
  readonly #parent: string;
  readonly counts = { calls: 0, succeeded: 0, failures: 0 };
  #closed = false;

  constructor(options: GoogleTranslatorOptions) {
    this.#o = options;
    this.#parent = `projects/${options.projectId}/locations/${options.location}`;
    this.#client = acquireGoogleClient('translate', options);
  }

  async translate(text: string, request: TranslateRequest): Promise<string> {
    this.counts.calls++;
    if (text.trim() === '') return '';
    const o = this.#o;
    const client = this.#client.value as TranslationClient;
    const body = {
      parent: this.#parent,
      contents: [text],
      mimeType: 'text/plain',
      sourceLanguageCode: request.sourceLanguage,
      targetLanguageCode: request.targetLanguage,
      ...(o.model !== undefined ? { model: o.model } : {}),
      ...(o.glossaryId !== undefined ? { glossaryConfig: { glossary: `${this.#parent}/glossaries/${o.glossaryId}` } } : {}),
    };
    try {
      const res = await unaryCall(client.translateText.bind(client), body, googleMetadata(o, `parent=${encodeURIComponent(this.#parent)}`), {
        signal: request.signal,
        timeoutMs: o.timeoutMs,
        maxRetries: o.maxRetries,
        retryDelayMs: 100,
        service: 'google-translate',
      });
      const t = (o.glossaryId !== undefined ? res.glossaryTranslations[0] : undefined) ?? res.translations[0];
      if (t === undefined) throw new ProviderError('failed', 'google-translate: the answer holds no translation');
      this.counts.succeeded++;
      return t.translatedText;
    } catch (err) {
      this.counts.failures++;
      throw err;
    }
  }

  /** The direction is done with it: releases the shared channel. Idempotent. */
  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.release();
  }
}
