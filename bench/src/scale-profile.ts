/**
 * Summarises a .cpuprofile written by `hub-scale.ts --profile`: self time by function and by file,
 * and inclusive time of Vigil's own functions, as shares of the non-idle samples. A .heapprofile
 * (`--alloc-profile`) gets the same tables in bytes allocated, plus the bytes by the nearest Vigil
 * frame on the allocating stack (which of Vigil's calls made Node allocate).
 *
 *   node bench/dist/scale-profile.js <file.cpuprofile|file.heapprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
/** V8's sampling heap profile: a tree whose nodes carry the bytes allocated there. */
interface HeapNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const TOP = Number(values.top);
const file = positionals[0];
if (file === undefined) throw new Error('usage: scale-profile.js <file.cpuprofile> [--top 25]');
const raw = JSON.parse(readFileSync(file, 'utf8')) as Profile | { head: HeapNode };
const isHeap = 'head' in raw;
/** Time profile: µs per node. Heap profile: bytes per node (reported as "ms" = kB below). */
const selfUs = new Map<number, number>();
let profile: Profile;
if ('head' in raw) {
  const nodes: ProfileNode[] = [];
  const flatten = (n: HeapNode): void => {
    nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map((c) => c.id) });
    selfUs.set(n.id, n.selfSize);
    for (const c of n.children) flatten(c);
  };
  flatten(raw.head);
  profile = { nodes, samples: [], timeDeltas: [] };
} else {
  profile = raw;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/(packages|bench)\//, '$1/');
const keyOf = (f: CallFrame): string =>
  `${f.functionName || '(anonymous)'} ${f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`}`.trim();
const isIdle = (f: CallFrame): boolean => f.functionName === '(idle)';

let total = 0;
for (const [id, us] of selfUs) if (!isIdle((byId.get(id) as ProfileNode).callFrame)) total += us;

const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = (byId.get(id) as ProfileNode).callFrame;
  if (isIdle(f)) continue;
  const k = keyOf(f);
  selfByFn.set(k, (selfByFn.get(k) ?? 0) + us);
  const fileKey = f.url === '' ? f.functionName : shortUrl(f.url);
  selfByFile.set(fileKey, (selfByFile.get(fileKey) ?? 0) + us);
}

// Inclusive time per function, counting a node only when no ancestor has the same function (recursion).
const inclusive = new Map<string, number>();
const root = profile.nodes[0] as ProfileNode;
function walk(node: ProfileNode, active: Set<string>): number {
  const f = node.callFrame;
  const k = keyOf(f);
  const fresh = !active.has(k);
  if (fresh) active.add(k);
  let us = isIdle(f) ? 0 : (selfUs.get(node.id) ?? 0);
  for (const child of node.children ?? []) us += walk(byId.get(child) as ProfileNode, active);
  if (fresh) {
    active.delete(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
  return us;
}
walk(root, new Set());

// Heap profiles: bytes by the innermost Vigil (or bench) frame on the allocating stack.
const byVigilFrame = new Map<string, number>();
function attribute(node: ProfileNode, nearest: string): void {
  const k = keyOf(node.callFrame);
  const here = /packages\/vigil\/|bench\//.test(k) ? k : nearest;
  const bytes = selfUs.get(node.id) ?? 0;
  if (bytes > 0) byVigilFrame.set(here, (byVigilFrame.get(here) ?? 0) + bytes);
  for (const child of node.children ?? []) attribute(byId.get(child) as ProfileNode, here);
}
if (isHeap) attribute(root, '(no Vigil frame)');

const pct = (us: number): string => `${((us / total) * 100).toFixed(1)}%`;
const unit = isHeap ? 'kB' : 'ms';
const table = (title: string, rows: Map<string, number>, filter: (k: string) => boolean = () => true) => {
  console.log(`\n${title}\n`);
  console.log(`| share | ${unit} | function / file |`);
  console.log('| ---: | ---: | --- |');
  for (const [k, us] of [...rows]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)) {
    console.log(`| ${pct(us)} | ${(us / 1000).toFixed(0)} | \`${k}\` |`);
  }
};

if (isHeap) {
  console.log(`${file}: ${(total / 1000).toFixed(0)} kB allocated (sampled, freed objects included)`);
  table('Bytes by allocating function', selfByFn);
  table('Bytes by allocating file', selfByFile);
  table('Bytes by nearest Vigil or bench frame', byVigilFrame);
  table('Inclusive bytes, Vigil functions', inclusive, (k) => k.includes('packages/vigil/'));
} else {
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms of non-idle samples`);
  table('Self time by function', selfByFn);
  table('Self time by file', selfByFile);
  table('Inclusive time, Vigil functions', inclusive, (k) => k.includes('packages/vigil/'));
}
