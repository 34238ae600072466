// `tandem` with the tools: the product's commands plus loadtest, demo and reference-service.
import { runCli } from '../../control/src/cli/program.js';
import { registerDemoCommand } from './demo.js';
import { registerLoadtestCommand } from './loadtest.js';
import { registerReferenceServiceCommand } from './reference-service.js';

await runCli(process.argv, [registerDemoCommand, registerLoadtestCommand, registerReferenceServiceCommand]);
