import type { TranscriptEvent } from '../../../../engine/src/index.js';
import { Option, type Command } from 'commander';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { ConfigError, errorMessage } from '../../../../common/src/errors.js';
import { DEFAULT_DATABASE_URL } from '../../realtime/db.js';
import { RealtimeError } from '../../realtime/errors.js';
import { describeError, positiveInt, redactUrl, runDbCommand } from '../../realtime/cli-support.js';
import { formatTranscriptLine, printable } from '../../transcripts/format.js';
import { PAIR_ID_PATTERN, decodeTranscript, transcriptsChannel, type TranscriptRecord } from '../../transcripts/schema.js';
import { PgTranscriptStore, type StoredTranscript, type TranscriptCall } from '../../transcripts/store.js';
import { untilSignal } from './signals.js';

interface TranscriptsFlags {
  call?: string;
  calls?: boolean;
  json?: boolean;
  follow?: boolean;
  limit: number;
  databaseUrl?: string;
  redisUrl?: string;
  prefix?: string;
}

/** One line of `--json` output; stored and live finals have the same keys. */
interface JsonLine extends Omit<TranscriptEvent, 'final'> {
  callId: string | null;
  /** Stored: when it was stored; live: when the engine produced it. */
  at: string;
}

type Final = StoredTranscript | TranscriptRecord;

const FOLLOW_MEMORY = 10_000;

/** `tandem transcripts <PAIR_ID>`: a call's conversation from the `transcripts` table, optionally live. */
export function registerTranscriptsCommand(program: Command): void {
  program
    .command('transcripts')
    .description("print a call's conversation: the stored final transcripts of a pair, in order")
    .argument('<pairId>', 'e.g. pair_001')
    .addOption(new Option('--call <id>', 'this call (default: the pair\'s most recent call)'))
    .addOption(new Option('--calls', 'list the pair\'s recent calls instead').conflicts(['call', 'follow']))
    .addOption(new Option('--json', 'one JSON object per line (NDJSON)'))
    .addOption(new Option('-f, --follow', 'then print new finals live from Redis until Ctrl-C (needs REDIS_URL)'))
    .addOption(new Option('--limit <n>', 'at most this many stored finals').default(1000).argParser(positiveInt))
    .addOption(new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL'))
    .addOption(new Option('--redis-url <url>', 'Redis URL (for --follow)').env('REDIS_URL'))
    .addOption(new Option('--prefix <prefix>', 'Redis key prefix').env('TANDEM_REDIS_PREFIX'))
    .action(async (pairId: string, flags: TranscriptsFlags) => {
      // An empty variable (DATABASE_URL=) means unset, as for every other setting.
      const explicitUrl = flags.databaseUrl === '' ? undefined : flags.databaseUrl;
      const url = explicitUrl ?? DEFAULT_DATABASE_URL;
      await runDbCommand(url, async (pool) => {
        if (!PAIR_ID_PATTERN.test(pairId)) throw new ConfigError('PAIR_ID', `invalid PAIR_ID ${JSON.stringify(pairId)}: expected e.g. pair_001`);
        if (flags.limit > 10_000) throw new ConfigError('--limit', 'at most 10000');
        const redisUrl = flags.redisUrl === '' ? undefined : flags.redisUrl;
        if (flags.follow && redisUrl === undefined) throw new ConfigError('REDIS_URL', 'set REDIS_URL or --redis-url to follow transcripts live');
        await assertTranscriptsTable(pool, explicitUrl === undefined ? url : null);
        const store = new PgTranscriptStore(pool);
        try {
          if (flags.calls) {
            printCalls(pairId, await store.recentCalls(pairId, { limit: 50 }), flags.json === true);
            return;
          }
          const printer = new Printer(pairId, flags.json === true);
          // Subscribe before reading the table, so no final falls between the two.
          const follower = flags.follow && redisUrl !== undefined ? await Follower.start(redisUrl, flags.prefix || 'tandem:', pairId, flags.call, printer) : null;
          try {
            await printHistory(store, pairId, flags, printer);
            if (follower) {
              follower.live();
              process.stderr.write(`following ${pairId} live (Ctrl-C to stop)\n`);
              await untilSignal();
            }
          } finally {
            follower?.close();
          }
        } finally {
          await store.close(0);
        }
      });
    });
}

/** The clear error for a database without migration 004 (and for a DATABASE_URL that was never set). */
async function assertTranscriptsTable(pool: Pool, defaultUrl: string | null): Promise<void> {
  let exists: boolean;
  try {
    const r = await pool.query<{ ok: boolean }>("SELECT to_regclass('transcripts') IS NOT NULL AS ok");
    exists = r.rows[0]?.ok === true;
  } catch (err) {
    if (defaultUrl === null) throw err;
    throw new ConfigError('DATABASE_URL', `not set, and the default failed: ${describeError(err, defaultUrl)}`);
  }
  if (!exists) throw new RealtimeError('NOT_MIGRATED', 'the database has no transcripts table: run "tandem migrate"');
}

async function printHistory(store: PgTranscriptStore, pairId: string, flags: TranscriptsFlags, printer: Printer): Promise<void> {
  let callId: string | null;
  if (flags.call !== undefined) {
    callId = flags.call;
  } else {
    const calls = await store.recentCalls(pairId, { limit: 50 });
    const latest = calls[0];
    if (latest === undefined) {
      if (!flags.json) process.stderr.write(`no transcripts stored for ${pairId}\n`);
      return;
    }
    callId = latest.callId;
    if (calls.length > 1 && !flags.json) {
      process.stderr.write(`${pairId} has ${calls.length - 1} earlier call(s) with transcripts: list them with --calls, pick one with --call ID\n`);
    }
  }
  const rows = await store.byPair(pairId, { callId, limit: flags.limit });
  if (rows.length === 0 && !flags.json) process.stderr.write(`no transcripts stored for ${pairId}${callId === null ? '' : ` call ${callId}`}\n`);
  for (const row of rows) printer.print(row);
}

function printCalls(pairId: string, calls: TranscriptCall[], json: boolean): void {
  if (json) {
    for (const c of calls) process.stdout.write(`${JSON.stringify({ pairId, callId: c.callId, firstAt: c.firstAt.toISOString(), lastAt: c.lastAt.toISOString(), finals: c.finals })}\n`);
    return;
  }
  if (calls.length === 0) {
    process.stdout.write(`no transcripts stored for ${pairId}\n`);
    return;
  }
  for (const c of calls) {
    process.stdout.write(`${c.firstAt.toISOString()} … ${c.lastAt.toISOString()}  ${String(c.finals).padStart(5)} final(s)  ${callLabel(c.callId)}\n`);
  }
}

function callLabel(callId: string | null): string {
  return callId === null ? '(no call id)' : `call ${printable(callId)}`;
}

/** Prints each final once, with a header whenever the call changes. */
class Printer {
  readonly #pairId: string;
  readonly #json: boolean;
  /** Keys of the finals printed lately: the overlap of table and live stream, and replays, print once. */
  readonly #seen = new Set<string>();
  #call: string | null | undefined = undefined;

  constructor(pairId: string, json: boolean) {
    this.#pairId = pairId;
    this.#json = json;
  }

  print(f: Final): void {
    const key = `${f.callId ?? ''}\u0000${f.direction}\u0000${f.utteranceId}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (this.#seen.size > FOLLOW_MEMORY) {
      const oldest = this.#seen.values().next();
      if (oldest.done !== true) this.#seen.delete(oldest.value);
    }
    if (this.#json) {
      process.stdout.write(`${JSON.stringify(toJsonLine(f))}\n`);
      return;
    }
    if (f.callId !== this.#call) {
      this.#call = f.callId;
      process.stdout.write(`— ${this.#pairId} ${callLabel(f.callId)} —\n`);
    }
    process.stdout.write(`${formatTranscriptLine(f)}\n`);
  }
}

function toJsonLine(f: Final): JsonLine {
  return {
    callId: f.callId,
    pairId: f.pairId,
    srcExt: f.srcExt,
    dstExt: f.dstExt,
    direction: f.direction,
    utteranceId: f.utteranceId,
    language: f.language,
    text: f.text,
    targetLanguage: f.targetLanguage,
    translatedText: f.translatedText,
    startMs: f.startMs,
    endMs: f.endMs,
    at: 'createdAt' in f ? f.createdAt.toISOString() : f.at,
  };
}

/**
 * Finals of one pair from the Redis channel. Until `live()` they are held
 * (bounded), so the stored history prints first; ioredis reconnects and
 * resubscribes by itself if Redis goes away while following.
 */
class Follower {
  readonly #redis: Redis;
  readonly #printer: Printer;
  #held: TranscriptRecord[] | null = [];

  private constructor(redis: Redis, printer: Printer) {
    this.#redis = redis;
    this.#printer = printer;
  }

  static async start(url: string, prefix: string, pairId: string, callId: string | undefined, printer: Printer): Promise<Follower> {
    const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 1 });
    const follower = new Follower(redis, printer);
    let reported = false;
    redis.on('error', (err: Error) => {
      if (reported) return;
      reported = true;
      process.stderr.write(`warning: Redis ${redactUrl(url)}: ${err.message} (retrying)\n`);
    });
    redis.on('ready', () => {
      reported = false;
    });
    const channel = transcriptsChannel(prefix);
    redis.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      let record: TranscriptRecord;
      try {
        record = decodeTranscript(message);
      } catch {
        return; // not ours to judge: the publisher counts its own invalid events
      }
      if (!record.final || record.pairId !== pairId) return;
      if (callId !== undefined && record.callId !== callId) return;
      follower.#accept(record);
    });
    try {
      await redis.connect();
      await redis.subscribe(channel);
    } catch (err) {
      redis.disconnect();
      throw new ConfigError('REDIS_URL', `cannot follow ${channel} on ${redactUrl(url)}: ${errorMessage(err)}`);
    }
    return follower;
  }

  /** Prints what arrived while the history printed, then everything as it comes. */
  live(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const r of held) this.#printer.print(r);
  }

  close(): void {
    this.#redis.disconnect();
  }

  #accept(record: TranscriptRecord): void {
    if (this.#held === null) {
      this.#printer.print(record);
      return;
    }
    this.#held.push(record);
    if (this.#held.length > FOLLOW_MEMORY) this.#held.shift();
  }
}
