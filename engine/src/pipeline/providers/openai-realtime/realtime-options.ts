/**
 * The OpenAI Realtime stage's options, and what it derives from them before it
 * connects: the URL with its model, the session.update it sends first, and the
 * playback converter from the service's 24 kHz.
 */
import { z } from 'zod';
import { Downsampler24to16, Downsampler24to8 } from '../../../codec/resample-24k.js';
import type { PlaybackConverter } from '../../streaming/playback-mixer.js';
import { WsConnectionSettingsShape } from '../ws-connection.js';
import { OPENAI_REALTIME_URL, REALTIME_SAMPLE_RATE, languageName, primaryLanguage, type ClientEventInput } from './protocol.js';

export const OpenAiRealtimeStageOptionsSchema = z
  .object({
    /** ws:// or wss:// URL of the service; `?model=<model>` is added unless the URL names a model. */
    url: z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL').default(OPENAI_REALTIME_URL),
    /** Sent as `Authorization: Bearer <apiKey>` on the upgrade; never logged. */
    apiKey: z.string().min(1).optional(),
    model: z.string().min(1).max(128).default('gpt-realtime'),
    /** BCP 47 tags: what the speaker speaks, what the listener hears. */
    sourceLanguage: z.string().min(2).max(35),
    targetLanguage: z.string().min(2).max(35),
    voice: z.string().min(1).max(64).default('alloy'),
    /** The session's instructions; default: an interpreter prompt naming both languages. */
    instructions: z.string().min(1).max(16_384).optional(),
    /** Model that transcribes the speaker (source of `transcript` events); null: no transcripts. */
    transcriptionModel: z.string().min(1).max(128).nullable().default('gpt-4o-mini-transcribe'),
    /** server_vad: the service ends turns; client: speechEnded() does (turn_detection: null). */
    turnDetection: z.enum(['server_vad', 'client']).default('server_vad'),
    vadThreshold: z.number().min(0).max(1).default(0.5),
    vadPrefixPaddingMs: z.number().int().nonnegative().max(5000).default(300),
    vadSilenceMs: z.number().int().positive().max(10_000).default(500),
    /** The speaker starting again drops queued playback and cancels the response in progress. */
    interruptOnSpeech: z.boolean().default(true),
    /** Frames with status 'silence' are sent as zeros, so the service's VAD sees the pause that ends a turn. */
    sendSilence: z.boolean().default(true),
    /** translated-only: the listener hears only the interpretation; duck: the original under it at duckGain. */
    mode: z.enum(['translated-only', 'duck']).default('translated-only'),
    duckGain: z.number().min(0).max(1).default(0.25),
    /** Rate of frames returned when process() gets null and has never seen a frame. */
    outputSampleRate: z.union([z.literal(8000), z.literal(16000)]).default(8000),
    /** Above this many bytes waiting in the socket, outbound frames are dropped (128 KiB ≈ 2 s of base64 24 kHz audio). */
    maxBufferedBytes: z.number().int().positive().default(128 * 1024),
    /** Most seconds of service audio queued for playback; beyond it the oldest is dropped. */
    maxQueueSeconds: z.number().positive().max(600).default(30),
    /** After the upgrade the service must say something (session.created) within this, else the connection is dropped and retried. */
    sessionTimeoutMs: z.number().int().positive().default(10_000),
    /** connectTimeoutMs, reconnectInitialDelayMs / MaxDelayMs / MaxAttempts, pingIntervalMs, maxMessageBytes. */
    ...WsConnectionSettingsShape,
  })
  .strict();

export type OpenAiRealtimeStageOptions = z.input<typeof OpenAiRealtimeStageOptionsSchema>;
export type OpenAiRealtimeSettings = z.output<typeof OpenAiRealtimeStageOptionsSchema>;

/** The session.update's `session`: an interpreter between the two languages, with the configured turn detection. */
export function sessionConfig(s: OpenAiRealtimeSettings): Extract<ClientEventInput, { type: 'session.update' }>['session'] {
  const instructions =
    s.instructions ??
    `You are an interpreter. Translate everything the user says from ${languageName(s.sourceLanguage)} into ${languageName(s.targetLanguage)}. ` +
      'Speak only the translation: do not answer questions, add comments or greet.';
  return {
    type: 'realtime',
    instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE },
        ...(s.transcriptionModel !== null ? { transcription: { model: s.transcriptionModel, language: primaryLanguage(s.sourceLanguage) } } : {}),
        turn_detection:
          s.turnDetection === 'client'
            ? null
            : {
                type: 'server_vad',
                threshold: s.vadThreshold,
                prefix_padding_ms: s.vadPrefixPaddingMs,
                silence_duration_ms: s.vadSilenceMs,
                create_response: true,
                // Barge-in is ours (interruptOnSpeech): one party cancelling, never two racing.
                interrupt_response: false,
              },
      },
      output: { format: { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE }, voice: s.voice },
    },
  };
}

/** The URL with `model=<model>` added to its query unless it names one already. */
export function withModel(url: string, model: string): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('model')) u.searchParams.set('model', model);
    return u.toString();
  } catch {
    return url; // the WebSocket constructor reports it
  }
}

export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/** Playback from the service's 24 kHz to the leg's rate. */
export function from24kConverter(): PlaybackConverter {
  const down8 = new Downsampler24to8();
  const down16 = new Downsampler24to16();
  return {
    inputFor: (outRate, outSamples) => (outRate === 8000 ? down8 : down16).inputFor(outSamples),
    convert: (src, count, dst, outRate) => {
      (outRate === 8000 ? down8 : down16).process(src, count, dst);
    },
    // Between responses the filters restart from silence, so no tail of the last answer leaks into the next.
    idle: () => {
      down8.reset();
      down16.reset();
    },
  };
}
