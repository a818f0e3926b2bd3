/**
 * The repository's Dockerfile, parsed (dockerfile-ast, the parser of VS Code's Dockerfile language
 * server), since no Docker engine runs here to build it: what the image must keep is checked here —
 * multi-stage, a pinned Node LTS slim base, a numeric non-root USER in the final stage, the `vigil`
 * binary's node flags (read from bin/vigil.js's shebang) on its ENTRYPOINT, a HEALTHCHECK on /livez,
 * and writes only under its volume (read-only root filesystem).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../../', import.meta.url);
const text = readFileSync(fileURLToPath(new URL('Dockerfile', ROOT)), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();
const finalStart = froms.at(-1)?.getRange().start.line ?? 0;
const final = instructions.filter((i) => i.getRange().start.line >= finalStart);
const args = (keyword: string, list = final) =>
  list.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');

describe('Dockerfile', () => {
  it('parses into build, deps and runtime stages', () => {
    expect(instructions.length).toBeGreaterThan(10);
    expect(froms.map((f) => f.getBuildStage())).toEqual(['build', 'deps', 'runtime']);
  });

  it('bases every Node stage on an exact Node LTS release, slim', () => {
    const arg = args('ARG', instructions).find((a) => a.startsWith('NODE_IMAGE='));
    // An even major (LTS line), an exact major.minor.patch, a slim Debian variant; optionally a digest.
    expect(arg).toMatch(
      /^NODE_IMAGE=node:(2[02468])\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/,
    );
    for (const from of froms) expect(['\u0024{NODE_IMAGE}', 'build']).toContain(from.getImageName());
    expect(froms.at(-1)?.getImageName()).toBe('\u0024{NODE_IMAGE}');
  });

  it('runs the final stage as a numeric non-root user', () => {
    const users = args('USER');
    expect(users).toHaveLength(1);
    const [uid] = (users[0] as string).split(':');
    expect(Number(uid)).toBeGreaterThan(0);
  });

  it("keeps the vigil binary's node flags on the ENTRYPOINT", () => {
    const shebang =
      readFileSync(fileURLToPath(new URL('packages/vigil/bin/vigil.js', ROOT)), 'utf8').split('\n')[0] ?? '';
    const flags = shebang.split(/\s+/).filter((word) => word.startsWith('--'));
    expect(flags.length).toBeGreaterThan(0);
    const [entrypoint] = args('ENTRYPOINT');
    const argv = JSON.parse(entrypoint as string) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.slice(1, 1 + flags.length)).toEqual(flags);
    expect(argv.at(-1)).toBe('/app/packages/vigil/bin/vigil.js');
  });

  it('checks its health on /livez, with node (no curl in a slim image)', () => {
    const [healthcheck] = args('HEALTHCHECK');
    const instruction = final.find((i) => i.getKeyword() === 'HEALTHCHECK') as unknown as {
      getFlags(): { getName(): string }[];
    };
    expect(instruction.getFlags().map((f) => f.getName())).toContain('interval');
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/livez/);
  });

  it('writes only under its volume: store and config paths outside the read-only root', () => {
    const env = args('ENV').join(' ');
    expect(env).toContain('VIGIL_STORE=/var/lib/vigil/vigil.db');
    expect(args('VOLUME')).toEqual(['["/var/lib/vigil"]']);
    expect(env).toContain('VIGIL_HOST=0.0.0.0');
  });
});
