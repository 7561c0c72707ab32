/**
 * The management plane's abilities, deny by default: each role × action × own or other department.
 */
import { describe, expect, it } from 'vitest';
import { canManage, managementAbility, type ManagementSubject, type Principal } from '../../policies/index.ts';

const officer = (department: string): Principal => ({ kind: 'officer', id: `${department}-officer`, department });
const RS = officer('RS');
const admin: Principal = { kind: 'admin', id: 'ops', department: 'ZW' };
const auditor: Principal = { kind: 'auditor', id: 'audit', department: '' };
const portal: Principal = { kind: 'portal', id: 'ywtb', department: '' };
const system: Principal = { kind: 'system', id: 'mz-dibao', department: 'MZ' };

/** An application or grant from MZ (consumer) to RS (provider). */
const fromMZtoRS = { consumer: 'MZ', provider: 'RS' };
const fromRStoMZ = { consumer: 'RS', provider: 'MZ' };
const elsewhere = { consumer: 'ZW', provider: 'GA' };

const can = (p: Principal, action: string, type: ManagementSubject, object: object = {}) => canManage(managementAbility(p), action, type, object);

describe('officers act only on objects that name their department', () => {
  it.each([
    ['approve', 'Application', fromMZtoRS, true],
    ['reject', 'Application', fromMZtoRS, true],
    ['approve', 'Application', fromRStoMZ, false],
    ['approve', 'Application', elsewhere, false],
    ['apply', 'Application', fromRStoMZ, true],
    ['apply', 'Application', fromMZtoRS, false],
    ['withdraw', 'Application', fromRStoMZ, true],
    ['withdraw', 'Application', fromMZtoRS, false],
    ['escalate', 'Application', fromRStoMZ, true],
    ['escalate', 'Application', fromMZtoRS, false],
    ['read', 'Application', fromMZtoRS, true],
    ['read', 'Application', fromRStoMZ, true],
    ['read', 'Application', elsewhere, false],
    ['resolve', 'Application', fromMZtoRS, false],
    ['suspend', 'Grant', fromMZtoRS, true],
    ['resume', 'Grant', fromMZtoRS, true],
    ['revoke', 'Grant', fromMZtoRS, true],
    ['revoke', 'Grant', fromRStoMZ, false],
    ['read', 'Grant', fromRStoMZ, true],
    ['read', 'Grant', elsewhere, false],
    ['register', 'Resource', { provider: 'RS' }, true],
    ['register', 'Resource', { provider: 'GA' }, false],
    ['update', 'Resource', { provider: 'GA' }, false],
    ['read', 'Resource', { provider: 'GA' }, true],
    ['file', 'Demand', { consumer: 'RS' }, true],
    ['file', 'Demand', { consumer: 'MZ' }, false],
    ['answer', 'Demand', { consumer: 'MZ', provider: 'RS' }, true],
    ['answer', 'Demand', { consumer: 'MZ', provider: 'GA' }, false],
    ['assign', 'Demand', { consumer: 'RS' }, false],
    ['issue', 'Token', {}, false],
    ['record', 'Consent', {}, false],
    ['read', 'AuditTrail', {}, false],
  ] as const)('RS officer: %s %s %j → %s', (action, type, object, allowed) => {
    expect(can(RS, action, type, object)).toBe(allowed);
  });
});

describe('the platform operator, the auditor and the portal', () => {
  it.each([
    [admin, 'resolve', 'Application', true],
    [admin, 'read', 'Application', true],
    [admin, 'approve', 'Application', false],
    [admin, 'apply', 'Application', false],
    [admin, 'suspend', 'Grant', false],
    [admin, 'assign', 'Demand', true],
    [admin, 'issue', 'Token', true],
    [admin, 'revoke', 'Token', true],
    [admin, 'record', 'Consent', false],
    [admin, 'read', 'AuditTrail', true],
    [auditor, 'read', 'AuditTrail', true],
    [auditor, 'read', 'Grant', true],
    [auditor, 'resolve', 'Application', false],
    [auditor, 'issue', 'Token', false],
    [portal, 'record', 'Consent', true],
    [portal, 'withdraw', 'Consent', true],
    [portal, 'read', 'Application', false],
    [portal, 'issue', 'Token', false],
  ] as const)('%o: %s %s → %s', (principal, action, type, allowed) => {
    expect(can(principal, action, type, fromMZtoRS)).toBe(allowed);
  });
});

describe('a system token', () => {
  it('can do nothing on the management plane', () => {
    const ability = managementAbility(system);
    expect(ability.rules).toEqual([]);
    for (const [action, type] of [['apply', 'Application'], ['read', 'Application'], ['read', 'Grant'], ['issue', 'Token'], ['record', 'Consent'], ['read', 'AuditTrail'], ['register', 'Resource']] as const) {
      expect(canManage(ability, action, type, { consumer: 'MZ', provider: 'MZ' }), `${action} ${type}`).toBe(false);
    }
  });

  it('an officer token without a department gets no rights either', () => {
    expect(managementAbility({ kind: 'officer', id: 'x', department: '' }).rules).toEqual([]);
  });
});
