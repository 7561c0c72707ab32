/**
 * Rule validation: CASL silently ignores condition operators it does not support, and `manage`,
 * `all`, inverted rules and field wildcards are broader than any grant may be. Every form is
 * refused before a rule is stored or used; the forms the hub needs pass.
 */
import type { RawRule } from '@casl/ability';
import { describe, expect, it } from 'vitest';
import { ALLOWED_OPERATORS, assertGrantRules, grantRules, MANAGEMENT_OPERATORS, ruleViolations } from '../../policies/index.ts';
import type { Grant } from '../../schema/index.ts';

const rule = (r: Record<string, unknown>): RawRule => r as unknown as RawRule;

describe('forbidden rule forms', () => {
  it.each<[string, RawRule, string]>([
    ['manage', { action: 'manage', subject: 'GA-HUKOU' }, 'rule 0: action "manage" is not allowed'],
    ['manage in a list', { action: ['read', 'manage'], subject: 'GA-HUKOU' }, 'rule 0: action "manage" is not allowed'],
    ['all', { action: 'read', subject: 'all' }, 'rule 0: subject "all" is not allowed'],
    ['all in a list', { action: 'read', subject: ['Grant', 'all'] }, 'rule 0: subject "all" is not allowed'],
    ['an empty action', { action: '', subject: 'Grant' }, 'rule 0: action "" is not allowed'],
    ['no action', { action: [], subject: 'Grant' }, 'rule 0: no action'],
    ['no subject', rule({ action: 'read' }), 'rule 0: no subject'],
    ['a non-string action', rule({ action: 7, subject: 'Grant' }), 'rule 0: action 7 is not allowed'],
    ['an inverted rule', { action: 'read', subject: 'GA-HUKOU', inverted: true }, 'rule 0: inverted rules are not allowed (deny by default: grant only what is allowed)'],
    ['a field wildcard', { action: 'read', subject: 'GA-HUKOU', fields: ['name', 'addr*'] }, 'rule 0: field "addr*" is not allowed (no wildcards)'],
    ['a nested field wildcard', { action: 'read', subject: 'GA-HUKOU', fields: ['address.*'] }, 'rule 0: field "address.*" is not allowed (no wildcards)'],
    ['a bare wildcard', { action: 'read', subject: 'GA-HUKOU', fields: '*' }, 'rule 0: field "*" is not allowed (no wildcards)'],
    ['an empty field name', { action: 'read', subject: 'GA-HUKOU', fields: [''] }, 'rule 0: field "" is not allowed (no wildcards)'],
    ['an empty field list', { action: 'read', subject: 'GA-HUKOU', fields: [] }, 'rule 0: an empty field list is not allowed'],
    ['$where', { action: 'read', subject: 'Grant', conditions: { $where: 'true' } }, 'rule 0: condition operator "$where" at the top is not allowed'],
    ['$regex', { action: 'read', subject: 'Grant', conditions: { consumer: { $regex: '.*' } } }, 'rule 0: condition operator "$regex" at consumer is not allowed'],
    ['$function', rule({ action: 'read', subject: 'Grant', conditions: { $function: { body: 'return true' } } }), 'rule 0: condition operator "$function" at the top is not allowed'],
    ['$elemMatch', { action: 'read', subject: 'Grant', conditions: { purposes: { $elemMatch: { $eq: 'P' } } } }, 'rule 0: condition operator "$elemMatch" at purposes is not allowed'],
    ['$all', { action: 'read', subject: 'Grant', conditions: { purposes: { $all: ['P'] } } }, 'rule 0: condition operator "$all" at purposes is not allowed'],
    ['$not', { action: 'read', subject: 'Grant', conditions: { consumer: { $not: { $eq: 'MZ' } } } }, 'rule 0: condition operator "$not" at consumer is not allowed'],
    ['$nor', { action: 'read', subject: 'Grant', conditions: { $nor: [{ consumer: 'MZ' }] } }, 'rule 0: condition operator "$nor" at the top is not allowed'],
    ['a disallowed operator nested in $or', { action: 'read', subject: 'Grant', conditions: { $or: [{ consumer: 'MZ' }, { provider: { $elemMatch: { x: 1 } } }] } }, 'rule 0: condition operator "$elemMatch" at $or[1].provider is not allowed'],
    ['a disallowed operator deep in $and and $or', { action: 'read', subject: 'Grant', conditions: { $and: [{ $or: [{ consumer: { $in: ['MZ'] } }, { x: { $size: 1 } }] }] } }, 'rule 0: condition operator "$size" at $and[0].$or[1].x is not allowed'],
    ['a disallowed operator inside an allowed one', { action: 'read', subject: 'Grant', conditions: { consumer: { $in: [{ $where: 'x' }] } } }, 'rule 0: condition operator "$where" at consumer.$in[0] is not allowed'],
    ['a regular expression value', rule({ action: 'read', subject: 'Grant', conditions: { consumer: /.*/ } }), 'rule 0: condition value at consumer is not plain data (a regular expression)'],
    ['a function value', rule({ action: 'read', subject: 'Grant', conditions: { consumer: () => true } }), 'rule 0: condition value at consumer is not plain data (function)'],
    ['conditions that are not an object', rule({ action: 'read', subject: 'Grant', conditions: [{ consumer: 'MZ' }] }), 'rule 0: conditions must be an object'],
    ['an unknown rule key', rule({ action: 'read', subject: 'Grant', priority: 1 }), 'rule 0: unknown key "priority"'],
    ['a misspelt rule key', rule({ action: 'read', subject: 'Grant', condition: { consumer: 'MZ' } }), 'rule 0: unknown key "condition"'],
    ['a reason that is not text', rule({ action: 'read', subject: 'Grant', reason: 1 }), 'rule 0: reason must be a string'],
  ])('refuses %s', (_name, r, message) => {
    expect(ruleViolations([r])).toEqual([message]);
  });

  it('refuses a rule that is not an object', () => {
    expect(ruleViolations([null as unknown as RawRule])).toEqual(['rule 0: is not a plain object']);
  });

  it('names the index of the offending rule and every problem of it', () => {
    expect(ruleViolations([{ action: 'read', subject: 'A' }, { action: 'read', subject: 'B' }, { action: 'manage', subject: 'all' }])).toEqual([
      'rule 2: action "manage" is not allowed',
      'rule 2: subject "all" is not allowed',
    ]);
  });

  it('lists problems of several rules in order', () => {
    expect(ruleViolations([{ action: 'read', subject: 'A', inverted: true }, { action: 'read', subject: 'B' }, { action: 'read', subject: 'C', fields: ['*'] }])).toEqual([
      'rule 0: inverted rules are not allowed (deny by default: grant only what is allowed)',
      'rule 2: field "*" is not allowed (no wildcards)',
    ]);
  });
});

describe('allowed forms', () => {
  it('accepts plain rules with fields and allow-listed operators', () => {
    expect(ruleViolations([
      { action: 'read', subject: 'GA-HUKOU', fields: ['name', 'gender'] },
      { action: 'read', subject: 'GA-HUKOU', fields: 'name' },
      { action: ['approve', 'reject'], subject: 'Application', conditions: { provider: 'RS' } },
      { action: 'read', subject: 'Grant', conditions: { $or: [{ consumer: { $in: ['MZ', 'ZW'] } }, { validUntil: { $gte: '2026-01-01' } }] } },
      { action: 'read', subject: 'Grant', conditions: { $and: [{ consumer: { $ne: 'GA' } }, { provider: { $nin: ['ZW'] } }, { reason: { $exists: true } }] } },
      { action: 'read', subject: 'Grant', conditions: { version: { $gt: 1, $lt: 9, $lte: 8, $gte: 2 }, consumer: { $eq: 'MZ' }, decidedAt: new Date(0), grant: null } },
      { action: 'read', subject: 'Grant', inverted: false, reason: 'granted' },
    ])).toEqual([]);
  });

  it('allows exactly the comparison and boolean operators', () => {
    expect([...ALLOWED_OPERATORS].sort()).toEqual(['$and', '$eq', '$exists', '$gt', '$gte', '$in', '$lt', '$lte', '$ne', '$nin', '$or']);
  });

  it('narrows to a smaller allow-list when given one', () => {
    expect(ruleViolations([{ action: 'read', subject: 'Grant', conditions: { consumer: { $in: ['MZ'] } } }], MANAGEMENT_OPERATORS)).toEqual(['rule 0: condition operator "$in" at consumer is not allowed']);
  });

  it('never widens the allow-list', () => {
    expect(ruleViolations([{ action: 'read', subject: 'Grant', conditions: { $where: 'true' } }], new Set(['$where']))).toEqual(['rule 0: condition operator "$where" at the top is not allowed']);
  });
});

describe('grant rules', () => {
  const grant = (items: Grant['items']): Grant => ({
    id: 'G-1', version: 1, resource: 'RS-SOCIAL-INSURANCE', consumer: 'MZ', purposes: ['P'], items, validFrom: '2026-01-01', validUntil: '2026-12-31', status: 'approved',
  });

  it('compiles one rule per access class, its items as fields', () => {
    expect(grantRules(grant([{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'verify' }, { name: 'insuredSince', access: 'clear' }, { name: 'name', access: 'masked' }]))).toEqual([
      { action: 'read', subject: 'RS-SOCIAL-INSURANCE', fields: ['status', 'insuredSince'] },
      { action: 'read_masked', subject: 'RS-SOCIAL-INSURANCE', fields: ['name'] },
      { action: 'verify', subject: 'RS-SOCIAL-INSURANCE', fields: ['monthlyBase'] },
    ]);
  });

  it('compiles a grant without items to no rule', () => {
    expect(grantRules(grant([]))).toEqual([]);
  });

  it('stores a grant of ordinary items', () => {
    expect(() => assertGrantRules(grant([{ name: 'status', access: 'clear' }]))).not.toThrow();
  });

  it('refuses to store a grant whose items would become a wildcard', () => {
    expect(() => assertGrantRules(grant([{ name: '*', access: 'clear' }]))).toThrow('grant G-1 compiles to rules the hub refuses: rule 0: field "*" is not allowed (no wildcards)');
  });

  it('refuses to store a grant on the subject "all"', () => {
    expect(() => assertGrantRules({ ...grant([{ name: 'status', access: 'verify' }]), resource: 'all' })).toThrow('grant G-1 compiles to rules the hub refuses: rule 0: subject "all" is not allowed');
  });
});
