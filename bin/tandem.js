#!/usr/bin/env node
// The installed entry point runs the compiled build; `npm run build` makes it. With the
// tools built too (dist-tools/), `tandem` also offers loadtest, demo and reference-service.
import { existsSync } from 'node:fs';

const withTools = new URL('../dist-tools/tools/cli/main.js', import.meta.url);
const product = new URL('../dist/control/src/cli/main.js', import.meta.url);
const main = existsSync(withTools) ? withTools : product;
if (!existsSync(main)) {
  process.stderr.write('tandem: the build is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(main.href);
