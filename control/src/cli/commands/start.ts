import { Option, type Command } from 'commander';
import { z } from 'zod';
import { envIssueError } from '../../../../common/src/env-error.js';
import { logger } from '../../../../common/src/logger.js';
import { redactUrlPassword } from '../../../../common/src/redact-url.js';
import { PAIR_STORE_ENV, pairStoreSettingsFromEnv } from '../../alloc/index.js';
import { TRANSLATION_ENV_VARIABLES, translationFromEnv } from '../../calls/translation-settings.js';
import { TandemNode } from '../../node/tandem-node.js';
import { addEngineOptions, engineConfigFromFlags, type EngineFlags } from './engine-options.js';
import { untilSignal } from './signals.js';

/**
 * `tandem start`: the control plane and the engine together against
 * ARI_URL. Pairs live in Redis when REDIS_URL is set, in memory otherwise.
 */
const startEnvSchema = z.object({
  ARI_URL: z.url({ protocol: /^https?$/, error: 'must be a URL like http://127.0.0.1:8088' }),
  ARI_USERNAME: z.string().min(1).default('tandem'),
  ARI_PASSWORD: z.string().min(1),
  ARI_APP: z.string().min(1).default('pair_session'),
  TANDEM_API_SOCKET: z.string().min(1).optional(),
  TANDEM_API_TOKEN: z.string().min(16).optional(),
  TANDEM_API_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  TANDEM_ORIGINATE_TIMEOUT: z.coerce.number().int().min(1).max(600).optional(),
  /** With the realtime schema: pairs follow PJSIP realtime; with AMI too, presence is tracked. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres://').optional(),
  /** How often running translated calls re-read their extensions' languages (ms; 0 = only at call start). */
  TANDEM_LANGUAGE_FOLLOW_MS: z.coerce.number().int().min(0).max(600_000).optional(),
  AMI_HOST: z.string().min(1).default('127.0.0.1'),
  AMI_PORT: z.coerce.number().int().min(1).max(65535).default(5038),
  AMI_USERNAME: z.string().min(1).optional(),
  AMI_SECRET: z.string().min(1).optional(),
  /** Record every call (4-channel WAV: both legs, original and translated) into this directory. */
  TANDEM_RECORD_DIR: z.string().min(1).optional(),
  /** The stored recording: a 4-channel WAV, or Ogg/Opus transcoded from it after the call. */
  TANDEM_RECORD_FORMAT: z.enum(['wav', 'opus']).default('wav'),
  /** Listen-in: most operators listening at once on this node. */
  TANDEM_LISTEN_MAX: z.coerce.number().int().min(0).max(1000).optional(),
  /** Listen-in: comma-separated STUN/TURN URLs for a LAN or beyond (default none: host candidates only). */
  TANDEM_LISTEN_ICE_SERVERS: z.string().min(1).optional(),
  /** Where Asterisk serves media WebSockets (default: ARI_URL's host, ws://<host>/media/); --media websocket only. */
  TANDEM_MEDIA_URL: z.string().min(1).optional(),
  /** How long SIGTERM / `tandem drain` lets calls in flight finish before tearing them down. */
  TANDEM_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).max(86_400_000).optional(),
  /** At start, take over the calls a previous process of this node left up (default), or tear them down. */
  TANDEM_ADOPT_CALLS: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  /** Fault drills over the internal API (the soak terminates an engine worker); never on by default. */
  TANDEM_FAULT_DRILLS: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

/**
 * Every environment variable `tandem start` reads besides its flags' own
 * (`--workers` … take TANDEM_WORKERS …): the README's variable table lists
 * each (test/control/cli/start-env-doc.test.ts keeps them in step).
 */
export const START_ENV_VARIABLES: readonly string[] = [
  ...Object.keys(startEnvSchema.shape),
  ...TRANSLATION_ENV_VARIABLES,
  ...Object.keys(PAIR_STORE_ENV),
  // Read by the logger when the process starts.
  'TANDEM_LOG_LEVEL',
];

/** What a required variable is, for the message when it is missing. */
const REQUIRED_MEANING: Readonly<Record<string, string>> = {
  ARI_URL: "the URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088 (http.conf bindaddr:bindport)",
  ARI_PASSWORD: 'the password of the ARI user in ari.conf (the user is ARI_USERNAME, default tandem)',
};

export function readStartEnv(env: NodeJS.ProcessEnv): z.output<typeof startEnvSchema> {
  // An empty variable means unset (as `FOO= tandem start` intends).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = startEnvSchema.safeParse(present);
  if (!result.success) throw envIssueError(result.error.issues, present, REQUIRED_MEANING);
  return result.data;
}

export function registerStartCommand(program: Command): void {
  addEngineOptions(
    program
      .command('start')
      .description('run the pair_session ARI app and the media engine together (needs ARI_URL, ARI_PASSWORD)')
      .addOption(new Option('--no-api', 'do not serve the internal HTTP API'))
      .addOption(
        new Option('--media <transport>', 'externalMedia transport: rtp (UnicastRTP) or websocket (chan_websocket, Asterisk 22.6+; needed for slin16)')
          .choices(['rtp', 'websocket'])
          .env('TANDEM_MEDIA_TRANSPORT')
          .default('rtp'),
      ),
  ).action(async (flags: EngineFlags & { api: boolean; media: 'rtp' | 'websocket' }) => {
    const log = logger('cli.start');
    const env = readStartEnv(process.env);
    const translation = translationFromEnv(process.env);
    const api = flags.api
      ? env.TANDEM_API_SOCKET
        ? { socketPath: env.TANDEM_API_SOCKET }
        : env.TANDEM_API_TOKEN
          ? { token: env.TANDEM_API_TOKEN, port: env.TANDEM_API_PORT ?? 8089 }
          : undefined
      : undefined;
    if (flags.api && !api) log.warn('internal API not served: set TANDEM_API_SOCKET, or TANDEM_API_TOKEN for TCP on 127.0.0.1');
    // A signal while the node still waits for Asterisk ends the wait and exits cleanly.
    const stopping = new AbortController();
    const signalled = untilSignal().then((signal) => {
      stopping.abort(new Error(`${signal} while starting`));
      return signal;
    });
    const node = await TandemNode.start({
      signal: stopping.signal,
      engine: { ...engineConfigFromFlags(flags), ...(env.TANDEM_RECORD_DIR ? { recording: { dir: env.TANDEM_RECORD_DIR, format: env.TANDEM_RECORD_FORMAT } } : {}) },
      store: pairStoreSettingsFromEnv(process.env),
      ari: { url: env.ARI_URL, username: env.ARI_USERNAME, password: env.ARI_PASSWORD, waitForAsterisk: true },
      calls: {
        app: env.ARI_APP,
        format: flags.codec,
        mediaTransport: flags.media,
        ...(env.TANDEM_MEDIA_URL ? { mediaUrl: env.TANDEM_MEDIA_URL } : {}),
        ...(env.TANDEM_ORIGINATE_TIMEOUT ? { originateTimeoutSeconds: env.TANDEM_ORIGINATE_TIMEOUT } : {}),
        ...(translation ? { translation } : {}),
        ...(env.TANDEM_RECORD_DIR ? { record: true } : {}),
      },
      ...(api ? { api } : {}),
      listen: {
        ...(env.TANDEM_LISTEN_MAX !== undefined ? { maxListeners: env.TANDEM_LISTEN_MAX } : {}),
        ...(env.TANDEM_LISTEN_ICE_SERVERS ? { iceServers: env.TANDEM_LISTEN_ICE_SERVERS.split(',').map((url) => ({ urls: url.trim() })).filter((s) => s.urls !== '') } : {}),
      },
      ...(env.DATABASE_URL
        ? { database: { url: env.DATABASE_URL, ...(env.TANDEM_LANGUAGE_FOLLOW_MS !== undefined ? { languageFollowMs: env.TANDEM_LANGUAGE_FOLLOW_MS } : {}) } }
        : {}),
      ...(env.AMI_USERNAME && env.AMI_SECRET ? { ami: { host: env.AMI_HOST, port: env.AMI_PORT, username: env.AMI_USERNAME, secret: env.AMI_SECRET } } : {}),
      ...(env.TANDEM_DRAIN_TIMEOUT_MS !== undefined ? { drainTimeoutMs: env.TANDEM_DRAIN_TIMEOUT_MS } : {}),
      ...(env.TANDEM_ADOPT_CALLS !== undefined ? { adoptCalls: env.TANDEM_ADOPT_CALLS === 'true' } : {}),
      ...(env.TANDEM_FAULT_DRILLS === 'true' ? { faultDrills: true } : {}),
    }).catch((err: unknown) => {
      if (stopping.signal.aborted) return null;
      throw err;
    });
    if (node === null) {
      log.info({ signal: await signalled }, 'stopped while starting');
      return;
    }
    process.stdout.write(
      `tandem running: app ${env.ARI_APP} on ${redactUrlPassword(env.ARI_URL)}${node.apiAddress ? `, API ${JSON.stringify(node.apiAddress)}` : ''}; Ctrl-C stops it, SIGTERM drains it\n`,
    );
    if (node.consoleUrl) process.stdout.write(`console: ${node.consoleUrl} (log in with TANDEM_API_TOKEN)\n`);
    // A drain asked over the API (`tandem drain`) ends with the node stopped, like a signal.
    const signal = await Promise.race([signalled, node.stopped.then(() => null)]);
    if (signal === null) {
      log.info('stopped after a drain');
      return;
    }
    if (signal === 'SIGTERM') {
      // SIGTERM is how supervisors stop a service: finish the calls in flight first. A second
      // signal during the drain stops at once (tearing down what is left).
      void untilSignal().then(() => node.close());
      const report = await node.drain();
      log.info({ ...report }, 'stopped after a drain');
      return;
    }
    log.info({ signal }, 'stopping');
    await node.close();
  });
}
