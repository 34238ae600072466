import { Option, type Command } from 'commander';
import { ConfigError } from '../../../../common/src/errors.js';
import { positiveInt } from '../../realtime/cli-support.js';
import type { CallRecord } from '../../records/call-record.js';
import type { CallRecordSource } from '../../records/call-records.js';
import { MAX_CALL_RECORDS_LIMIT } from '../../records/call-record-query.js';
import { formatCallTable, parseSince } from '../../records/format.js';
import { PAIR_ID_PATTERN } from '../../transcripts/schema.js';
import { ApiRequestError, apiGet, apiTarget, type ApiTargetFlags } from './api-client.js';

interface CallsFlags extends ApiTargetFlags {
  since?: string;
  limit: number;
  pair?: string;
  json?: boolean;
}

/** `tandem calls`: recent calls from the running node's API, with their quality at a glance. */
export function registerCallsCommand(program: Command): void {
  program
    .command('calls')
    .description('list recent calls from the running node (its internal API): who, how long, how it ended, MOS and loss per leg')
    .addOption(new Option('--since <when>', 'calls that ended since: a duration (90s, 10m, 2h, 7d) or an ISO date-time'))
    .addOption(new Option('--limit <n>', `at most this many, newest first (≤ ${MAX_CALL_RECORDS_LIMIT})`).default(20).argParser(positiveInt))
    .addOption(new Option('--pair <pairId>', 'only calls on this pair'))
    .addOption(new Option('--json', 'the full records, one JSON object per line (NDJSON)'))
    .addOption(new Option('--api-socket <path>', "the API's Unix socket").env('TANDEM_API_SOCKET'))
    .addOption(new Option('--api-url <url>', 'the API on TCP (default http://127.0.0.1:$TANDEM_API_PORT, 8089); token from TANDEM_API_TOKEN'))
    .action(async (flags: CallsFlags) => {
      try {
        if (flags.limit > MAX_CALL_RECORDS_LIMIT) throw new ConfigError('--limit', `at most ${MAX_CALL_RECORDS_LIMIT}`);
        if (flags.pair !== undefined && !PAIR_ID_PATTERN.test(flags.pair)) throw new ConfigError('--pair', `invalid PAIR_ID ${JSON.stringify(flags.pair)}: expected e.g. pair_001`);
        let since: Date | undefined;
        try {
          since = flags.since === undefined ? undefined : parseSince(flags.since);
        } catch (err) {
          throw new ConfigError('--since', err instanceof Error ? err.message : String(err));
        }
        const query = new URLSearchParams({ limit: String(flags.limit) });
        if (since !== undefined) query.set('since', since.toISOString());
        if (flags.pair !== undefined) query.set('pairId', flags.pair);
        const answer = await apiGet<{ calls: CallRecord[]; source: CallRecordSource }>(apiTarget(flags), `/v1/calls?${query.toString()}`);
        if (flags.json) {
          for (const call of answer.calls) process.stdout.write(`${JSON.stringify(call)}\n`);
          return;
        }
        if (answer.source === 'memory') {
          process.stderr.write("note: from the node's memory (no database, or it is not answering): only this node's calls since it started\n");
        }
        if (answer.calls.length === 0) {
          process.stdout.write(`no calls${since === undefined ? '' : ` ended since ${since.toISOString()}`}\n`);
          return;
        }
        process.stdout.write(formatCallTable(answer.calls));
      } catch (err) {
        const message = err instanceof ApiRequestError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
        process.stderr.write(`error: ${message}\n`);
        process.exitCode = 1;
      }
    });
}
