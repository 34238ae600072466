import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests open real UDP sockets, PostgreSQL databases and Redis prefixes; on a
    // 2-core machine a bounded number of files at once keeps them honest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
