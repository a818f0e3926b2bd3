#!/usr/bin/env -S node --heap-growing-percent=50 --single-threaded-gc
// V8 tuning for a long-running hub, measured in BENCHMARKS.md ("V8 heap flags", "GC threads"): V8 lets
// the old generation grow to up to 4× its live size before a full collection; at 1.5× the hub's RSS
// stays near its live set (20,000 checks: 278 MB instead of 327). Single-threaded GC: on one core (a
// 1-CPU container, the scale benchmark's taskset) V8's concurrent markers took the core from the event
// loop for 50–400 ms per full collection; marking in steps on the main thread kept lag p99 at 20,000
// checks at 26–94 ms instead of 87–1341, for the same CPU per probe at 10,000.
// bench/hub-scale.ts reads the flags from the line above.
import '../dist/cli/bin.js';
