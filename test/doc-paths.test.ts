/**
 * Every path of this repository that a doc or a code comment names exists (issue 12): after a
 * file moves, a reference to its old place fails here instead of sending a reader nowhere.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A path under one of the repository's top folders, ending in an extension we keep files under. */
const PATH = /(?<![\w./-])((?:common|engine|control|tools|test|docs|native|native-bench|asterisk|bin)\/[\w./-]*\.(?:json|js|ts|mjs|md|c|h|sh|conf|xml|sql|png|py|yaml|yml|ini|wav|pcap))(?![\w-])/g;
const SCANNED = /\.(?:md|ts|mjs|c|h|sh)$/;

/** Names that are not references: the layout test's made-up importers. */
const NOT_REFERENCES = new Set(['common/src/zz.ts', 'control/src/calls/zz.ts', 'engine/src/codec/zz.ts', 'tools/media-load/zz.ts']);

export function missingPaths(root: string, files: readonly string[]): Array<{ path: string; in: string }> {
  const missing: Array<{ path: string; in: string }> = [];
  for (const file of files) {
    // This file's own examples name paths that do not exist on purpose.
    if (!SCANNED.test(file) || file === 'test/doc-paths.test.ts') continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(PATH)) {
      const path = m[1]!.replace(/\.$/, '');
      if (NOT_REFERENCES.has(path)) continue;
      const candidates = [path, join(dirname(file), path)];
      // An ESM import names the compiled .js of a .ts source.
      if (path.endsWith('.js')) candidates.push(`${path.slice(0, -3)}.ts`);
      if (!candidates.some((p) => existsSync(join(root, p)))) missing.push({ path, in: file });
    }
  }
  return missing;
}

describe('paths named in docs and comments', () => {
  it('every repository path a doc or comment names exists', async () => {
    const { stdout } = await run('git', ['ls-files'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const files = stdout.split('\n').filter((f) => f !== '' && existsSync(join(ROOT, f)));
    expect(files.length).toBeGreaterThan(100);
    expect(missingPaths(ROOT, files)).toEqual([]);
  });

  it('names a path that is gone, and the file that names it', () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-doc-paths-'));
    try {
      mkdirSync(join(root, 'docs'));
      mkdirSync(join(root, 'engine/src'), { recursive: true });
      writeFileSync(join(root, 'engine/src/index.ts'), '');
      writeFileSync(join(root, 'docs/a.md'), 'See engine/src/index.ts and engine/src/worker/shard.ts.\n');
      writeFileSync(join(root, 'engine/src/b.ts'), "// the door: engine/src/index.js (an import's name)\n");
      expect(missingPaths(root, ['docs/a.md', 'engine/src/b.ts', 'engine/src/index.ts'])).toEqual([{ path: 'engine/src/worker/shard.ts', in: 'docs/a.md' }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
