import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'examples/*/src/**/*.test.ts',
      'bench/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Bounds, not expectations: a passing test ends when it is done. Wide because CI may run at load 20
    // and more on 2 cores: one CLI spawn from source (tsx) costs ~5-10 s of CPU and took 26 s of wall
    // time at load 33 and over 30 s at load 59 (every `vigil export` test of src/cli/export.test.ts
    // timed out at the former 30 s).
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
