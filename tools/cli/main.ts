// `tandem` with the tools: the product's commands plus loadtest, demo, reference-service and soak.
import { runCli } from '../../control/src/cli/program.js';
import { registerCascadeDoublesCommand } from './cascade-doubles.js';
import { registerDemoCommand } from './demo.js';
import { registerLoadtestCommand } from './loadtest.js';
import { registerReferenceServiceCommand } from './reference-service.js';
import { registerSoakCommand } from './soak.js';

await runCli(process.argv, [registerCascadeDoublesCommand, registerDemoCommand, registerLoadtestCommand, registerReferenceServiceCommand, registerSoakCommand]);
