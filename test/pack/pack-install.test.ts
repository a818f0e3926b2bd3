/**
 * The published packages as a user gets them: `npm pack` each one, install the tarballs into an empty
 * folder, and run the install and run lines of packages/vigil/README.md (the same block stands in the
 * root README) from that installed copy against the real example model server. Runs on every Node.js
 * version `.ci/run` tests (20, 22, 24), with the `node` and `npm` of the Node.js that runs this test.
 *
 * Packs what `npm run build` left in each package's `dist/` (`npm test` builds first); a missing build
 * fails here with the command to run.
 *
 * Two things differ from a user's machine, on purpose:
 * - `npm install` gets `--prefer-offline` (the npm cache first, then the registry) and `--ignore-scripts`.
 *   The only install script in the tree that matters is better-sqlite3's, which downloads a prebuilt addon
 *   from GitHub — unreachable here — or else compiles SQLite (minutes per Node.js version). `vigil
 *   validate` and `vigil check` never load it; what the hub says when it is missing is checked below, and
 *   the list of packages with install scripts is pinned so that a new one is noticed. (esbuild's, under
 *   tsx, only checks its platform binary, which npm installs as an optional dependency: a TypeScript
 *   config is validated below without it. protobufjs's only makes a folder for its own CLI.)
 * - `vigil-ml` in the README's `npm install` line becomes the tarball's path (it is not published yet), and
 *   the config's `http://127.0.0.1:8081` the example server's address.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The published packages: folder in this repository, npm name. */
const PACKAGES = [
  { dir: 'packages/vigil', name: 'vigil-ml' },
  { dir: 'packages/serve', name: 'vigil-ml-serve' },
] as const;
/** The marker line above the tested block of shell lines, in both READMEs. */
const MARKER =
  '<!-- install-lines: the block below is run, line by line, by test/pack/pack-install.test.ts -->';
/** Packages of vigil-ml's tree that have an install script (pinned: see the header). */
const INSTALL_SCRIPTS = ['better-sqlite3', 'esbuild', 'protobufjs'];
/** Time for a test that starts the installed CLI: a cold `npx` start on a loaded 2-core CI machine. */
const CLI_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of every child: this Node.js first on PATH, so `npm`, `npx` and `vigil` run on it. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  };
  // Nothing of vitest's or of this workspace's npm invocation leaks into the user's view.
  for (const key of Object.keys(env)) if (key.startsWith('npm_') || key.startsWith('VITEST')) delete env[key];
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `command args` in `cwd`; resolves its exit code and output (killed after `timeoutMs`). */
function run(command: string, args: string[], cwd: string, timeoutMs = 150_000): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function explain(what: string, r: Run): string {
  return `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** The fenced block after `MARKER` in `file` (its language and lines), or a failed expectation. */
function taggedBlock(file: string, language: string): string[] {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(MARKER);
  expect(at, `${file} has no "${MARKER}"`).toBeGreaterThanOrEqual(0);
  const fence = /```(\w*)\n([\s\S]*?)```/.exec(text.slice(at + MARKER.length));
  expect(fence?.[1], `the block after the marker in ${file}`).toBe(language);
  return (fence?.[2] ?? '').split('\n').filter((line) => line.trim() !== '');
}

/** The first fenced block of `language` before `MARKER` in `file`. */
function blockBefore(file: string, language: string): string {
  const text = readFileSync(file, 'utf8');
  const before = text.slice(0, text.indexOf(MARKER));
  const blocks = [...before.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))];
  return blocks.at(-1)?.[1] ?? '';
}

/** Every file under `dir`, as paths relative to it with `/`. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

const packed = new Map<string, { tarball: string; files: string[]; dir: string }>();
let work: string;
let app: string;
let server: ModelServer;
let serverUrl: string;
let installed: Run;

beforeAll(async () => {
  for (const { dir } of PACKAGES) {
    const entry = join(ROOT, dir, 'dist/index.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  }
  if (!existsSync(join(ROOT, 'packages/vigil/dist/dashboard/index.html')))
    throw new Error('packages/vigil/dist/dashboard is missing: build first (npm run build)');
  work = mkdtempSync(join(tmpdir(), 'vigil-pack-'));
  const pack = await run(
    'npm',
    ['pack', '--json', '--pack-destination', work, ...PACKAGES.flatMap((p) => ['-w', p.dir])],
    ROOT,
  );
  if (pack.code !== 0) throw new Error(explain('npm pack', pack));
  const reports = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>;
  for (const report of reports) {
    const unpacked = join(work, `unpacked-${report.name}`);
    mkdirSync(unpacked);
    const untar = await run('tar', ['-xzf', join(work, report.filename), '-C', unpacked], work);
    if (untar.code !== 0) throw new Error(explain('tar', untar));
    packed.set(report.name, {
      tarball: join(work, report.filename),
      files: report.files.map((f) => f.path).sort(),
      dir: join(unpacked, 'package'),
    });
  }

  server = await createModelServer({ models: ['credit-scorer'], warmupInferences: 1 });
  serverUrl = await server.listen({ host: '127.0.0.1', port: 0 });

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true }, null, 2)}\n`);
  writeFileSync(
    join(app, 'vigil.yaml'),
    `${blockBefore(join(ROOT, 'packages/vigil/README.md'), 'yaml').replaceAll('http://127.0.0.1:8081', serverUrl)}`,
  );
}, 180_000);

// Removing the installed tree (thousands of files) took over a minute on a loaded CI machine.
afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 180_000);

describe.each(PACKAGES)('the $name tarball', ({ name, dir }) => {
  it('ships its README, the Apache-2.0 LICENSE and the package, and nothing of the tests', () => {
    const { files } = packed.get(name) ?? { files: [] };
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js']));
    expect(readFileSync(join(ROOT, dir, 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'LICENSE'), 'utf8'),
    );
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(
      /Apache License\s+Version 2\.0, January 2004/,
    );
    const testish = files.filter((f) =>
      /\.(test|bench|e2e)\.|(^|\/)(fixtures|fakes|test|tests|__tests__)\/|test-(hub|pki|support)|testing\.|contract\.|tsbuildinfo/.test(
        f,
      ),
    );
    expect(testish).toEqual([]);
  });

  it('holds no module that imports a test library, and every relative import resolves inside it', () => {
    const pkg = packed.get(name);
    if (!pkg) throw new Error(`${name} was not packed`);
    const fileSet = new Set(pkg.files);
    const problems: string[] = [];
    for (const file of pkg.files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = readFileSync(join(pkg.dir, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? '';
        if (/^(vitest|fast-check|@vitest\/|@vigil\/example-model-server)/.test(spec))
          problems.push(`${file} imports ${spec}`);
        if (spec.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file), spec));
          const candidates = file.endsWith('.d.ts') ? [target, target.replace(/\.js$/, '.d.ts')] : [target];
          if (!candidates.some((c) => fileSet.has(c)))
            problems.push(`${file} imports ${spec}, not in the tarball`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('ships each source map with the sources it names', () => {
    const pkg = packed.get(name);
    if (!pkg) throw new Error(`${name} was not packed`);
    const fileSet = new Set(pkg.files);
    const maps = pkg.files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(pkg.dir, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      sources.forEach((source, i) => {
        const target = posix.normalize(posix.join(posix.dirname(map), source));
        if (!fileSet.has(target) && typeof sourcesContent?.[i] !== 'string')
          missing.push(`${map}: ${source}`);
      });
    }
    expect(missing).toEqual([]);
  });

  it('declares where it comes from, its license, engines and an exports map with ./package.json', () => {
    const manifest = JSON.parse(readFileSync(join(packed.get(name)?.dir ?? '', 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name,
      license: 'Apache-2.0',
      repository: { type: 'git', directory: dir },
      homepage: expect.stringMatching(/^https:\/\//),
      bugs: { url: expect.stringMatching(/^https:\/\//) },
      engines: { node: expect.any(String) },
    });
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports['./package.json']).toBe('./package.json');
    // Every target the exports map names is in the tarball (`source`: the TypeScript, shipped for the maps).
    const targets = JSON.stringify(manifest.exports).match(/"\.\/[^"]+"/g) ?? [];
    const files = new Set(packed.get(name)?.files);
    for (const target of targets.map((t) => t.slice(3, -1))) expect(files.has(target), target).toBe(true);
  });
});

describe('installed from the tarballs into an empty folder', () => {
  const readme = join(ROOT, 'packages/vigil/README.md');

  beforeAll(async () => {
    const lines = taggedBlock(readme, 'sh');
    const install = lines.filter((line) => line.startsWith('npm install'));
    expect(install).toEqual(['npm install vigil-ml']);
    const serve = readFileSync(join(ROOT, 'packages/serve/README.md'), 'utf8');
    expect(serve).toContain('npm install vigil-ml-serve');
    const tarballs = PACKAGES.map((p) => packed.get(p.name)?.tarball ?? p.name);
    installed = await run(
      'npm',
      ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...tarballs],
      app,
      600_000,
    );
  }, 610_000);

  it('installs', () => {
    expect(installed.code, explain('npm install', installed)).toBe(0);
    expect(readdirSync(join(app, 'node_modules/.bin'))).toContain('vigil');
  });

  it('the root README carries the same install and run lines as the package README', () => {
    expect(taggedBlock(join(ROOT, 'README.md'), 'sh')).toEqual(taggedBlock(readme, 'sh'));
  });

  it(
    "runs the README's lines: vigil --help, validate and check against the example model server",
    async () => {
      const commands = taggedBlock(readme, 'sh').filter((line) => !line.startsWith('npm install'));
      expect(commands).toEqual([
        'npx vigil --help',
        'npx vigil validate -c vigil.yaml',
        'npx vigil check -c vigil.yaml',
      ]);
      const outputs: Run[] = [];
      for (const line of commands) {
        const [command = '', ...args] = line.split(' ');
        const r = await run(command, args, app);
        expect(r.code, explain(line, r)).toBe(0);
        outputs.push(r);
      }
      const [help, validate, check] = outputs;
      expect(help?.stdout).toMatch(/^Usage: vigil /);
      expect(help?.stdout).toMatch(/^\s+validate\b/m);
      expect(help?.stdout).toMatch(/^\s+check\b/m);
      expect(validate?.stderr).toBe('');
      // One row per check of the README's config, each passing, and the summary.
      for (const kind of ['liveness', 'readiness', 'integrity'])
        expect(check?.stdout).toMatch(new RegExp(`^credit-scorer\\s+${kind}\\s+pass\\b`, 'm'));
      expect(check?.stdout).toMatch(/^3 checks: 3 passed, 0 degraded, 0 failed$/m);
    },
    CLI_MS,
  );

  // Found by this test (issue #24): tsx loaded the config's `vigil-ml` a second time in its namespace,
  // and the second undici, half re-required from the first one's CommonJS cache, failed with
  // "TypeError: Illegal constructor". The config's `vigil-ml` is now the running copy
  // (packages/vigil/src/config/ts-import.ts). The repository's own tests import defineConfig from
  // source and cannot see this; here the config is a CommonJS-typed `.ts` (the app has no "type").
  it(
    'validates a TypeScript config that imports defineConfig from vigil-ml (tsx and esbuild, installed)',
    async () => {
      writeFileSync(
        join(app, 'vigil.config.ts'),
        [
          "import { defineConfig } from 'vigil-ml';",
          'export default defineConfig({',
          `  targets: [{ name: 'credit-scorer', url: '${serverUrl}', protocol: 'oip-v2', model: 'credit-scorer', checks: { liveness: {} } }],`,
          '});',
          '',
        ].join('\n'),
      );
      const r = await run('npx', ['vigil', 'validate', '-c', 'vigil.config.ts'], app);
      expect(r.code, explain('vigil validate -c vigil.config.ts', r)).toBe(0);
      expect(r.stderr).toBe('');
      // An ES module config (`.mts`) that imports a local TypeScript file beside vigil-ml.
      writeFileSync(
        join(app, 'targets.mts'),
        `export const targets = [{ name: 'credit-scorer', url: '${serverUrl}', protocol: 'oip-v2' as const, model: 'credit-scorer', checks: { readiness: {} } }];\n`,
      );
      writeFileSync(
        join(app, 'vigil.config.mts'),
        "import { defineConfig } from 'vigil-ml';\nimport { targets } from './targets.mts';\nexport default defineConfig({ targets });\n",
      );
      const esm = await run('npx', ['vigil', 'validate', '-c', 'vigil.config.mts'], app);
      expect(esm.code, explain('vigil validate -c vigil.config.mts', esm)).toBe(0);
      expect(esm.stdout).toMatch(/^vigil\.config\.mts: valid \(1 target, 1 check\)$/m);
    },
    CLI_MS,
  );

  it(
    'runs the installed copy, not this workspace',
    async () => {
      const r = await run('node', ['-p', "require.resolve('vigil-ml/package.json')"], app);
      expect(r.code, explain('require.resolve', r)).toBe(0);
      expect(r.stdout.trim()).toBe(join(app, 'node_modules/vigil-ml/package.json'));
    },
    CLI_MS,
  );

  it(
    'exports the library, the config JSON Schema and the manifest',
    async () => {
      const script = [
        "import { createRequire } from 'node:module';",
        "const vigil = await import('vigil-ml');",
        "const serve = await import('vigil-ml-serve');",
        'const require = createRequire(import.meta.url);',
        "const schema = require('vigil-ml/vigil.schema.json');",
        "const baseline = require('vigil-ml/baseline.schema.json');",
        "const manifest = require('vigil-ml/package.json');",
        "const serveManifest = require('vigil-ml-serve/package.json');",
        'console.log(JSON.stringify({ lib: [typeof vigil.loadConfig, typeof vigil.runProbe, vigil.VERSION],',
        '  serve: typeof serve.createHealth, schema: schema.$schema, baseline: typeof baseline.$schema,',
        '  version: manifest.version, serveVersion: serveManifest.version }));',
      ].join('\n');
      writeFileSync(join(app, 'imports.mjs'), script);
      const r = await run('node', ['imports.mjs'], app);
      expect(r.code, explain('node imports.mjs', r)).toBe(0);
      const out = JSON.parse(r.stdout);
      const version = JSON.parse(readFileSync(join(ROOT, 'packages/vigil/package.json'), 'utf8')).version;
      expect(out).toEqual({
        lib: ['function', 'function', version],
        serve: 'function',
        schema: expect.stringMatching(/json-schema\.org/),
        baseline: 'string',
        version,
        serveVersion: JSON.parse(readFileSync(join(ROOT, 'packages/serve/package.json'), 'utf8')).version,
      });
    },
    CLI_MS,
  );

  it("declares a Node.js range inside every installed dependency's own", () => {
    const require = createRequire(join(app, 'package.json'));
    const problems: string[] = [];
    const scripts: string[] = [];
    for (const { name } of PACKAGES) {
      const ours = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')).engines
        .node;
      for (const file of walk(join(app, 'node_modules')).filter((f) => /(^|\/)package\.json$/.test(f))) {
        const path = join(app, 'node_modules', file);
        const manifest = JSON.parse(readFileSync(path, 'utf8')) as {
          name?: string;
          version?: string;
          engines?: { node?: string };
          scripts?: Record<string, string>;
        };
        // Only a package's own manifest: at node_modules/<name>/package.json, possibly nested.
        if (!manifest.name || !manifest.version || !file.endsWith(`${manifest.name}/package.json`)) continue;
        const theirs = manifest.engines?.node;
        if (name === 'vigil-ml' && theirs && !semver.subset(ours, theirs))
          problems.push(`${manifest.name}@${manifest.version} needs node ${theirs}; vigil-ml says ${ours}`);
        if (
          name === 'vigil-ml' &&
          (manifest.scripts?.install || manifest.scripts?.preinstall || manifest.scripts?.postinstall)
        )
          scripts.push(manifest.name);
      }
      expect(require.resolve(`${name}/package.json`)).toContain(join('node_modules', name));
    }
    expect(problems).toEqual([]);
    // vigil-ml-serve has no dependencies at all: its range is its own to state.
    expect(
      JSON.parse(readFileSync(join(app, 'node_modules/vigil-ml-serve/package.json'), 'utf8')).dependencies,
    ).toBeUndefined();
    expect([...new Set(scripts)].sort()).toEqual(INSTALL_SCRIPTS);
  });

  it(
    'the hub says in one line to rebuild better-sqlite3 when its addon was not built',
    async () => {
      const r = await run(
        'npx',
        ['vigil', 'run', '-c', 'vigil.yaml', '--port', '0', '--store', join(app, 'vigil.db')],
        app,
      );
      expect(r.code, explain('vigil run', r)).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines.filter((line) => line.includes('better-sqlite3'))).toEqual([
        expect.stringContaining('run `npm rebuild better-sqlite3`'),
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
    CLI_MS,
  );
});
