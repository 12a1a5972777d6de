import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing outside the repository; `data` reads the real
// Kannada-MNIST files from $KCONV_DATA (default ../shared/data/kannada).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/real-data/**'], testTimeout: 60_000 } },
      { test: { name: 'data', include: ['test/real-data/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, fileParallelism: false } },
    ],
  },
});
