#!/usr/bin/env -S node --heap-growing-percent=50
// V8 heap tuning for a long-running hub, measured in BENCHMARKS.md ("V8 heap flags"): V8 lets the old
// generation grow to up to 4× its live size before a full collection; at 1.5× the hub's RSS stays near
// its live set (20,000 checks: 278 MB instead of 327). bench/hub-scale.ts reads the flags from the line above.
import '../dist/cli/bin.js';
