import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { START_ENV_VARIABLES, registerStartCommand } from '../../../control/src/cli/commands/start.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The variables in the first column of the README's table under "Environment of `tandem start`". */
function documentedVariables(): string[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('### Environment of `tandem start`');
  if (start < 0) throw new Error('README has no "Environment of `tandem start`" section');
  const section = text.slice(start, text.indexOf('\n## ', start));
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (first === undefined || first === 'variable') continue;
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.push(m[1]!);
  }
  return names;
}

/** What the command's flags read from the environment (`--workers` ← TANDEM_WORKERS …). */
function flagVariables(): string[] {
  const program = new Command();
  registerStartCommand(program);
  const start = program.commands.find((c) => c.name() === 'start');
  return (start?.options ?? []).flatMap((o) => (o.envVar ? [o.envVar] : []));
}

describe("the README's table of tandem start's environment", () => {
  it('lists every variable tandem start reads, once, and nothing else', () => {
    const read = new Set([...START_ENV_VARIABLES, ...flagVariables()]);
    expect(read.has('ARI_PASSWORD') && read.has('TANDEM_WORKERS') && read.has('REDIS_URL') && read.has('TANDEM_LANG_A')).toBe(true);
    const documented = documentedVariables();
    expect([...documented].sort()).toEqual([...read].sort());
    expect(new Set(documented).size).toBe(documented.length);
  });
});
