/**
 * Rule validation: CASL silently ignores condition operators it does not support, and `manage`,
 * `all`, inverted rules and field wildcards are broader than any grant may be. Every form is
 * refused before a rule is stored or used.
 */
import type { RawRule } from '@casl/ability';
import { describe, expect, it } from 'vitest';
import { assertGrantRules, grantRules, managementRules, ruleViolations } from '../../policies/index.ts';
import type { Grant } from '../../schema/index.ts';

describe('forbidden rule forms', () => {
  it.each<[string, RawRule, string]>([
    ['manage', { action: 'manage', subject: 'GA-HUKOU' }, 'rule 0: action "manage" is not allowed'],
    ['manage in a list', { action: ['read', 'manage'], subject: 'GA-HUKOU' }, 'rule 0: action "manage" is not allowed'],
    ['all', { action: 'read', subject: 'all' }, 'rule 0: subject "all" is not allowed'],
    ['an inverted rule', { action: 'read', subject: 'GA-HUKOU', inverted: true }, 'rule 0: inverted rules are not allowed (deny by default: grant only what is allowed)'],
    ['a field wildcard', { action: 'read', subject: 'GA-HUKOU', fields: ['name', 'addr*'] }, 'rule 0: field "addr*" is not allowed (no wildcards)'],
    ['a bare wildcard', { action: 'read', subject: 'GA-HUKOU', fields: '*' }, 'rule 0: field "*" is not allowed (no wildcards)'],
    ['an empty field list', { action: 'read', subject: 'GA-HUKOU', fields: [] }, 'rule 0: an empty field list is not allowed'],
    ['$where', { action: 'read', subject: 'Grant', conditions: { $where: 'true' } }, 'rule 0: condition operator "$where" at the top is not allowed'],
    ['$regex', { action: 'read', subject: 'Grant', conditions: { consumer: { $regex: '.*' } } }, 'rule 0: condition operator "$regex" at consumer is not allowed'],
    ['$expr', { action: 'read', subject: 'Grant', conditions: { $expr: { $eq: [1, 1] } } }, 'rule 0: condition operator "$expr" at the top is not allowed'],
    ['a disallowed operator nested in $or', { action: 'read', subject: 'Grant', conditions: { $or: [{ consumer: 'MZ' }, { provider: { $elemMatch: { x: 1 } } }] } }, 'rule 0: condition operator "$elemMatch" at $or[1].provider is not allowed'],
    ['an unknown rule key', { action: 'read', subject: 'Grant', priority: 1 } as RawRule, 'rule 0: unknown key "priority"'],
  ])('refuses %s', (_name, rule, message) => {
    expect(ruleViolations([rule])).toEqual([message]);
  });

  it('names the index of the offending rule', () => {
    expect(ruleViolations([{ action: 'read', subject: 'A' }, { action: 'read', subject: 'B' }, { action: 'manage', subject: 'all' }])).toEqual([
      'rule 2: action "manage" is not allowed',
      'rule 2: subject "all" is not allowed',
    ]);
  });
});

describe('allowed forms', () => {
  it('accepts plain rules with fields and allow-listed operators', () => {
    expect(ruleViolations([
      { action: 'read', subject: 'GA-HUKOU', fields: ['name', 'gender'] },
      { action: ['approve', 'reject'], subject: 'Application', conditions: { provider: 'RS' } },
      { action: 'read', subject: 'Grant', conditions: { $or: [{ consumer: { $in: ['MZ', 'ZW'] } }, { validUntil: { $gte: '2026-01-01' } }] } },
    ])).toEqual([]);
  });

  it('accepts every management rule of every role', () => {
    for (const kind of ['system', 'officer', 'admin', 'auditor', 'portal'] as const) {
      expect(ruleViolations(managementRules({ kind, id: 'x', department: 'RS' })), kind).toEqual([]);
    }
  });
});

describe('grant rules', () => {
  const grant = (items: Grant['items']): Grant => ({
    id: 'G-1', version: 1, resource: 'RS-SOCIAL-INSURANCE', consumer: 'MZ', purposes: ['P'], items, validFrom: '2026-01-01', validUntil: '2026-12-31', status: 'approved',
  });

  it('compiles one rule per access class, its items as fields', () => {
    expect(grantRules(grant([{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'verify' }, { name: 'insuredSince', access: 'clear' }]))).toEqual([
      { action: 'read', subject: 'RS-SOCIAL-INSURANCE', fields: ['status', 'insuredSince'] },
      { action: 'verify', subject: 'RS-SOCIAL-INSURANCE', fields: ['monthlyBase'] },
    ]);
  });

  it('refuses to store a grant whose items would become a wildcard', () => {
    expect(() => assertGrantRules(grant([{ name: '*', access: 'clear' }]))).toThrow('grant G-1 compiles to rules the hub refuses: rule 0: field "*" is not allowed (no wildcards)');
  });
});
