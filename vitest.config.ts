import { defineConfig } from 'vitest/config';

// Three projects (docs/development.md, "Tests"); `npm test` runs unit and cli, where a
// test that makes no assertion fails (expect.requireAssertions).
//   unit: in this process only, with nothing outside the repository. Its setup file makes
//         starting a process, a worker thread or a listening socket throw.
//   cli:  tests that spawn bin/kconv.js or other processes, start worker threads (kconv's
//         --threads) or listen on a port.
//   data: the real Kannada-MNIST files from $KCONV_DATA (default ../shared/data/kannada).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/helpers/in-process-only.ts'],
          testTimeout: 60_000,
          expect: { requireAssertions: true },
        },
      },
      { test: { name: 'cli', include: ['test/cli/**/*.test.ts'], testTimeout: 60_000, expect: { requireAssertions: true } } },
      { test: { name: 'data', include: ['test/real-data/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, fileParallelism: false } },
    ],
  },
});
