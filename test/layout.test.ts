/**
 * The house's doors (docs/layout.md): the product's build holds no tooling, the
 * lint rule refuses imports across the doors, and the CLI offers the tools'
 * commands only when it is the tools' entry.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOL_COMMANDS = ['demo', 'loadtest', 'reference-service'];

function commandsIn(help: string): string[] {
  return [...help.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!);
}

describe('product and tools apart', () => {
  it("the product's build compiles no file from tools/, and no tooling from the product's folders", async () => {
    const { stdout } = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--listFilesOnly'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const own = stdout.split('\n').filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'));
    expect(own.length).toBeGreaterThan(100);
    expect(own.filter((f) => f.includes('/tools/') || f.endsWith('.bench.ts'))).toEqual([]);
    // The product: both halves, what they share, and the console front-end's wire shapes.
    expect(own.filter((f) => !/\/(common\/src|engine\/src|control\/src|control\/web)\//.test(f))).toEqual([]);
  }, 120_000);

  it('lint refuses tools in the product, engine internals in control/, control/ in the engine, and either half in common/', async () => {
    // The rule as the project's config sets it for that path, run on its own (no type information needed).
    const eslint = new ESLint({ cwd: ROOT });
    const linter = new Linter({ configType: 'flat' });
    const lint = async (file: string, code: string): Promise<string[]> => {
      const config = (await eslint.calculateConfigForFile(`${ROOT}${file}`)) as { rules?: Record<string, Linter.RuleEntry> };
      const rule = config.rules?.['no-restricted-imports'];
      if (rule === undefined) return [];
      return linter
        .verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: { 'no-restricted-imports': rule } }], `${ROOT}${file}`)
        .map((m) => m.message);
    };
    const code = (spec: string): string => `import * as x from '${spec}';\nexport const y = x;\n`;
    expect(await lint('control/src/calls/zz.ts', code('../../../tools/asterisk-simulator/index.js'))).toHaveLength(1);
    expect(await lint('control/src/calls/zz.ts', code('../../../engine/src/codec/index.js'))).toHaveLength(1);
    expect(await lint('control/src/calls/zz.ts', code('../../../engine/src/index.js'))).toEqual([]);
    expect(await lint('engine/src/codec/zz.ts', code('../../../control/src/calls/index.js'))).toHaveLength(1);
    expect(await lint('engine/src/codec/zz.ts', code('../../../tools/media-load/index.js'))).toHaveLength(1);
    expect(await lint('common/src/zz.ts', code('../../engine/src/index.js'))).toHaveLength(1);
    // Tools and tests may use the product's internals.
    expect(await lint('tools/media-load/zz.ts', code('../../engine/src/codec/index.js'))).toEqual([]);
  }, 120_000);

  it("the product's CLI has no tool commands; the tools' entry adds them to every product command", async () => {
    const product = commandsIn((await run(process.execPath, ['--import', 'tsx', 'control/src/cli/main.ts', '--help'], { cwd: ROOT })).stdout);
    const withTools = commandsIn((await run(process.execPath, ['--import', 'tsx', 'tools/cli/main.ts', '--help'], { cwd: ROOT })).stdout);
    expect(product).toContain('start');
    expect(product.filter((c) => TOOL_COMMANDS.includes(c))).toEqual([]);
    expect(withTools).toEqual(expect.arrayContaining([...product.filter((c) => c !== 'help'), ...TOOL_COMMANDS]));
  }, 120_000);
});
