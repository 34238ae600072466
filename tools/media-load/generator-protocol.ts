import { z } from 'zod';

/**
 * Messages between the orchestrator (engine process) and the generator child
 * process over the fork IPC channel, and between the generator's main thread
 * and its core threads. Every message arriving from another process or thread
 * is parsed once here into a typed union; anything else is rejected.
 */

/** Set in the forked generator's environment; its entry module starts only then. */
export const GENERATOR_ENV = 'TANDEM_LOADTEST_GENERATOR';

const endpoint = z.object({ address: z.string().min(1), port: z.number().int().min(1).max(65535) });

export const histogramSnapshotSchema = z.object({
  bucketWidth: z.number().positive(),
  bucketCount: z.number().int().positive(),
  count: z.number().nonnegative(),
  sum: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  overflow: z.number().nonnegative(),
  buckets: z.array(z.tuple([z.number().int().nonnegative(), z.number().nonnegative()])),
});

const pairSpec = z.object({
  /** Global pair index; stream ids are 2·index (A) and 2·index+1 (B). */
  index: z.number().int().nonnegative(),
  legA: endpoint,
  legB: endpoint,
  /** Where legs A and B start in the looped audio, in frames (a conversation's turns); default: spread by stream id. */
  startFrames: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
});
export type GeneratorPairSpec = z.infer<typeof pairSpec>;

const pairPorts = z.object({ index: z.number().int().nonnegative(), portA: z.number().int(), portB: z.number().int() });
export type GeneratorPairPorts = z.infer<typeof pairPorts>;

/** Network impairment the generator applies to what it sends (never to what it receives). */
export const impairmentSchema = z.object({
  /** Each packet is held back a uniformly random 0..jitterMs before it is sent (reorders naturally). */
  jitterMs: z.number().min(0).max(1000),
  /** Packets dropped before sending, percent. */
  lossPct: z.number().min(0).max(100),
  /** Packets swapped with the next packet of their stream, percent. */
  reorderPct: z.number().min(0).max(100),
});
export type Impairment = z.infer<typeof impairmentSchema>;
export const NO_IMPAIRMENT: Impairment = Object.freeze({ jitterMs: 0, lossPct: 0, reorderPct: 0 });

const loadCodec = z.enum(['ulaw', 'alaw', 'slin16']);

/**
 * One second of the run on the generator's clock (window k covers
 * [start + k s, start + (k+1) s)). Frames belong to the window they were
 * scheduled in; a frame received after the window settled counts as lost.
 */
export const windowSampleSchema = z.object({
  index: z.number().int().nonnegative(),
  /** Pairs sending at the end of the window. */
  pairs: z.number().int().nonnegative(),
  /** Datagrams put on the wire in the window (every pair, settled or not): the engine's input rate. */
  packets: z.number().nonnegative(),
  /** Frames scheduled in the window and put on the wire (impairment drops and pairs still settling excluded). */
  sent: z.number().nonnegative(),
  /** Of those, frames seen once on the other socket of their pair. */
  received: z.number().nonnegative(),
  /** Frames the impairment dropped before sending. */
  dropped: z.number().nonnegative(),
  /** Datagrams that arrived in the window, tagged or not. */
  arrivals: z.number().nonnegative(),
  latency: histogramSnapshotSchema,
});
export type WindowSample = z.infer<typeof windowSampleSchema>;

export const scheduleSchema = z.object({
  warmupMs: z.number().nonnegative(),
  measureMs: z.number().positive(),
  drainMs: z.number().nonnegative(),
});
export type GeneratorSchedule = z.infer<typeof scheduleSchema>;

const progress = z.object({
  sent: z.number().nonnegative(),
  received: z.number().nonnegative(),
  measuredSent: z.number().nonnegative(),
  measuredReceived: z.number().nonnegative(),
  maxSendLateMs: z.number(),
});
export type GeneratorProgress = z.infer<typeof progress>;

const directionResult = z.object({
  /** Frames sent in the measured window. */
  sent: z.number().nonnegative(),
  /** Of those, frames seen (once) on the other socket of the pair. */
  received: z.number().nonnegative(),
  duplicates: z.number().nonnegative(),
  latency: histogramSnapshotSchema,
  /** Frames the impairment dropped before sending (measured window): not the engine's fault. */
  impairmentDropped: z.number().nonnegative(),
});
export type DirectionResult = z.infer<typeof directionResult>;

export const coreResultSchema = z.object({
  aToB: directionResult,
  bToA: directionResult,
  /** |interarrival − 20 ms| of the injected streams, arrivals in the measured window. */
  pacing: histogramSnapshotSchema,
  /** How late the generator itself sent (actual − deadline), measured window: its own health. */
  sendLateness: histogramSnapshotSchema,
  sentTotal: z.number().nonnegative(),
  receivedTotal: z.number().nonnegative(),
  /** Received datagrams that were not RTP v2. */
  badPackets: z.number().nonnegative(),
  /** RTP without a valid frame tag (concealment, silence, or misrouted audio). */
  untagged: z.number().nonnegative(),
  /** Valid tag for a frame no longer in the send ring (later than ~5 s). */
  stale: z.number().nonnegative(),
  skippedSends: z.number().nonnegative(),
  socketErrors: z.number().nonnegative(),
  /** Packets the impairment swapped with their successor, and packets it delayed (whole run). */
  reordered: z.number().nonnegative(),
  delayed: z.number().nonnegative(),
  /** Delayed sends that found the delay wheel full and went out at once. */
  delayOverflow: z.number().nonnegative(),
  windows: z.array(windowSampleSchema),
  /** [global stream id, frames scheduled since the stream started] per stream: where each stream got to in the audio. */
  streamFrames: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).optional(),
  /** A conversation run (conversation.ts): utterances each stream played whole, added by the generator process. */
  conversation: z
    .object({
      turnMs: z.number().positive(),
      /** Utterances in the script (both parties' turns). */
      scriptUtterances: z.number().int().positive(),
      /** [global stream id, utterances played whole (start to end, and the silence the VAD needs after it)]. */
      sent: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
      /** Of sent, utterances played as silence on purpose (conversationSchema.mutedUtterances). */
      muted: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
    })
    .optional(),
});
export type CoreResult = z.infer<typeof coreResultSchema>;

/**
 * Turn-taking (conversation.ts): both legs of a pair play the same script of
 * utterances, half a turn apart, so one speaks while the other listens.
 */
export const conversationSchema = z.object({
  /** Silence after each utterance before the other party speaks: time for the translation to be heard. */
  answerWaitMs: z.number().int().min(0).max(60_000),
  /** The pauses' background: white noise at this level (a line's hiss), or digital silence when absent. */
  backgroundDbfs: z.number().min(-90).max(-10).optional(),
  /** Script utterances replaced by silence, still counted as sent (tests: a missed utterance on purpose). */
  mutedUtterances: z.array(z.number().int().nonnegative()).optional(),
});
export type ConversationSpec = z.infer<typeof conversationSchema>;

const audioInfo = z.object({ source: z.enum(['espeak-ng', 'tone-sweep']), seconds: z.number() });

/** Orchestrator → generator process. */
export const toGeneratorSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('setup'),
    pairs: z.array(pairSpec),
    threads: z.number().int().min(1).max(16),
    socketBufferBytes: z.number().int().positive(),
    preferTone: z.boolean(),
    /** Generator cores: C processes (default when they build) or worker threads. */
    core: z.enum(['native', 'node']).optional(),
    codec: loadCodec,
    impairment: impairmentSchema,
    /** Most pairs the run will have (ramp): cores preallocate for their share. */
    capacityPairs: z.number().int().positive(),
    /** Turn-taking instead of both legs talking all the time. */
    conversation: conversationSchema.optional(),
  }),
  /** startAtEpochMs (performance.timeOrigin + performance.now()): the orchestrator aligns its CPU samples to the windows. */
  z.object({ type: z.literal('start'), schedule: scheduleSchema, startAtEpochMs: z.number().optional() }),
  /** Pairs opened while running (ramp): the generator answers 'pairsAdded' with their ports. */
  z.object({ type: z.literal('addPairs'), pairs: z.array(pairSpec) }),
  /** Ends the measured window now (a ramp that found its knee); the drain and the result follow. */
  z.object({ type: z.literal('finish') }),
  /** After the result: the engine's pairs are closed, the generator may close its sockets and exit 0. */
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('abort') }),
]);
export type ToGenerator = z.infer<typeof toGeneratorSchema>;

/** Generator process → orchestrator. */
export const fromGeneratorSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello') }),
  z.object({ type: z.literal('ready'), ports: z.array(pairPorts), audio: audioInfo, threads: z.number().int() }),
    /** 'probe' comes ~1.5 s before the measured window (when the warm-up allows): time for a heap probe whose GC pause stays out of the window. */
  z.object({ type: z.literal('phase'), phase: z.enum(['probe', 'measuring', 'draining']) }),
  z.object({ type: z.literal('progress'), elapsedMs: z.number(), progress }),
  z.object({ type: z.literal('pairsAdded'), ports: z.array(pairPorts) }),
  /** A settled window, all cores merged. */
  z.object({ type: z.literal('window'), window: windowSampleSchema }),
  /** cpuPct: the generator process (all threads) over the measured window, % of one core. */
  z.object({ type: z.literal('result'), result: coreResultSchema, cpuPct: z.number(), cpuWaitPct: z.number().nullable() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type FromGenerator = z.infer<typeof fromGeneratorSchema>;

/** Generator main thread → a core thread. */
export const toCoreSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('setup'),
    pairs: z.array(pairSpec),
    socketBufferBytes: z.number().int().positive(),
    audio: z.instanceof(Uint8Array),
    codec: loadCodec,
    impairment: impairmentSchema,
    capacityPairs: z.number().int().positive(),
    /** Frame tags in every payload (default); off for a conversation, whose pauses must stay silent. */
    tagFrames: z.boolean().optional(),
  }),
  z.object({ type: z.literal('addPairs'), pairs: z.array(pairSpec) }),
  z.object({ type: z.literal('finish') }),
  /** startAtEpochMs is on the shared timeline performance.timeOrigin + performance.now(). */
  z.object({ type: z.literal('start'), startAtEpochMs: z.number(), schedule: scheduleSchema }),
  z.object({ type: z.literal('progress') }),
  z.object({ type: z.literal('close') }),
]);
export type ToCore = z.infer<typeof toCoreSchema>;

/** A core thread → the generator main thread. */
export const fromCoreSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), ports: z.array(pairPorts) }),
  z.object({ type: z.literal('pairsAdded'), ports: z.array(pairPorts) }),
  z.object({ type: z.literal('progress'), progress, windows: z.array(windowSampleSchema) }),
  z.object({ type: z.literal('result'), result: coreResultSchema }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type FromCore = z.infer<typeof fromCoreSchema>;

/** Parses one message; a message of the wrong shape is a protocol error with the first issue named. */
export function parseMessage<T>(schema: z.ZodType<T>, message: unknown, what: string): T {
  const result = schema.safeParse(message);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TypeError(`malformed ${what} message at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
