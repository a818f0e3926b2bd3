import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRegex, regexIssue, regexProblem } from './regex.js';

describe('compileRegex', () => {
  it('caches and never throws', () => {
    expect(compileRegex('^a+$')).toBe(compileRegex('^a+$'));
    expect(compileRegex('[')).toEqual({
      ok: false,
      problem: 'missing closing ]',
      fragment: '[',
      reason: 'missing closing ]: `[`',
      message: 'invalid regular expression /[/: missing closing ]: `[`',
    });
  });

  it.each([
    ['^credit-.*', 'credit-scorer', true, true],
    ['scorer', 'credit-scorer', true, false],
    ['credit|fraud', 'credit-scorer', true, false],
    ['(?i)^OK$', 'ok', true, true],
    ['^\\d+\\.\\d+$', '3.14', true, true],
    ['\\x{263a}', 'smile ☺', true, false],
    ['(?<word>\\w+) (?P<other>\\w+)', 'hello world', true, true],
    ['^/(a+)+$', `/${'a'.repeat(40)}!`, false, false],
  ])('%s on %j: test %s, testWhole %s', (source, text, anywhere, whole) => {
    const compiled = compileRegex(source);
    if (!compiled.ok) expect.fail(compiled.reason);
    expect(compiled.regex.source).toBe(source);
    expect(compiled.regex.test(text)).toBe(anywhere);
    expect(compiled.regex.testWhole(text)).toBe(whole);
  });

  const LINEAR = 'RE2 matches in linear time, without backreferences or lookaround';
  it.each([
    ['[a-', 'missing closing ]', '[a-'],
    ['*ok', 'missing argument to repetition operator', '*'],
    ['(unclosed', 'missing closing )', '(unclosed'],
    ['a{1001}', 'invalid repeat count', '{1001}'],
    ['(a)\\1', `backreference \\1: ${LINEAR}`, undefined],
    ['(?<w>a)\\k<w>', `backreference \\k<…>: ${LINEAR}`, undefined],
    ['x(?=y)', `lookahead (?=: ${LINEAR}`, undefined],
    ['x(?!y)', `lookahead (?!: ${LINEAR}`, undefined],
    ['(?<=x)y', `lookbehind (?<=: ${LINEAR}`, undefined],
    ['(?<!x)y', `lookbehind (?<!: ${LINEAR}`, undefined],
    ['\\u00e9', 'invalid escape sequence \\u: write a code point as \\x{263a}', undefined],
  ])('rejects %s: %s %s', (source, problem, fragment) => {
    const reason = fragment === undefined ? problem : `${problem}: \`${fragment}\``;
    expect(regexProblem(source)).toEqual(
      fragment === undefined ? { problem, reason } : { problem, fragment, reason },
    );
  });

  it('words a config diagnostic with placeholders, so the loader can hide a secret in it', () => {
    expect(regexIssue('(x')).toEqual({
      message: 'expected a valid regular expression, got {{got}} (missing closing ): {{fragment}})',
      params: { fragment: '(x' },
    });
    expect(regexIssue('x(?=y)')).toEqual({
      message: `expected a valid regular expression, got {{got}} (lookahead (?=: ${LINEAR})`,
      params: {},
    });
    expect(regexIssue('^ok$')).toBeUndefined();
  });

  it('accepts what it compiles', () => {
    expect(regexProblem('^(?:a|b)+$')).toBeUndefined();
  });
});

/**
 * The ReDoS regression (issue 14): `^/(a+)+$` against `/aaa…a!` makes a backtracking engine try every way
 * of splitting the a's — 2^n paths; 29 characters took JavaScript's RegExp 10 s. The evaluation runs in a
 * child process so that a backtracking engine cannot hang the test runner: with JavaScript's RegExp the
 * child never finishes on 10,000 characters and is killed, so the test fails; with RE2 it answers at once.
 */
describe('matching time is linear in the input', () => {
  const EVALUATE = fileURLToPath(new URL('./evaluate.ts', import.meta.url));
  const script = `
    const { evaluateExpect } = await import(${JSON.stringify(EVALUATE)});
    const text = '/' + 'a'.repeat(10000) + '!';
    const verdict = evaluateExpect(
      {
        body: { matches: '^/(a+)+$' },
        outputs: { path: { matches: '^/(a+)+$' } },
        assertions: [{ path: '$.body', matches: '^/(a+)+$' }],
      },
      { document: { body: text, outputs: { path: [text] } }, status: 200, durationMs: 1, kind: 'liveness' },
    );
    process.stdout.write(JSON.stringify(verdict.failures.map((f) => f.operator + ' ' + f.selector)));
  `;

  it('evaluates ^/(a+)+$ against a 10,000-character answer without backtracking', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--input-type=module', '--eval', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    // Generous: RE2 takes milliseconds; a backtracking engine would not finish in a lifetime.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(['matches outputs.path[0]', 'matches $.body', 'matches body']);
  }, 120_000);
});
