import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Only plain file names of the kinds the build makes: no paths, no dot files. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(js|css|svg)$/;

/**
 * Where `npm run build` puts the front-end (dist/console-web): found from the
 * sources (control/src/console), from the product's build (dist/control/src/console)
 * and from the tools' build (dist-tools/control/src/console, which runs the product's
 * front-end). Null when it was never built.
 */
export function consoleAssetsDir(): string | null {
  for (const relative of ['../../../dist/console-web/', '../../../console-web/', '../../../../dist/console-web/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, 'main.js'))) return dir;
  }
  return null;
}

/** The file behind an asset name, or null for a name that is not one. */
export async function consoleAsset(dir: string | null, name: string): Promise<{ path: string; contentType: string } | null> {
  const match = ASSET_NAME.exec(name);
  if (dir === null || match === null) return null;
  const path = join(dir, name);
  const info = await stat(path).catch(() => null);
  if (info === null || !info.isFile()) return null;
  return { path, contentType: CONTENT_TYPES[match[1] ?? ''] ?? 'application/octet-stream' };
}
