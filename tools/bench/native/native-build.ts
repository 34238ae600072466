import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Locating and building the C programs in native-bench/ (the baseline, and the
 * load generator's native core). The build is the system compiler via
 * native-bench/build.sh; nothing is downloaded.
 */
const execFileAsync = promisify(execFile);

/** Sources whose change makes a rebuild necessary. */
const SOURCES = ['hot_path.c', 'relay.c', 'rtp_hot.c', 'rtp_hot.h', 'loadgen.c', 'loadgen_lib.c', 'loadgen_lib.h', 'build.sh'] as const;
/** What the load generator's core alone depends on. */
const LOADGEN_SOURCES = ['loadgen.c', 'loadgen_lib.c', 'loadgen_lib.h', 'build.sh'] as const;
const BUILD_TIMEOUT_MS = 120_000;

export interface NativePaths {
  dir: string;
  hotPath: string;
  relay: string;
  /** The load generator's native core (tools/media-load/native-core.ts). */
  loadgen: string;
}

/**
 * The repository's native-bench directory. Found relative to this module, which
 * sits at tools/bench/native/ in the sources and dist-tools/tools/bench/native/
 * when built, so both are tried.
 */
export function nativePaths(): NativePaths {
  const candidates = ['../../../native-bench/', '../../../../native-bench/'];
  for (const rel of candidates) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}build.sh`)) return { dir, hotPath: `${dir}build/hot_path`, relay: `${dir}build/relay`, loadgen: `${dir}build/loadgen` };
  }
  throw new Error(`native-bench/ not found next to ${fileURLToPath(import.meta.url)}`);
}

function mtime(path: string): number {
  return statSync(path).mtimeMs;
}

/** True when a binary is missing or older than any source. */
export function needsBuild(paths: NativePaths = nativePaths()): boolean {
  if (!existsSync(paths.hotPath) || !existsSync(paths.relay) || !existsSync(paths.loadgen)) return true;
  const built = Math.min(mtime(paths.hotPath), mtime(paths.relay), mtime(paths.loadgen));
  return SOURCES.some((s) => mtime(`${paths.dir}${s}`) > built);
}

function loadgenNeedsBuild(paths: NativePaths): boolean {
  if (!existsSync(paths.loadgen)) return true;
  const built = mtime(paths.loadgen);
  return LOADGEN_SOURCES.some((s) => mtime(`${paths.dir}${s}`) > built);
}

async function runBuild(paths: NativePaths, programs: readonly string[]): Promise<void> {
  try {
    await execFileAsync('sh', [`${paths.dir}build.sh`, ...programs], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: unknown; message?: unknown };
    const detail = typeof e.stderr === 'string' && e.stderr !== '' ? e.stderr : String(e.message);
    throw new Error(`building native-bench failed: ${detail.trim()}`);
  }
}

/** Runs build.sh when needed (or always with `force`); rejects with the compiler's output on failure. */
export async function ensureNativeBuild(options: { force?: boolean } = {}): Promise<NativePaths> {
  const paths = nativePaths();
  if (!options.force && !needsBuild(paths)) return paths;
  await runBuild(paths, []);
  return paths;
}

/** Builds only the load generator's core when it is missing or stale; resolves to its path. */
export async function ensureLoadgenBuild(): Promise<string> {
  const paths = nativePaths();
  if (loadgenNeedsBuild(paths)) await runBuild(paths, ['loadgen']);
  return paths.loadgen;
}
