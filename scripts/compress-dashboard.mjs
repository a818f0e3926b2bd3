#!/usr/bin/env node
/**
 * Writes a Brotli (`.br`) and a gzip (`.gz`) copy beside each text file of the built dashboard
 * (packages/vigil/dist/dashboard: index.html, the hashed JS and CSS), which the hub's static route
 * sends to browsers that accept them (`@fastify/static`'s `preCompressed`): the bundle crosses the
 * wire at about a third of its size, compressed once at build time, never per request on the hub's
 * event loop. Run by `npm run build:dashboard` after Vite (which empties the directory first).
 *
 *   node scripts/compress-dashboard.mjs [dir]
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = process.argv[2] ?? fileURLToPath(new URL('../packages/vigil/dist/dashboard', import.meta.url));
const TEXT = /\.(html|js|css|svg|json|txt)$/;

/** Every file under `root`, recursively. */
function* files(root) {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let before = 0;
let after = 0;
for (const path of files(dir)) {
  if (!TEXT.test(path)) continue;
  const body = readFileSync(path);
  const br = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
  before += body.length;
  after += br.length;
}
console.log(
  `dashboard: ${(before / 1024).toFixed(0)} KiB of text, ${(after / 1024).toFixed(0)} KiB as Brotli (.br and .gz beside each file)`,
);
