import type { AmiActionOptions } from './connection.js';
import type { AmiActionSender } from './sorcery.js';

/**
 * Runs a CLI command through the `Command` action and returns its output lines
 * (one `Output:` field per line, as Asterisk 22 sends them; recorded in s7).
 */
export async function amiCommand(ami: AmiActionSender, command: string, options: AmiActionOptions = {}): Promise<string[]> {
  const { response } = await ami.action('Command', [['Command', command]], options);
  return [...response.getAll('Output')];
}

/**
 * Whether Asterisk itself sees PJSIP endpoint `id` (`pjsip show endpoint <id>`);
 * a missing one prints `Unable to find object <id>.` (recorded in s8). For
 * verify-config: proves the realtime path works end to end.
 */
export async function endpointVisible(ami: AmiActionSender, id: string, options: AmiActionOptions = {}): Promise<boolean> {
  if (!/^[A-Za-z0-9_.+-]+$/.test(id)) throw new TypeError(`invalid endpoint id ${JSON.stringify(id)}`);
  const lines = await amiCommand(ami, `pjsip show endpoint ${id}`, options);
  if (lines.some((l) => l.startsWith('Unable to find object'))) return false;
  return lines.some((line) => {
    if (!line.startsWith(' Endpoint:  ')) return false;
    const token = line.slice(12).split(/\s+/)[0] ?? '';
    return token === id || token.startsWith(`${id}/`);
  });
}
