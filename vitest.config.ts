import { defineConfig } from 'vitest/config';

const jsonReport = process.env['TANDEM_TEST_REPORT'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests open real UDP sockets, PostgreSQL databases and Redis prefixes; on a
    // 2-core machine a bounded number of files at once keeps them honest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    ...(jsonReport ? { outputFile: { json: jsonReport } } : {}),
  },
});
