/**
 * Every TSDoc `@example` in the source type-checks against the API as it is: an example that names a
 * function, option or method that does not exist fails here.
 *
 * Each example becomes a virtual module beside its file: the file's own exports are imported (an
 * example may use them unqualified), the example's own `import` lines stay at the top, and the rest is
 * the body of an async function. The usual free variables of examples (`hub`, `store`, `plan`, …) are
 * declared with their real types wherever they appear (an outer declaration an example's own may
 * shadow), so `hub.record(…)` fails when the hub has no `record`; any other
 * lowercase name an example leaves undefined is declared `any` (it stands for the reader's own value),
 * but never a name that looks like an API (`createX`, `runX`, `loadX`, …, or a capitalised name).
 * Non-TypeScript fences (yaml, sh) are skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('.', import.meta.url));
const packagesDir = path.resolve(srcDir, '../..');
const roots = [srcDir, path.join(packagesDir, 'serve/src')];

/** Free variables examples use, with their real types (module path relative to src/, type name). */
const TYPED_FREE: Readonly<Record<string, [string, string]>> = {
  hub: ['hub/hub.js', 'Hub'],
  store: ['store/types.js', 'Store'],
  plan: ['types.js', 'CheckPlan'],
  plans: ['types.js', 'CheckPlan[]'],
  result: ['types.js', 'ProbeResult'],
  client: ['types.js', 'HttpClient'],
  ctx: ['types.js', 'AdapterContext'],
  metrics: ['metrics/metrics.js', 'Metrics'],
  document: ['types.js', 'ProbeDocument'],
};

const API_LIKE =
  /^(?:create|run|load|parse|open|define|get|build|evaluate|apply|format|compile|register)[A-Z]|^[A-Z]/;

interface Example {
  file: string;
  line: number;
  code: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !/\.(test|bench)\.ts$/.test(entry.name) ? [full] : [];
  });
}

/** The `@example` blocks of one file's doc comments, as code. */
function examplesOf(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const examples: Example[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = comment[0].split('\n').map((line) => line.replace(/^\s*\/?\*+\/?\s?/, ''));
    const startLine = text.slice(0, comment.index).split('\n').length;
    lines.forEach((line, index) => {
      if (!line.startsWith('@example')) return;
      const body: string[] = [];
      for (const next of lines.slice(index + 1)) {
        if (/^@[a-zA-Z]/.test(next)) break;
        body.push(next);
      }
      const joined = body.join('\n');
      const fence = joined.match(/```(\w*)\n([\s\S]*?)```/);
      if (fence && !['', 'ts', 'typescript', 'js', 'tsx'].includes(fence[1] ?? '')) return;
      const code = (fence ? (fence[2] ?? '') : joined).trim();
      if (code !== '') examples.push({ file, line: startLine + index, code });
    });
  }
  return examples;
}

function exportedNames(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const match of text.matchAll(
    /^export (?:declare )?(?:async )?(?:function\*?|const|let|class|interface|type|enum|abstract class) (\w+)/gm,
  )) {
    names.add(match[1] as string);
  }
  return [...names];
}

/** The value exports of a package's entry (`src/index.ts`): an example may use any of them unqualified. */
function entryNames(entry: string): string[] {
  const text = readFileSync(entry, 'utf8');
  const names = new Set(exportedNames(entry));
  for (const list of text.matchAll(/^export \{([^}]*)\} from/gm)) {
    for (const item of (list[1] as string).split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .at(-1);
      if (name) names.add(name);
    }
  }
  return [...names];
}

function virtualSource(example: Example, declared: ReadonlySet<string>): string {
  const own = `./${path.basename(example.file).replace(/\.tsx?$/, '.js')}`;
  const root = roots.find((dir) => example.file.startsWith(dir)) as string;
  const entry = path.join(root, 'index.ts');
  const exported = exportedNames(example.file);
  const lines = example.code.split('\n');
  const imports = lines.filter((line) => /^import\s/.test(line));
  // An example's top-level `export` reads as a declaration inside the wrapper function.
  const body = lines.filter((line) => !/^import\s/.test(line)).map((line) => line.replace(/^export /, ''));
  const importedHere = new Set(imports.flatMap((line) => [...line.matchAll(/\b(\w+)\b/g)].map((m) => m[1])));
  const scope = exported.filter((name) => !importedHere.has(name));
  const fromEntry =
    example.file === entry
      ? []
      : entryNames(entry).filter((name) => !importedHere.has(name) && !scope.includes(name));
  const entrySpecifier = path
    .relative(path.dirname(example.file), entry)
    .split(path.sep)
    .join('/')
    .replace(/\.ts$/, '.js');
  const rel = path.relative(path.dirname(example.file), srcDir).split(path.sep).join('/') || '.';
  const typed = Object.entries(TYPED_FREE)
    .filter(([name]) => root === srcDir && new RegExp(`\\b${name}\\b`).test(example.code))
    .map(([name, [module, type]]) => {
      const base = type.replace('[]', '');
      return `import type { ${base} as __${name}T } from '${rel}/${module}';\ndeclare const ${name}: __${name}T${type.endsWith('[]') ? '[]' : ''};`;
    });
  const loose = [...declared]
    .filter((name) => !(name in TYPED_FREE && root === srcDir))
    .map((name) => `declare const ${name}: any;`);
  return [
    ...(scope.length > 0 ? [`import { ${scope.join(', ')} } from '${own}';`] : []),
    ...(fromEntry.length > 0
      ? [
          `import { ${fromEntry.join(', ')} } from '${entrySpecifier.startsWith('.') ? '' : './'}${entrySpecifier}';`,
        ]
      : []),
    ...imports,
    ...typed,
    ...loose,
    'export async function __example(): Promise<void> {',
    ...body,
    '}',
  ].join('\n');
}

function check(examples: Example[], declared: Map<number, Set<string>>) {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ['source'],
    strict: true,
    // Examples leave parameters' types to inference from the API they are passed to, or to the reader.
    noImplicitAny: false,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    allowImportingTsExtensions: false,
    jsx: ts.JsxEmit.ReactJSX,
    jsxImportSource: 'preact',
    types: ['node'],
  };
  const virtual = new Map<string, string>();
  examples.forEach((example, index) => {
    const name = example.file.replace(/\.tsx?$/, `.__example${index}.ts`);
    virtual.set(name, virtualSource(example, declared.get(index) ?? new Set()));
  });
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (file) => virtual.get(file) ?? read(file);
  host.fileExists = (file) => virtual.has(file) || exists(file);
  host.getSourceFile = (file, language, onError, create) => {
    const text = virtual.get(file);
    return text === undefined
      ? getSource(file, language, onError, create)
      : ts.createSourceFile(file, text, language, true);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const names = [...virtual.keys()];
  return examples.map((_, index) => {
    const source = program.getSourceFile(names[index] as string);
    return source ? ts.getPreEmitDiagnostics(program, source) : [];
  });
}

describe('TSDoc @example blocks', () => {
  const examples = roots.flatMap(sourceFiles).flatMap(examplesOf);

  it('are found', () => {
    expect(examples.length).toBeGreaterThan(50);
  });

  it('type-check against the API as it is', () => {
    // Pass 1: which names does each example leave undefined?
    const declared = new Map<number, Set<string>>();
    check(examples, declared).forEach((diagnostics, index) => {
      const missing = new Set<string>();
      for (const d of diagnostics) {
        // Cannot find name 'x' (2304, 2552), or no value for the shorthand property 'x' (18004).
        if (d.code !== 2304 && d.code !== 2552 && d.code !== 18004) continue;
        const name = ts
          .flattenDiagnosticMessageText(d.messageText, '\n')
          .match(/(?:name|property) '(\w+)'/)?.[1];
        if (name !== undefined && (name in TYPED_FREE || !API_LIKE.test(name))) missing.add(name);
      }
      declared.set(index, missing);
    });
    // Pass 2: with the reader's own values declared, what is left is a wrong example.
    const problems = check(examples, declared).flatMap((diagnostics, index) => {
      const example = examples[index] as Example;
      return diagnostics.map((d) => {
        const where = `${path.relative(packagesDir, example.file)}:${example.line}`;
        return `${where} @example: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
    });
    expect(problems).toEqual([]);
  }, 120_000);
});
