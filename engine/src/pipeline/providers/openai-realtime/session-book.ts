import { REALTIME_SAMPLE_RATE } from './protocol.js';

/** Per-session bookkeeping maps are trimmed to this many entries (a stuck peer must not grow them). */
const MAX_TRACKED = 64;

export interface ResponseState {
  utteranceId: string;
  text: string;
}

/**
 * What the realtime stage remembers about one session with the service: each input item's times and transcript so
 * far, each response's utterance and text, the responses cancelled, and the client-ended turns waiting for their item
 * id. Every map is bounded; a new session (reconnect) starts it over.
 */
export class RealtimeSessionBook {
  /** 24 kHz samples the stage had sent when this session began: the service's clock starts there. */
  offsetSamples = 0;
  lastCommittedItem: string | null = null;
  readonly responses = new Map<string, ResponseState>();
  readonly cancelled = new Set<string>();
  readonly itemTimes = new Map<string, { startMs: number; endMs: number }>();
  readonly itemText = new Map<string, string>();
  /** Client turn detection: turns ended by speechEnded(), waiting for their item id (input_audio_buffer.committed). */
  readonly pendingTurns: Array<{ eventId: string; startMs: number; endMs: number }> = [];

  /** A new session, beginning after `sentSamples` of audio. */
  reset(sentSamples: number): void {
    this.offsetSamples = sentSamples;
    this.lastCommittedItem = null;
    this.responses.clear();
    this.cancelled.clear();
    this.itemTimes.clear();
    this.itemText.clear();
    this.pendingTurns.length = 0;
  }

  /** A time on the service's session clock → ms of audio sent since the stage started. */
  serviceMs(ms: number): number {
    return Math.round((this.offsetSamples * 1000) / REALTIME_SAMPLE_RATE + ms);
  }

  /** The state of response `id`, created (for the last committed item) if the service never announced it. */
  response(id: string): ResponseState {
    let r = this.responses.get(id);
    if (r === undefined) {
      r = { utteranceId: this.lastCommittedItem ?? id, text: '' };
      rememberBounded(this.responses, id, r);
    }
    return r;
  }

  addPendingTurn(turn: { eventId: string; startMs: number; endMs: number }): void {
    this.pendingTurns.push(turn);
    if (this.pendingTurns.length > MAX_TRACKED) this.pendingTurns.shift();
  }

  /** A client event the service refused (its `error.event_id`): a refused commit gets no item, so its times must not go to the next one. */
  refused(eventId: string | null | undefined): void {
    const refused = eventId == null ? -1 : this.pendingTurns.findIndex((t) => t.eventId === eventId);
    if (refused >= 0) this.pendingTurns.splice(refused, 1);
  }

  /** input_audio_buffer.speech_started: the item's speech starts at `audioStartMs` (service clock). */
  speechStarted(itemId: string, audioStartMs: number): void {
    rememberBounded(this.itemTimes, itemId, { startMs: this.serviceMs(audioStartMs), endMs: this.serviceMs(audioStartMs) });
  }

  /** input_audio_buffer.speech_stopped: the item's speech ends at `audioEndMs` (service clock). */
  speechStopped(itemId: string, audioEndMs: number): void {
    const times = this.itemTimes.get(itemId);
    const endMs = this.serviceMs(audioEndMs);
    rememberBounded(this.itemTimes, itemId, { startMs: times?.startMs ?? endMs, endMs });
  }

  /** input_audio_buffer.committed: responses now answer this item; a client-ended turn's times become its times. */
  committed(itemId: string): void {
    this.lastCommittedItem = itemId;
    const turn = this.pendingTurns.shift();
    if (turn !== undefined) rememberBounded(this.itemTimes, itemId, { startMs: turn.startMs, endMs: turn.endMs });
  }

  /** A transcription delta added to the item's text so far (bounded); returns that text. */
  appendItemText(itemId: string, delta: string): string {
    const text = ((this.itemText.get(itemId) ?? '') + delta).slice(0, 16_384);
    rememberBounded(this.itemText, itemId, text);
    return text;
  }
}

/** Map/Set insert that evicts the oldest entry beyond MAX_TRACKED. */
export function rememberBounded<K, V>(store: Map<K, V> | Set<K>, key: K, value?: V): void {
  if (store instanceof Map) {
    store.delete(key);
    store.set(key, value as V);
  } else {
    store.add(key);
  }
  if (store.size > MAX_TRACKED) {
    const oldest = store.keys().next().value as K;
    store.delete(oldest);
  }
}
