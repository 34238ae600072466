import { defineConfig } from 'vitest/config';

const jsonReport = process.env['TANDEM_TEST_REPORT'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests open real UDP sockets, PostgreSQL databases and Redis prefixes; on a
    // 2-core machine a bounded number of files at once keeps them honest.
    maxWorkers: 2,
    // Deadlines only end a stuck test: on a busy box (both cores taken by a compile)
    // a test that takes 5 s idle may take several times that. Waits inside tests are
    // for events (test/support/rtp-peer.ts waitFor: 30 s), never for a speed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    ...(jsonReport ? { outputFile: { json: jsonReport } } : {}),
  },
});
