/**
 * A 32-bit hash of a check id: FNV-1a over its UTF-16 code units, finished with MurmurHash3's
 * `fmix32` avalanche so that ids differing in one character (`a/liveness`, `b/liveness`) land far
 * apart in every bit, the low ones included. Deterministic across processes and versions of Node.
 */
export function hashCheckId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Where in its interval a check first runs: `hashCheckId(id) mod intervalMs`, in whole ms in
 * `[0, intervalMs)`. Prometheus spreads scrapes the same way (a hash of the target modulo the
 * scrape interval), so 1,000 checks at 10 s start about one every 10 ms instead of all at once, and
 * a check keeps its phase across restarts and config reloads.
 */
export function spreadOffsetMs(id: string, intervalMs: number): number {
  const modulus = Math.floor(intervalMs);
  return modulus >= 1 ? hashCheckId(id) % modulus : 0;
}
