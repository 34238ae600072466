import { describe, expect, it } from 'vitest';
import { runProductDemo } from '../../../tools/demo/product-demo.js';

/**
 * `npm start` (tandem demo): the product behind the Asterisk simulator, with
 * translated calls of espeak-ng speech and the console's address printed.
 */
describe('tandem demo', () => {
  it('prints the console address and a token that logs in, runs translated calls, and sums them up', async () => {
    const lines: string[] = [];
    const seen: { login: Promise<number> | null } = { login: null };
    const summary = await runProductDemo({
      calls: 2,
      seconds: 20,
      callSeconds: 8,
      print: (line) => {
        lines.push(line);
        const token = /^Token for this run: (\S+)$/.exec(line)?.[1];
        const consoleUrl = lines.map((l) => /^Console: (\S+)$/.exec(l)?.[1]).find((u) => u !== undefined);
        if (token !== undefined && consoleUrl !== undefined) {
          seen.login = fetch(`${consoleUrl.replace(/\/console$/, '')}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }).then((r) => r.status);
        }
      },
    });
    expect(lines[1]).toMatch(/^Console: http:\/\/127\.0\.0\.1:\d+\/console$/);
    expect(await seen.login).toBe(204);
    expect(summary.placed).toBeGreaterThanOrEqual(2);
    // Calls last 6–10 s and are replaced: some ended within the 20 s.
    expect(summary.ended).toBeGreaterThanOrEqual(1);
    expect(summary.transcripts).toBeGreaterThanOrEqual(1);
    expect(summary.latencyMedianMs).toBeGreaterThan(0);
    expect(summary.mosMean).toBeGreaterThan(1);
  }, 120_000);
});
