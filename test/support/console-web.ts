import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Builds the console's front-end into dist/console-web, as `npm run build` does (tests run from the sources). */
export async function buildConsoleWeb(): Promise<void> {
  await promisify(execFile)(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}control/web/tsconfig.json`], { cwd: ROOT });
  await copyFile(`${ROOT}control/web/console.css`, `${ROOT}dist/console-web/console.css`);
}
