import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * native/build.mjs, on a copy of native/ (a failed node-gyp rebuild removes
 * its build directory, which must not be the real one): the install step
 * never fails npm ci, says why in one line, and skips a build that is current.
 */
const NATIVE = fileURLToPath(new URL('../../../native/', import.meta.url));
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function copyOfNative(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-native-'));
  dirs.push(dir);
  for (const f of ['build.mjs', 'binding.gyp', 'src']) cpSync(join(NATIVE, f), join(dir, f), { recursive: true });
  return dir;
}

function build(dir: string, args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(dir, 'build.mjs'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('native/build.mjs', () => {
  it('--optional (the install step): a failed compile exits 0 with one notice saying why and how to build later', () => {
    const dir = copyOfNative();
    const r = build(dir, ['--optional'], { CC: '/bin/false' });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('tandem: batched socket I/O (native/) not built: node-gyp failed');
    expect(r.out).toContain('Tandem will use node:dgram; build it with: npm run build:addon');
    expect(existsSync(join(dir, 'build', 'Release', 'udp_batch.node'))).toBe(false);
  }, 240_000);

  it('without --optional (npm run build:addon): a failed compile exits 1', () => {
    const dir = copyOfNative();
    const r = build(dir, [], { CC: '/bin/false' });
    expect(r.status).toBe(1);
    expect(r.out).toContain('build:addon: node-gyp failed');
  }, 240_000);

  it('builds an addon that loads, and skips the build when it is current', () => {
    const dir = copyOfNative();
    const first = build(dir, ['--optional']);
    expect(first.status, first.out).toBe(0);
    expect(first.out).toContain('tandem: batched socket I/O built');
    expect(existsSync(join(dir, 'build', 'Release', 'udp_batch.node'))).toBe(true);
    const again = build(dir, ['--optional'], { CC: '/bin/false' });
    // Current and loading: nothing rebuilt (a rebuild with this compiler would have failed), nothing said.
    expect(again.status).toBe(0);
    expect(again.out).toBe('');
  }, 240_000);
});
