import { performance } from 'node:perf_hooks';
import type { Direction } from '../../engine/src/pipeline/stage.js';
import type { ConversationSpec, CoreResult } from './generator-protocol.js';
import { summarize, type LatencySummary } from './translation-report.js';

/**
 * A turn-taking run's utterance accounting, per pair and direction: what the
 * generator sent (utterances each leg played whole, conversation.ts) against
 * what the engine's VAD ended (speech end), answered (latency event) and got
 * final transcripts for, over the whole run. A direction's speaker is its
 * source leg: A->B is stream 2·pair, B->A stream 2·pair + 1.
 *
 * missed = Σ max(0, sent − detected) over the streams, so a stray detection
 * on one stream never hides a miss on another; extra is the converse (the VAD
 * split an utterance, or heard one whose closing silence the end of the run
 * cut short).
 */
export interface ConversationDirection {
  sent: number;
  detected: number;
  missed: number;
  extra: number;
  /** Of sent: played as silence on purpose (a test's missed utterance). */
  muted: number;
  answered: number;
  transcripts: number;
  /** Tandem's share of each answered utterance's latency (ingress + VAD decision + egress). */
  tandem: LatencySummary;
}

export interface ConversationSection {
  mode: 'turns';
  /** A turn: the longest utterance plus the answer wait; each party speaks every other turn. */
  turn_ms: number;
  answer_wait_ms: number;
  /** White noise in the pauses, dBFS; null: digital silence. */
  background_dbfs: number | null;
  script_utterances: number;
  sent: number;
  detected: number;
  missed: number;
  extra: number;
  muted: number;
  directions: Record<Direction, ConversationDirection>;
  /** How long the run waited after the generator's last frame for the engine to end the last utterances. */
  settle_ms: number;
}

const DIRECTIONS: readonly Direction[] = ['A->B', 'B->A'];

/** The generator's pair index from the load test's pair id (lt_00042), or -1. */
export function pairIndexOf(pairId: string): number {
  const m = /^lt_(\d+)$/.exec(pairId);
  return m === null ? -1 : Number(m[1]);
}

function streamOf(pairId: string, direction: Direction): number {
  const pair = pairIndexOf(pairId);
  return pair < 0 ? -1 : 2 * pair + (direction === 'A->B' ? 0 : 1);
}

export class ConversationTally {
  readonly #detected = new Map<number, number>();
  readonly #answered = new Map<number, number>();
  readonly #transcripts = new Map<number, number>();
  readonly #tandem: Record<Direction, number[]> = { 'A->B': [], 'B->A': [] };
  #frozen = false;
  #onEvent: (() => void) | null = null;
  #settleMs = 0;

  speechEnded(pairId: string, direction: Direction): void {
    if (this.#bump(this.#detected, pairId, direction)) this.#onEvent?.();
  }

  answered(pairId: string, direction: Direction, tandemMs: number): void {
    if (!this.#bump(this.#answered, pairId, direction)) return;
    this.#tandem[direction].push(tandemMs);
    this.#onEvent?.();
  }

  transcribed(pairId: string, direction: Direction): void {
    if (this.#bump(this.#transcripts, pairId, direction)) this.#onEvent?.();
  }

  /**
   * Waits until every stream's detections reach what it sent and each
   * detected utterance was answered and transcribed, nothing was counted for
   * `quietMs` (a missed one never comes), or `maxMs` passed; then stops
   * counting, so what the engine does while its pairs close is not counted.
   */
  async settle(sent: ReadonlyArray<readonly [number, number]>, options: { quietMs: number; maxMs: number }): Promise<void> {
    const began = performance.now();
    const caughtUp = (): boolean =>
      sent.every(([gid, n]) => {
        const detected = this.#detected.get(gid) ?? 0;
        return detected >= n && (this.#answered.get(gid) ?? 0) >= detected && (this.#transcripts.get(gid) ?? 0) >= detected;
      });
    if (!caughtUp()) {
      await new Promise<void>((resolve) => {
        let quiet: NodeJS.Timeout | undefined;
        const done = (): void => {
          clearTimeout(quiet);
          clearTimeout(bound);
          this.#onEvent = null;
          resolve();
        };
        const bound = setTimeout(done, options.maxMs);
        const rearm = (): void => {
          clearTimeout(quiet);
          quiet = setTimeout(done, options.quietMs);
        };
        this.#onEvent = () => (caughtUp() ? done() : rearm());
        rearm();
      });
    }
    this.#settleMs = performance.now() - began;
    this.#frozen = true;
  }

  section(conversation: NonNullable<CoreResult['conversation']>, spec: ConversationSpec): ConversationSection {
    const muted = new Map(conversation.muted);
    const perDirection = (direction: Direction): ConversationDirection => {
      const leg = direction === 'A->B' ? 0 : 1;
      const d = { sent: 0, detected: 0, missed: 0, extra: 0, muted: 0, answered: 0, transcripts: 0 };
      for (const [gid, n] of conversation.sent) {
        if ((gid & 1) !== leg) continue;
        const detected = this.#detected.get(gid) ?? 0;
        d.sent += n;
        d.detected += detected;
        d.missed += Math.max(0, n - detected);
        d.extra += Math.max(0, detected - n);
        d.muted += muted.get(gid) ?? 0;
      }
      // Streams the generator did not report (none, unless an id was foreign): their detections are extra.
      const known = new Set(conversation.sent.map(([gid]) => gid));
      for (const [gid, n] of this.#detected) {
        if ((gid & 1) === leg && !known.has(gid)) {
          d.detected += n;
          d.extra += n;
        }
      }
      for (const [gid, n] of this.#answered) if ((gid & 1) === leg) d.answered += n;
      for (const [gid, n] of this.#transcripts) if ((gid & 1) === leg) d.transcripts += n;
      return { ...d, tandem: summarize(this.#tandem[direction]) };
    };
    const directions = { 'A->B': perDirection('A->B'), 'B->A': perDirection('B->A') };
    const sum = (key: 'sent' | 'detected' | 'missed' | 'extra' | 'muted'): number => DIRECTIONS.reduce((n, dir) => n + directions[dir][key], 0);
    return {
      mode: 'turns',
      turn_ms: conversation.turnMs,
      answer_wait_ms: spec.answerWaitMs,
      background_dbfs: spec.backgroundDbfs ?? null,
      script_utterances: conversation.scriptUtterances,
      sent: sum('sent'),
      detected: sum('detected'),
      missed: sum('missed'),
      extra: sum('extra'),
      muted: sum('muted'),
      directions,
      settle_ms: Math.round(this.#settleMs),
    };
  }

  /** Counts one event for the stream; false when frozen or the pair is not the load test's. */
  #bump(map: Map<number, number>, pairId: string, direction: Direction): boolean {
    if (this.#frozen) return false;
    const s = streamOf(pairId, direction);
    if (s < 0) return false;
    map.set(s, (map.get(s) ?? 0) + 1);
    return true;
  }
}
