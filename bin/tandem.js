#!/usr/bin/env node
// The installed entry point runs the compiled build; `npm run build` makes it.
import { existsSync } from 'node:fs';

const main = new URL('../dist/control/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tandem: the build is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(main.href);
