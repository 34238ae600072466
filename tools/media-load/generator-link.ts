import { fork, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { LoadTestError } from './errors.js';
import { GENERATOR_ENV, fromGeneratorSchema, parseMessage, type FromGenerator, type ToGenerator } from './generator-protocol.js';

const log = logger('loadtest.generator-link');

function generatorModule(): { path: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    path: new URL(`./generator.${fromSource ? 'ts' : 'js'}`, import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

/**
 * The driver's side of the IPC channel to a forked generator process (the load
 * test's orchestrator and the native relay bench both use it): typed messages in, one waiter
 * per awaited message type, and every waiter failed when the child dies.
 */
export class GeneratorLink {
  readonly child: ChildProcess;
  #failure: LoadTestError | null = null;
  #reported = false;
  readonly #waiters = new Set<{ type: FromGenerator['type']; resolve: (m: FromGenerator) => void; reject: (e: Error) => void }>();
  readonly #onMessage: (m: FromGenerator) => void;

  constructor(onMessage: (m: FromGenerator) => void) {
    this.#onMessage = onMessage;
    const { path, execArgv } = generatorModule();
    this.child = fork(path, [], {
      execArgv,
      env: { ...process.env, [GENERATOR_ENV]: '1' },
      // The generator's logs go to our stderr, never into a report on stdout.
      stdio: ['ignore', 2, 2, 'ipc'],
      serialization: 'advanced',
    });
    this.child.on('message', (raw: unknown) => {
      let message: FromGenerator;
      try {
        message = parseMessage(fromGeneratorSchema, raw, 'generator');
      } catch (err) {
        this.#fail(new LoadTestError('GENERATOR_FAILED', errorMessage(err)));
        return;
      }
      if (message.type === 'error') {
        this.#fail(new LoadTestError('GENERATOR_FAILED', `generator: ${message.message}`));
        return;
      }
      if (message.type === 'result') this.#reported = true;
      this.#onMessage(message);
      for (const w of [...this.#waiters]) {
        if (w.type === message.type) {
          this.#waiters.delete(w);
          w.resolve(message);
        }
      }
    });
    this.child.on('error', (err) => this.#fail(new LoadTestError('GENERATOR_FAILED', `generator process: ${err.message}`)));
    this.child.on('exit', (code, signal) => {
      this.#fail(new LoadTestError('GENERATOR_EXITED', `generator exited (code ${code ?? '-'}, signal ${signal ?? '-'}) before it reported`));
    });
  }

  send(message: ToGenerator): void {
    if (this.#failure) throw this.#failure;
    if (this.child.connected) this.child.send(message);
  }

  waitFor<T extends FromGenerator['type']>(type: T, timeoutMs: number): Promise<Extract<FromGenerator, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const waiting = new Promise<Extract<FromGenerator, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new LoadTestError('DEADLINE', `generator sent no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m: FromGenerator) => {
          clearTimeout(timer);
          resolve(m as Extract<FromGenerator, { type: T }>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.add(waiter);
    });
    // A waiter can fail (child gone) before its caller reaches the await; that must not be an
    // unhandled rejection. The caller still sees the rejection when it awaits.
    waiting.catch(() => undefined);
    return waiting;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Tells the child to stop (clean after its result, abort otherwise), waits, then kills it. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) {
      try {
        this.child.send({ type: this.#reported ? 'stop' : 'abort' } satisfies ToGenerator);
      } catch {
        // The channel closed in between: the exit below still comes.
      }
    }
    const waitExit = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const exited = await Promise.race([gone.then(() => true), timeout]);
      clearTimeout(timer);
      return exited || this.exited;
    };
    if (await waitExit(graceMs)) return;
    this.child.kill('SIGKILL');
    if (!(await waitExit(graceMs))) log.error({ pid: this.child.pid }, 'the generator process did not exit after SIGKILL');
  }

  #fail(error: LoadTestError): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const w of this.#waiters) w.reject(error);
    this.#waiters.clear();
  }
}
