import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Locating and building the C baseline in native-bench/. The build is the
 * system compiler via native-bench/build.sh; nothing is downloaded.
 */
const execFileAsync = promisify(execFile);

/** Sources whose change makes a rebuild necessary. */
const SOURCES = ['hot_path.c', 'relay.c', 'rtp_hot.c', 'rtp_hot.h', 'build.sh'] as const;
const BUILD_TIMEOUT_MS = 120_000;

export interface NativePaths {
  dir: string;
  hotPath: string;
  relay: string;
}

/**
 * The repository's native-bench directory. Found relative to this module, which
 * sits at engine/src/bench/native/ in the sources and dist/engine/src/bench/native/
 * when built, so both are tried.
 */
export function nativePaths(): NativePaths {
  const candidates = ['../../../../native-bench/', '../../../../../native-bench/'];
  for (const rel of candidates) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}build.sh`)) return { dir, hotPath: `${dir}build/hot_path`, relay: `${dir}build/relay` };
  }
  throw new Error(`native-bench/ not found next to ${fileURLToPath(import.meta.url)}`);
}

function mtime(path: string): number {
  return statSync(path).mtimeMs;
}

/** True when a binary is missing or older than any source. */
export function needsBuild(paths: NativePaths = nativePaths()): boolean {
  if (!existsSync(paths.hotPath) || !existsSync(paths.relay)) return true;
  const built = Math.min(mtime(paths.hotPath), mtime(paths.relay));
  return SOURCES.some((s) => mtime(`${paths.dir}${s}`) > built);
}

/** Runs build.sh when needed (or always with `force`); rejects with the compiler's output on failure. */
export async function ensureNativeBuild(options: { force?: boolean } = {}): Promise<NativePaths> {
  const paths = nativePaths();
  if (!options.force && !needsBuild(paths)) return paths;
  try {
    await execFileAsync('sh', [`${paths.dir}build.sh`], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: unknown; message?: unknown };
    const detail = typeof e.stderr === 'string' && e.stderr !== '' ? e.stderr : String(e.message);
    throw new Error(`building native-bench failed: ${detail.trim()}`);
  }
  return paths;
}
