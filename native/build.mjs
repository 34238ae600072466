#!/usr/bin/env node
// Builds the udp_batch addon (native/) with node-gyp against the running
// Node's own headers (--nodedir): nothing is downloaded.
//
//   node native/build.mjs             build; exit 1 with the compiler's output on failure (npm run build:addon)
//   node native/build.mjs --optional  npm's install step: never fails the install; on failure one notice
//                                     says why, and Tandem uses node:dgram. Skips the build when the
//                                     addon is already built from the current sources and loads.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const addon = join(here, 'build', 'Release', 'udp_batch.node');
const optional = process.argv.includes('--optional');
const ABI_VERSION = 1;

function giveUp(reason, detail = '') {
  if (optional) {
    console.warn(`tandem: batched socket I/O (native/) not built: ${reason}. Tandem will use node:dgram; build it with: npm run build:addon`);
    if (detail) console.warn(detail);
    process.exit(0);
  }
  console.error(`build:addon: ${reason}`);
  if (detail) console.error(detail);
  process.exit(1);
}

/** Node's headers: npm's nodedir setting, or the prefix the running node was installed under. */
function findNodedir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h')));
}

/** npm's own node-gyp (npm passes its path to scripts), or the one bundled next to this node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((path) => existsSync(path));
}

/** Loads the addon in a child process (a broken .node must not take this script down). */
function loads() {
  const check = `const b = require(${JSON.stringify(addon)}); if (b.abiVersion !== ${ABI_VERSION}) throw new Error('ABI ' + b.abiVersion);`;
  const r = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ');
}

function upToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  const sources = [join(here, 'binding.gyp'), ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f))];
  return sources.every((s) => statSync(s).mtimeMs <= built) && loads() === null;
}

if (process.platform !== 'linux') giveUp(`it is built for Linux only (this is ${process.platform})`);
if (optional && upToDate()) process.exit(0);
const nodedir = findNodedir();
if (!nodedir) giveUp(`Node's headers (include/node/node_api.h) were not found; set them with: npm config set nodedir <prefix> (no download by design)`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp was not found (it comes with npm)');

const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: here,
  encoding: 'utf8',
  stdio: optional ? 'pipe' : 'inherit',
});
if (r.error) giveUp(`node-gyp did not run: ${r.error.message}`);
if (r.status !== 0) {
  const tail = optional ? `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n') : '';
  giveUp(`node-gyp failed (exit ${r.status}; it needs python3, make and a C compiler)`, tail);
}
const problem = loads();
if (problem) giveUp(`the built addon does not load: ${problem}`);
console.log(`tandem: batched socket I/O built (${addon})`);
