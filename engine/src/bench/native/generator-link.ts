import { fork, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../../common/errors.js';
import {
  GENERATOR_ENV,
  fromGeneratorSchema,
  parseMessage,
  type FromGenerator,
  type ToGenerator,
} from '../../loadtest/generator-protocol.js';

/**
 * The parent's side of the load generator child (engine/src/loadtest/generator.ts),
 * for driving something other than Tandem's engine with it: typed messages in,
 * one waiter per awaited message type, every waiter failed when the child
 * fails or dies. Mirrors the link inside loadtest/orchestrator.ts, which is
 * not exported.
 */
function generatorModule(): { path: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    path: new URL(`../../loadtest/generator.${fromSource ? 'ts' : 'js'}`, import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

interface Waiter {
  type: FromGenerator['type'];
  resolve: (m: FromGenerator) => void;
  reject: (e: Error) => void;
}

export class GeneratorLink {
  readonly child: ChildProcess;
  /** Phase messages as they come ('probe', 'measuring', 'draining'). */
  onPhase: (phase: Extract<FromGenerator, { type: 'phase' }>['phase']) => void = () => {};
  #failure: Error | null = null;
  #reported = false;
  readonly #waiters = new Set<Waiter>();

  constructor() {
    const { path, execArgv } = generatorModule();
    this.child = fork(path, [], {
      execArgv,
      env: { ...process.env, [GENERATOR_ENV]: '1' },
      stdio: ['ignore', 2, 2, 'ipc'],
      serialization: 'advanced',
    });
    this.child.on('message', (raw: unknown) => {
      let message: FromGenerator;
      try {
        message = parseMessage(fromGeneratorSchema, raw, 'generator');
      } catch (err) {
        this.#fail(new Error(errorMessage(err)));
        return;
      }
      if (message.type === 'error') {
        this.#fail(new Error(`generator: ${message.message}`));
        return;
      }
      if (message.type === 'result') this.#reported = true;
      if (message.type === 'phase') this.onPhase(message.phase);
      for (const w of [...this.#waiters]) {
        if (w.type === message.type) {
          this.#waiters.delete(w);
          w.resolve(message);
        }
      }
    });
    this.child.on('error', (err) => this.#fail(new Error(`generator process: ${err.message}`)));
    this.child.on('exit', (code, signal) => this.#fail(new Error(`generator exited (code ${code ?? '-'}, signal ${signal ?? '-'})`)));
  }

  send(message: ToGenerator): void {
    if (this.#failure) throw this.#failure;
    if (this.child.connected) this.child.send(message);
  }

  waitFor<T extends FromGenerator['type']>(type: T, timeoutMs: number): Promise<Extract<FromGenerator, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`generator sent no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromGenerator, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Asks the child to leave ('stop' after its result, 'abort' before), then kills it after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) {
      try {
        this.child.send({ type: this.#reported ? 'stop' : 'abort' } satisfies ToGenerator);
      } catch {
        // The channel closed in between: the exit still comes.
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([gone, grace])) === 'timeout') {
      this.child.kill('SIGKILL');
      await gone;
    }
    clearTimeout(timer);
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const w of this.#waiters) w.reject(error);
    this.#waiters.clear();
  }
}
