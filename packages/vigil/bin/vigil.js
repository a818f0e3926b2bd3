#!/usr/bin/env -S node --max-semi-space-size=64 --heap-growing-percent=50
// V8 heap tuning for a long-running hub, measured in BENCHMARKS.md ("Hub scale", "V8 heap flags"):
// a 64 MB semi-space lets each probe's short-lived HTTP objects die young instead of being promoted,
// and a 1.5× old-generation growth factor (V8's default grows up to 4×) keeps RSS near the live set.
// bench/hub-scale.ts reads these flags from the line above.
import '../dist/cli/bin.js';
