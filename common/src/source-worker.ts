import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on `module` (a URL next to the caller). From the
 * build it is plain JS; from the TypeScript sources (tests, tsx) the thread
 * boots from a one-line script that registers tsx's loader, then imports the
 * .ts module — `--import tsx` in a Worker's execArgv does not load hooks on
 * Node 20. `import.meta.resolve` is missing where the caller itself was
 * transformed to CommonJS (inside a piscina worker), so tsx is found through
 * require.resolve there.
 */
export function startSourceWorker(module: URL, options: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const tsx = resolveTsx();
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/** `./name.ts` when running from the sources, `./name.js` from the build. */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}.${callerUrl.endsWith('.ts') ? 'ts' : 'js'}`, callerUrl);
}

function resolveTsx(): string {
  const meta = import.meta as ImportMeta & { resolve?: (specifier: string) => string };
  if (typeof meta.resolve === 'function') return meta.resolve('tsx/esm/api');
  // require.resolve would pick the package's CommonJS entry: read the ESM one from its exports.
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = require(manifestPath) as { exports?: Record<string, { import?: { default?: string } }> };
  const entry = manifest.exports?.['./esm/api']?.import?.default;
  if (entry === undefined) throw new Error('tsx does not export ./esm/api for import');
  return pathToFileURL(join(dirname(manifestPath), entry)).href;
}
