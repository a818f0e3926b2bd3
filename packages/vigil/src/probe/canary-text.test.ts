/**
 * The text comparator of a canary over real HTTP: an OpenAI-compatible server (the vLLM-like fake of
 * `protocols/fakes/openai.ts`, on a loopback port) answers the golden set; `vigil baseline record`
 * records its answers; the canary passes while the answers stay the same or differ only in case and
 * spacing (within the default similarity bound), and reports drift naming the case and output when
 * the model answers something else (issue 17's "a similarity bound for LLM answers"). Only answers
 * longer than 64 characters are read as text (`canary/outputs.ts` `TEXT_MIN_LENGTH`); a shorter one
 * is a label, compared exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { loadConfig } from '../config/index.js';
import { createOpenAiFake, type OpenAiFake } from '../protocols/fakes/openai.js';
import { openStore } from '../store/index.js';
import type { CheckPlan, HttpClient } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { createCanaryRunner } from './canary.js';
import { importPlanBaselines, storeBaselines } from './canary-baselines.js';

/** Longer than `TEXT_MIN_LENGTH` (64): read as free text. A shorter answer is read as a label (exact). */
const ANSWER = 'The capital of France is Paris, a city on the Seine known for its museums and its cafés.';
let fake: OpenAiFake;
let dir: string;
let client: HttpClient;
let plan: CheckPlan;

beforeAll(async () => {
  fake = await createOpenAiFake({ text: ANSWER });
  const url = fake.url;
  client = createHttpClient();
  dir = mkdtempSync(join(tmpdir(), 'vigil-canary-text-'));
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `targets:
  - name: llm
    url: ${url}
    protocol: openai
    model: facebook/opt-125m
    checks:
      canary:
        interval: 10s
        timeout: 5s
        baseline: baseline.json
        cases:
          - { id: capital, request: { messages: [{ role: user, content: "What is the capital of France?" }], max_tokens: 32, temperature: 0 } }
          - { id: capital-again, request: { messages: [{ role: user, content: "Name France's capital." }], max_tokens: 32, temperature: 0 } }
`,
  );
  process.exitCode = undefined;
  await main([
    'node',
    'vigil',
    'baseline',
    'record',
    '-c',
    config,
    '--target',
    'llm',
    '--repeats',
    '2',
    '--out',
    join(dir, 'baseline.json'),
  ]);
  expect(Number(process.exitCode ?? 0)).toBe(0);
  process.exitCode = undefined;
  const loaded = await loadConfig(config);
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  plan = loaded.plan.find((p) => p.id === 'llm/canary') as CheckPlan;
}, 60_000);
afterAll(async () => {
  await client?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a canary of LLM answers against an OpenAI-compatible server', () => {
  it('passes on the same answer, passes on a normalised one, and reports another answer as drift', async () => {
    const store = await openStore(':memory:');
    try {
      expect(await importPlanBaselines(store, [plan])).toBe(1);
      const runner = createCanaryRunner({ baselines: storeBaselines(store) });
      const run = () => runner.run(plan, { client });

      const same = await run();
      expect(same.failures).toEqual([]);
      expect(same.outcome).toBe('pass');
      const compared = runner.lastRun('llm/canary')?.verdict?.comparisons ?? [];
      expect(compared.filter((c) => c.kind === 'text').map((c) => [c.caseId, c.output, c.within])).toEqual([
        ['capital', 'text', true],
        ['capital-again', 'text', true],
      ]);

      // Case and spacing only (the same words, so the token count the fake reports stays the same).
      fake.state.text =
        'the capital of FRANCE is Paris,   a city on the Seine known for its museums and its cafés.';
      const normalised = await run();
      expect(normalised.failures).toEqual([]);
      expect(normalised.outcome).toBe('pass');

      // The same answer under `text: { mode: exact }` (per output) is drift.
      const exact: CheckPlan = {
        ...plan,
        canary: {
          ...(plan.canary as NonNullable<CheckPlan['canary']>),
          outputs: { text: { text: { mode: 'exact' } } },
        },
      };
      const strict = await runner.run(exact, { client });
      expect(strict.outcome).toBe('degraded');
      expect(strict.failures.map((f) => f.message.slice(0, f.message.indexOf(':')))).toEqual([
        'case "capital"',
        'case "capital-again"',
      ]);

      fake.state.text = 'I cannot help with that request.';
      const other = await run();
      expect(other.outcome).toBe('degraded');
      const text = other.failures.filter((f) => f.message.includes(': text[0]'));
      expect(text.map((f) => f.message.slice(0, f.message.indexOf(':')))).toEqual([
        'case "capital"',
        'case "capital-again"',
      ]);
      const rows = runner.lastRun('llm/canary')?.verdict?.comparisons.filter((c) => c.kind === 'text') ?? [];
      expect(
        rows.every((c) => !c.within && c.baseline === ANSWER && (c.difference ?? 1) < (c.bound ?? 0)),
      ).toBe(true);
    } finally {
      fake.state.text = ANSWER;
      await store.close();
    }
  });
});
