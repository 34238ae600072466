import { fileURLToPath } from 'node:url';
import { siblingModule } from '../../../common/src/source-worker.js';

/** A program and the arguments that come before the relay's own. */
export interface RelayLaunch {
  binary: string;
  binaryArgs: string[];
}

/**
 * How to start the Node relay (node-relay.ts) as a child process: this very
 * Node binary, through tsx when running from the sources (as the load
 * generator is forked), the compiled module from the build.
 */
export function nodeRelayLaunch(): RelayLaunch {
  const script = fileURLToPath(siblingModule(import.meta.url, 'node-relay'));
  const fromSource = script.endsWith('.ts');
  return { binary: process.execPath, binaryArgs: [...(fromSource ? ['--import', 'tsx'] : []), script] };
}
