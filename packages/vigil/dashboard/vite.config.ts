/**
 * Builds the dashboard into packages/vigil/dist/dashboard, which the hub serves at `/`
 * (`createApi`'s `dashboardDir`). Relative asset URLs (`base: './'`), so the hub may sit behind a
 * path prefix. Everything is bundled: the page fetches nothing from another origin.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 200,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
