import { Option, type Command } from 'commander';
import { ApiRequestError, apiPost, apiTarget, type ApiTargetFlags } from './api-client.js';

/** `tandem drain`: asks the running node (its internal API) for what SIGTERM does: a graceful stop. */
export function registerDrainCommand(program: Command): void {
  program
    .command('drain')
    .description('the running node stops taking calls, lets those in flight finish (up to TANDEM_DRAIN_TIMEOUT_MS), then stops')
    .addOption(new Option('--api-socket <path>', "the API's Unix socket").env('TANDEM_API_SOCKET'))
    .addOption(new Option('--api-url <url>', 'the API on TCP (default http://127.0.0.1:$TANDEM_API_PORT, 8089); token from TANDEM_API_TOKEN'))
    .action(async (flags: ApiTargetFlags) => {
      try {
        const answer = await apiPost<{ status: string; calls: number; timeoutMs: number }>(apiTarget(flags), '/v1/node/drain');
        process.stdout.write(`draining: ${answer.calls} call(s) in flight may finish within ${answer.timeoutMs} ms; no new calls are taken; the node stops after\n`);
      } catch (err) {
        const message = err instanceof ApiRequestError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
        process.stderr.write(`error: ${message}\n`);
        process.exitCode = 1;
      }
    });
}
