// The product's `tandem`: its own commands. tools/cli/main.ts adds the tools' commands.
import { runCli } from './program.js';

await runCli(process.argv);
