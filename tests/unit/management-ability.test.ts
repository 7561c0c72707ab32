/**
 * The management plane's abilities, deny by default: every role × every action of every subject ×
 * an object naming the caller's department as consumer, as provider, or not at all. One expected
 * answer per cell, from the table below; everything the table does not list is refused.
 */
import { describe, expect, it } from 'vitest';
import {
  canManage, managementAbility, managementRules, MANAGEMENT_OPERATORS, ruleViolations, type ManagementSubject, type Principal,
} from '../../policies/index.ts';

/** Every action the management plane knows, per subject. */
const ACTIONS: Record<ManagementSubject, readonly string[]> = {
  Application: ['apply', 'withdraw', 'escalate', 'approve', 'reject', 'read', 'resolve'],
  Grant: ['read', 'suspend', 'resume', 'revoke'],
  Resource: ['register', 'update', 'read'],
  Demand: ['file', 'read', 'answer', 'assign'],
  Token: ['issue', 'revoke', 'read'],
  Consent: ['record', 'withdraw', 'read'],
  AuditTrail: ['read', 'disclose', 'read_subject'],
  Correction: ['report', 'read', 'answer'],
  QualityReport: ['read'],
  Catalogue: ['reload'],
};

/** How the object relates to the caller's department (RS). */
type Relation = 'consumer' | 'provider' | 'other';
const OBJECTS: Record<Relation, object> = {
  consumer: { consumer: 'RS', provider: 'MZ' },
  provider: { consumer: 'MZ', provider: 'RS' },
  other: { consumer: 'ZW', provider: 'GA' },
};

/** Allowed cells: `Subject.action` → relations under which it is allowed ('any' = whatever the object names). */
type Allowed = Record<string, readonly Relation[] | 'any'>;

const OFFICER: Allowed = {
  'Application.apply': ['consumer'],
  'Application.withdraw': ['consumer'],
  'Application.escalate': ['consumer'],
  'Application.approve': ['provider'],
  'Application.reject': ['provider'],
  'Application.read': ['consumer', 'provider'],
  'Grant.read': ['consumer', 'provider'],
  'Grant.suspend': ['provider'],
  'Grant.resume': ['provider'],
  'Grant.revoke': ['provider'],
  'Resource.register': ['provider'],
  'Resource.update': ['provider'],
  'Resource.read': 'any',
  'Demand.file': ['consumer'],
  'Demand.read': ['consumer', 'provider'],
  'Demand.answer': ['provider'],
  'Correction.report': ['consumer'],
  'Correction.read': ['consumer', 'provider'],
  'Correction.answer': ['provider'],
  'QualityReport.read': ['provider'],
};
const ADMIN: Allowed = {
  'Application.read': 'any',
  'Application.resolve': 'any',
  'Grant.read': 'any',
  'Resource.read': 'any',
  'Demand.read': 'any',
  'Demand.assign': 'any',
  'Token.issue': 'any',
  'Token.revoke': 'any',
  'Token.read': 'any',
  'AuditTrail.read': 'any',
  'Correction.read': 'any',
  'QualityReport.read': 'any',
  'Catalogue.reload': 'any',
};
const AUDITOR: Allowed = {
  'AuditTrail.read': 'any',
  'AuditTrail.disclose': 'any',
  'Application.read': 'any',
  'Grant.read': 'any',
  'Demand.read': 'any',
  'Correction.read': 'any',
  'QualityReport.read': 'any',
};
const PORTAL: Allowed = {
  'Consent.record': 'any',
  'Consent.withdraw': 'any',
  'Consent.read': 'any',
  'AuditTrail.read_subject': 'any',
};

const ROLES: ReadonlyArray<[string, Principal, Allowed]> = [
  ['RS officer', { kind: 'officer', id: 'rs-officer', department: 'RS' }, OFFICER],
  ['admin', { kind: 'admin', id: 'ops', department: 'RS' }, ADMIN],
  ['auditor', { kind: 'auditor', id: 'audit', department: 'RS' }, AUDITOR],
  ['portal', { kind: 'portal', id: 'ywtb', department: 'RS' }, PORTAL],
  ['system', { kind: 'system', id: 'rs-system', department: 'RS' }, {}],
];

const cells = ROLES.flatMap(([role, principal, allowed]) =>
  (Object.keys(ACTIONS) as ManagementSubject[]).flatMap((type) =>
    ACTIONS[type].flatMap((action) =>
      (Object.keys(OBJECTS) as Relation[]).map((relation) => {
        const rule = allowed[`${type}.${action}`];
        const expected = rule === 'any' || (rule?.includes(relation) ?? false);
        return [role, action, type, relation, expected, principal] as const;
      }))));

describe('every role × action × department', () => {
  it.each(cells)('%s: %s %s (%s) → %s', (_role, action, type, relation, expected, principal) => {
    expect(canManage(managementAbility(principal), action, type, OBJECTS[relation])).toBe(expected);
  });

  it('the table names only actions the plane knows', () => {
    const known = new Set((Object.keys(ACTIONS) as ManagementSubject[]).flatMap((t) => ACTIONS[t].map((a) => `${t}.${a}`)));
    expect(ROLES.flatMap(([, , allowed]) => Object.keys(allowed)).filter((k) => !known.has(k))).toEqual([]);
  });
});

describe('whose department an object names', () => {
  const rs: Principal = { kind: 'officer', id: 'rs-officer', department: 'RS' };
  const mz: Principal = { kind: 'officer', id: 'mz-officer', department: 'MZ' };
  const application = { consumer: 'MZ', provider: 'RS' };

  it('the provider officer approves', () => {
    expect(canManage(managementAbility(rs), 'approve', 'Application', application)).toBe(true);
  });

  it('the consumer officer cannot approve its own application', () => {
    expect(canManage(managementAbility(mz), 'approve', 'Application', application)).toBe(false);
  });

  it('the consumer officer withdraws it', () => {
    expect(canManage(managementAbility(mz), 'withdraw', 'Application', application)).toBe(true);
  });

  it('the provider officer cannot withdraw it', () => {
    expect(canManage(managementAbility(rs), 'withdraw', 'Application', application)).toBe(false);
  });

  it('an object naming no department is refused to an officer', () => {
    expect(canManage(managementAbility(rs), 'approve', 'Application', {})).toBe(false);
  });

  it('an unknown action is refused', () => {
    expect(canManage(managementAbility(rs), 'delete', 'Application', application)).toBe(false);
  });

  it('does not mark the caller\'s object', () => {
    const object = { consumer: 'MZ', provider: 'RS' };
    canManage(managementAbility(rs), 'approve', 'Application', object);
    expect(Reflect.ownKeys(object)).toEqual(['consumer', 'provider']);
  });
});

describe('principals with no management rights', () => {
  it('a system token\'s only rights: to dispute values it was served, and to read its own correction requests', () => {
    const system = managementAbility({ kind: 'system', id: 'mz-dibao', department: 'MZ' });
    expect(system.rules).toEqual([{ action: ['report', 'read'], subject: 'Correction', conditions: { consumer: 'MZ', requester: 'mz-dibao' } }]);
    expect(canManage(system, 'report', 'Correction', { consumer: 'MZ', provider: 'RS', requester: 'mz-dibao' })).toBe(true);
    expect(canManage(system, 'read', 'Correction', { consumer: 'MZ', provider: 'RS', requester: 'mz-dibao' })).toBe(true);
    // Not another system's request of the same department, not for another department, never an answer.
    expect(canManage(system, 'read', 'Correction', { consumer: 'MZ', provider: 'RS', requester: 'mz-other' })).toBe(false);
    expect(canManage(system, 'report', 'Correction', { consumer: 'ZW', provider: 'RS', requester: 'mz-dibao' })).toBe(false);
    expect(canManage(system, 'answer', 'Correction', { consumer: 'MZ', provider: 'MZ', requester: 'mz-dibao' })).toBe(false);
    expect(canManage(system, 'read', 'QualityReport', { provider: 'MZ' })).toBe(false);
  });

  it('a system token without a department or id has no rule at all', () => {
    expect(managementAbility({ kind: 'system', id: 'mz-dibao', department: '' }).rules).toEqual([]);
  });

  it('an officer token without a department has no rule either', () => {
    expect(managementAbility({ kind: 'officer', id: 'x', department: '' }).rules).toEqual([]);
  });
});

describe('the rules themselves', () => {
  it.each(['system', 'officer', 'admin', 'auditor', 'portal'] as const)('%s rules pass the validator with the management operators', (kind) => {
    expect(ruleViolations(managementRules({ kind, id: 'x', department: 'RS' }), MANAGEMENT_OPERATORS)).toEqual([]);
  });

  it('uses field equality only', () => {
    expect([...MANAGEMENT_OPERATORS]).toEqual(['$eq']);
  });

  it('hands out fresh rules: changing them changes no one else\'s ability', () => {
    const admin: Principal = { kind: 'admin', id: 'ops', department: 'ZW' };
    const rules = managementRules(admin);
    (rules[0] as { action: string }).action = 'approve';
    expect(canManage(managementAbility(admin), 'approve', 'Application', { consumer: 'MZ', provider: 'RS' })).toBe(false);
  });
});
