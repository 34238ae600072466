import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds the console's front-end into dist/console-web, as `npm run build` does
 * (tests run from the sources). Built aside and renamed into place file by file,
 * so a test file building while another's browser loads the page never serves a
 * half-written script.
 */
export async function buildConsoleWeb(): Promise<void> {
  await mkdir(`${ROOT}dist`, { recursive: true });
  const aside = await mkdtemp(`${ROOT}dist/.console-web-`);
  try {
    await promisify(execFile)(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}control/web/tsconfig.json`, '--outDir', aside], { cwd: ROOT });
    await copyFile(`${ROOT}control/web/console.css`, `${aside}/console.css`);
    await mkdir(`${ROOT}dist/console-web`, { recursive: true });
    for (const name of await readdir(aside)) await rename(`${aside}/${name}`, `${ROOT}dist/console-web/${name}`);
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}
