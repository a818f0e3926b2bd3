#!/usr/bin/env node
// Prints test-artifacts/fuzz.jsonl (written by `npm run fuzz`) as a table: one row per fuzz target.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-artifacts/fuzz.jsonl';
let rows;
try {
  rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
} catch (error) {
  console.error(`fuzz-report: cannot read ${file}: ${error.message}`);
  process.exit(1);
}
const header = ['target', 'seed', 'seconds', 'executions', 'failures'];
const table = rows.map((r) => [
  r.target,
  String(r.seed),
  (r.timeMs / 1000).toFixed(0),
  String(r.executions),
  String(r.failures),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
for (const row of table) console.log(line(row));
const failures = rows.reduce((sum, r) => sum + r.failures, 0);
console.log(
  `\n${rows.length} targets, ${rows.reduce((s, r) => s + r.executions, 0)} executions, ${failures} failures`,
);
process.exit(failures > 0 ? 1 : 0);
