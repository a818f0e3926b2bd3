// Prints Vitest's JSON report as one plain closing line: "vitest: N passed, N failed, N skipped".
// A test file that failed to run at all (its tests never counted) counts as one failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-artifacts/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`test-summary: no readable Vitest report at ${file}: ${err.message}`);
  process.exit(1);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const brokenFiles = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && (file.assertionResults ?? []).every((t) => t.status !== 'failed'),
).length;
const failed = report.numFailedTests + brokenFiles;
console.log(`vitest: ${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
