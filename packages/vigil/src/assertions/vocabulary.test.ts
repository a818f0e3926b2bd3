import { describe, expect, it } from 'vitest';
import { humanErrorMap, issuesToProblems } from '../diagnostics/messages.js';
import { OPERATOR_NAMES, operatorsSchema, presentOperators } from './vocabulary.js';

/** The problems a value gives, as the loader words them (placeholders left in). */
function problems(value: unknown): string[] {
  const parsed = operatorsSchema.safeParse(value, { error: humanErrorMap, reportInput: true });
  return parsed.success
    ? []
    : issuesToProblems(parsed.error.issues).map((p) => `${p.path.join('.')}: ${p.message}`);
}

describe('the operator vocabulary', () => {
  it('names every operator once, in the order messages list them', () => {
    expect(OPERATOR_NAMES).toEqual([
      'eq',
      'ne',
      'lt',
      'le',
      'gt',
      'ge',
      'range',
      'in',
      'notIn',
      'notEmpty',
      'length',
      'finite',
      'matches',
      'type',
    ]);
    expect(presentOperators({ type: 'string', eq: 'x', lt: undefined })).toEqual(['eq', 'type']);
  });

  it.each([
    ['equals', 'eq'],
    ['notEquals', 'ne'],
    ['lessThan', 'lt'],
    ['greaterThan', 'gt'],
    ['min', 'ge'],
    ['max', 'le'],
    ['between', 'range'],
    ['oneOf', 'in'],
    ['noneOf', 'notIn'],
    ['regex', 'matches'],
    ['pattern', 'matches'],
  ])('suggests an operator of the vocabulary for %s (diagnostics/messages.ts synonyms)', (key, operator) => {
    expect(OPERATOR_NAMES).toContain(operator);
    expect(problems({ [key]: 1 })).toEqual([`${key}: unknown key; did you mean "${operator}"?`]);
  });

  it('asks for at least one operator, and for notEmpty: false alone', () => {
    expect(problems({})).toEqual([`: needs at least one operator: ${OPERATOR_NAMES.join(', ')}`]);
    expect(problems({ notEmpty: false, gt: 0, type: 'number' })).toEqual([
      'notEmpty: false asserts that nothing is selected, so gt, type can never hold',
    ]);
    expect(problems({ notEmpty: false })).toEqual([]);
  });
});
