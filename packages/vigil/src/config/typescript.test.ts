// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs under test use ${VAR} references
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ENV = { API_KEY: 'k3y-0f-the-api', TOKEN: 't0ken-very-secret', PW: 'pa55word-secret' };
const DEFINE = fileURLToPath(new URL('./typescript.js', import.meta.url)).replace(/\.js$/, '.ts');
const dir = mkdtempSync(join(tmpdir(), 'vigil-ts-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil.config.ts (defineConfig)', () => {
  it('gives the same plan as the equivalent YAML fixture', async () => {
    const fromYaml = await loadConfig(join(FIXTURES, 'good/oip-v2.yaml'), { env: ENV });
    const fromTs = await loadConfig(join(FIXTURES, 'ts/oip-v2.config.ts'), { env: ENV });
    if (!fromYaml.ok || !fromTs.ok)
      throw new Error(JSON.stringify([fromYaml, fromTs].map((r) => !r.ok && r.diagnostics)));
    expect(fromTs.plan).toEqual(fromYaml.plan);
    expect(fromTs.config).toEqual(fromYaml.config);
  }, 120_000);

  it('gets the same diagnostics as YAML for a bad config, naming the file instead of a line', async () => {
    const yaml = join(dir, 'bad.yaml');
    writeFileSync(
      yaml,
      'targets:\n  - name: a\n    url: http://127.0.0.1:8081\n    protocol: oip-v2\n    model: a\n    interval: fast\n    intervall: 10s\n',
    );
    const ts = join(dir, 'vigil.config.ts');
    writeFileSync(
      ts,
      `import { defineConfig } from ${JSON.stringify(DEFINE)};\n` +
        `// @ts-nocheck: a config with mistakes, as a user could write with any editor\n` +
        `export default defineConfig({ targets: [{ name: 'a', url: 'http://127.0.0.1:8081', protocol: 'oip-v2', model: 'a', interval: 'fast', intervall: '10s' }] });\n`,
    );
    const fromYaml = await loadConfig(yaml);
    const fromTs = await loadConfig(ts);
    expect(fromYaml.ok || fromTs.ok).toBe(false);
    if (fromYaml.ok || fromTs.ok) return;
    const strip = (d: string) => d.replace(/^.*?: (?=targets)/, '');
    expect(fromTs.diagnostics.map(strip).sort()).toEqual(fromYaml.diagnostics.map(strip).sort());
    expect(fromTs.diagnostics.length).toBeGreaterThanOrEqual(2);
    for (const d of fromTs.diagnostics) expect(d.startsWith(`${ts}: targets[0].`)).toBe(true);
  }, 120_000);

  it('says what is wrong with a file that does not load or exports nothing', async () => {
    const empty = join(dir, 'empty.config.ts');
    writeFileSync(empty, 'export const x = 1;\n');
    const result = await loadConfig(empty);
    expect(result).toMatchObject({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [`${empty}: it has no default export: end it with \`export default defineConfig({...})\``],
    });
    const broken = join(dir, 'broken.config.ts');
    writeFileSync(broken, 'export default {{;\n');
    const failed = await loadConfig(broken);
    expect(failed.ok).toBe(false);
    expect(failed.ok ? '' : failed.diagnostics[0]).toMatch(
      new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
    );
  }, 120_000);
});
