/**
 * What the three Google Cloud adapters share: the service definitions from
 * Google's published protos (the copies shipped inside `@google-cloud/speech`,
 * `@google-cloud/text-to-speech` and `@google-cloud/translate`, loaded with
 * `@grpc/proto-loader`), one gRPC client per endpoint and credentials per
 * worker, the call metadata that carries the credentials, and the mapping of
 * gRPC status codes to what the cascade counts.
 *
 * Why `@grpc/grpc-js` and not the generated GAPIC clients: the clients take an
 * `apiEndpoint`/`port` and insecure `sslCreds`, but then send no credentials
 * at all (google-gax skips auth when `sslCreds` is given), so a test could not
 * check the key; they also wrap StreamingRecognize in their own retrying
 * stream. Talking gRPC with the same protos keeps the wire identical and lets
 * the adapters own deadlines, cancellation and reconnects.
 *
 * Credentials (docs/providers.md): an API key, sent as `x-goog-api-key`
 * metadata on every call; or, without one, Application Default Credentials
 * (`GOOGLE_APPLICATION_CREDENTIALS` naming a service-account file, or the
 * metadata server) through google-auth-library as gRPC call credentials over
 * TLS. `tls: false` is for a local double on 127.0.0.1 only. Neither the key
 * nor a token is ever logged.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GoogleAuth } from 'google-auth-library';
import { ProviderError, type ProviderErrorCode } from '../../providers/types.js';
import { acquireShared, sharedUsers, type Lease } from '../shared.js';

export interface GoogleEndpoint {
  /** host:port of the service, e.g. speech.googleapis.com:443, or a double's 127.0.0.1:<port>. */
  endpoint: string;
  /** false only for a local double: plaintext HTTP/2, and no ADC (an API key still travels as metadata). */
  tls: boolean;
  /** Sent as `x-goog-api-key`; without it, Application Default Credentials are used. Never logged. */
  apiKey?: string | undefined;
}

export type GoogleService = 'speech' | 'translate' | 'tts';

const require = createRequire(import.meta.url);
const protoRoot = (pkg: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), 'build', 'protos');

const FILES: Record<GoogleService, { pkg: string; file: string; service: string[] }> = {
  speech: { pkg: '@google-cloud/speech', file: 'google/cloud/speech/v1/cloud_speech.proto', service: ['google', 'cloud', 'speech', 'v1', 'Speech'] },
  translate: { pkg: '@google-cloud/translate', file: 'google/cloud/translate/v3/translation_service.proto', service: ['google', 'cloud', 'translation', 'v3', 'TranslationService'] },
  tts: { pkg: '@google-cloud/text-to-speech', file: 'google/cloud/texttospeech/v1/cloud_tts.proto', service: ['google', 'cloud', 'texttospeech', 'v1', 'TextToSpeech'] },
};

/** The same loader options google-gax uses, so messages have the shape Google's Node samples show (camelCase, enums as names). */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

const definitions = new Map<GoogleService, grpc.ServiceClientConstructor>();

/** The service's client constructor (and, for doubles, its `service` definition); loaded once per process. */
export function googleServiceDefinition(service: GoogleService): grpc.ServiceClientConstructor {
  const known = definitions.get(service);
  if (known !== undefined) return known;
  const f = FILES[service];
  // google/api, google/rpc and google/protobuf come with google-gax, which the @google-cloud packages depend on.
  // (google-gax exports no package.json; its main is build/src/index.js, its protos build/protos.)
  const gaxProtos = join(dirname(createRequire(require.resolve(`${f.pkg}/package.json`)).resolve('google-gax')), '..', 'protos');
  const def = protoLoader.loadSync(f.file, { ...LOADER_OPTIONS, includeDirs: [protoRoot(f.pkg), gaxProtos] });
  let node: unknown = grpc.loadPackageDefinition(def);
  for (const part of f.service) node = (node as Record<string, unknown>)[part];
  const ctor = node as grpc.ServiceClientConstructor;
  definitions.set(service, ctor);
  return ctor;
}

function channelCredentials(e: GoogleEndpoint): grpc.ChannelCredentials {
  if (!e.tls) return grpc.credentials.createInsecure();
  const ssl = grpc.credentials.createSsl();
  if (e.apiKey !== undefined) return ssl;
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return grpc.credentials.combineChannelCredentials(
    ssl,
    grpc.credentials.createFromGoogleCredential({
      getRequestHeaders: async (url?: string) => {
        const client = await auth.getClient();
        const headers = await client.getRequestHeaders(url);
        const plain: Record<string, string> = {};
        headers.forEach((value, key) => (plain[key] = value));
        return plain;
      },
    }),
  );
}

/** Channel options: keepalive pings find a dead transport under a long stream that carries only audio. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.max_receive_message_length': 16 << 20,
};

/**
 * Directions per channel. An HTTP/2 server caps the streams open at once on
 * one connection (commonly 100), and a recognizer briefly holds two while it
 * rotates, so a worker with more directions opens another channel rather than
 * queue streams behind that cap.
 */
export const DIRECTIONS_PER_CHANNEL = 40;

/** A client (one HTTP/2 channel) per service, endpoint and credentials in this worker, shared by up to DIRECTIONS_PER_CHANNEL directions. */
export function acquireGoogleClient(service: GoogleService, e: GoogleEndpoint): Lease<grpc.Client> {
  // The key is part of the sharing key only inside this worker's memory; it is never logged.
  const base = `google-${service} ${e.endpoint} ${String(e.tls)} ${e.apiKey ?? ''}`;
  let shard = 0;
  while (sharedUsers(`${base} #${shard}`) >= DIRECTIONS_PER_CHANNEL) shard++;
  return acquireShared(
    `${base} #${shard}`,
    () => {
      const Ctor = googleServiceDefinition(service);
      return new Ctor(e.endpoint, channelCredentials(e), CHANNEL_OPTIONS);
    },
    (client) => client.close(),
  );
}

/** The per-call metadata: the API key and, where the method is routed by a resource, its routing header. */
export function googleMetadata(e: GoogleEndpoint, routing?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (e.apiKey !== undefined) m.set('x-goog-api-key', e.apiKey);
  if (routing !== undefined) m.set('x-goog-request-params', routing);
  return m;
}

/** How the cascade counts a gRPC status: whether retrying can help, and the ProviderError code. */
export function classifyStatus(code: grpc.status): { providerCode: ProviderErrorCode; retryable: boolean } {
  switch (code) {
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return { providerCode: 'unauthorized', retryable: false };
    case grpc.status.RESOURCE_EXHAUSTED:
      return { providerCode: 'overloaded', retryable: true };
    case grpc.status.UNAVAILABLE:
      return { providerCode: 'unavailable', retryable: true };
    case grpc.status.DEADLINE_EXCEEDED:
      return { providerCode: 'timeout', retryable: true };
    case grpc.status.CANCELLED:
      return { providerCode: 'aborted', retryable: false };
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.OUT_OF_RANGE:
      return { providerCode: 'invalid_input', retryable: false };
    default:
      return { providerCode: 'failed', retryable: code === grpc.status.INTERNAL || code === grpc.status.ABORTED };
  }
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'metadata' in err;
}

/** A failed call as a ProviderError; the message is the status name and Google's details (no credentials). */
export function toProviderError(service: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (!isServiceError(err)) return new ProviderError('failed', `${service}: ${err instanceof Error ? err.message : String(err)}`);
  const { providerCode } = classifyStatus(err.code);
  return new ProviderError(providerCode, `${service}: ${grpc.status[err.code] ?? err.code} ${err.details.slice(0, 200)}`);
}

/**
 * A unary call with a deadline, cancelled when `signal` fires, retried once
 * after `retryDelayMs` when the status says a retry can help (UNAVAILABLE,
 * RESOURCE_EXHAUSTED) and the deadline still leaves time.
 */
export async function unaryCall<Req, Res>(
  invoke: (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall,
  request: Req,
  metadata: grpc.Metadata,
  opts: { signal: AbortSignal; timeoutMs: number; maxRetries: number; retryDelayMs: number; service: string },
): Promise<Res> {
  const deadlineAt = Date.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal.aborted) throw new ProviderError('aborted', `${opts.service}: aborted`);
    try {
      return await new Promise<Res>((resolve, reject) => {
        const call = invoke(request, metadata, { deadline: deadlineAt }, (err, res) => {
          opts.signal.removeEventListener('abort', onAbort);
          if (err !== null) reject(err);
          else if (res === undefined) reject(new ProviderError('failed', `${opts.service}: empty answer`));
          else resolve(res);
        });
        const onAbort = (): void => call.cancel();
        opts.signal.addEventListener('abort', onAbort, { once: true });
      });
    } catch (err) {
      if (opts.signal.aborted) throw new ProviderError('aborted', `${opts.service}: aborted`);
      const retry = isServiceError(err) && classifyStatus(err.code).retryable && err.code !== grpc.status.DEADLINE_EXCEEDED;
      if (!retry || attempt >= opts.maxRetries || Date.now() + opts.retryDelayMs >= deadlineAt) throw toProviderError(opts.service, err);
      await new Promise((r) => setTimeout(r, opts.retryDelayMs * (0.8 + 0.4 * Math.random())));
    }
  }
}
