/**
 * State transitions of applications and grants, mandatory reasons, and what an approval may change.
 */
import { describe, expect, it } from 'vitest';
import { checkApprovalTerms, effectiveGrantStatus, nextApplicationStatus, nextGrantStatus, requireReason, type ApplicationAction, type GrantAction } from '../../policies/index.ts';
import type { Application, ApplicationStatus, GrantStatus, Resource } from '../../schema/index.ts';

const app = (status: ApplicationStatus, escalation?: Application['escalation']) => ({ id: 'SQ-1', status, ...(escalation ? { escalation } : {}) });

describe('applications', () => {
  it.each<[ApplicationStatus, ApplicationAction, ApplicationStatus | null]>([
    ['pending', 'approve', 'approved'],
    ['pending', 'reject', 'rejected'],
    ['pending', 'withdraw', 'withdrawn'],
    ['pending', 'escalate', null],
    ['pending', 'uphold', null],
    ['approved', 'reject', null],
    ['approved', 'withdraw', null],
    ['rejected', 'approve', null],
    ['rejected', 'escalate', 'escalated'],
    ['escalated', 'uphold', 'rejected'],
    ['escalated', 'direct', 'approved'],
    ['escalated', 'approve', null],
    ['withdrawn', 'approve', null],
  ])('%s --%s--> %s', (from, action, to) => {
    const step = nextApplicationStatus(app(from), action);
    expect(step).toEqual(to ? { ok: true, status: to } : { ok: false, message: expect.stringContaining(`Application SQ-1 is ${from}`) });
  });

  it('does not escalate a refusal the coordination group upheld', () => {
    const step = nextApplicationStatus(app('rejected', { reason: 'r', at: new Date(), by: 'x', resolution: 'upheld' }), 'escalate');
    expect(step).toEqual({ ok: false, message: expect.stringContaining('final') });
  });
});

describe('grants', () => {
  const grant = (status: GrantStatus, validUntil = '2027-12-31') => ({ id: 'G-1', status, validFrom: '2026-01-01', validUntil });
  it.each<[GrantStatus, GrantAction, GrantStatus | null]>([
    ['approved', 'suspend', 'suspended'],
    ['approved', 'resume', null],
    ['approved', 'revoke', 'revoked'],
    ['suspended', 'resume', 'approved'],
    ['suspended', 'suspend', null],
    ['suspended', 'revoke', 'revoked'],
    ['revoked', 'resume', null],
    ['revoked', 'revoke', null],
  ])('%s --%s--> %s', (from, action, to) => {
    const step = nextGrantStatus(grant(from), action, '2026-11-23');
    expect(step.ok ? step.status : null).toBe(to);
  });

  it('an expired grant can only be revoked', () => {
    expect(nextGrantStatus(grant('approved', '2026-01-31'), 'suspend', '2026-11-23')).toEqual({ ok: false, message: 'Grant G-1 expired on 2026-01-31; it can only be revoked.' });
    expect(nextGrantStatus(grant('approved', '2026-01-31'), 'revoke', '2026-11-23')).toEqual({ ok: true, status: 'revoked' });
  });

  it.each([
    ['approved', '2026-01-01', '2027-12-31', 'active'],
    ['approved', '2027-01-01', '2027-12-31', 'not-yet-valid'],
    ['approved', '2025-01-01', '2025-12-31', 'expired'],
    ['suspended', '2026-01-01', '2027-12-31', 'suspended'],
    ['suspended', '2025-01-01', '2025-12-31', 'expired'],
    ['revoked', '2026-01-01', '2027-12-31', 'revoked'],
  ] as const)('a %s grant valid %s…%s is %s today', (status, validFrom, validUntil, state) => {
    expect(effectiveGrantStatus({ status, validFrom, validUntil }, '2026-11-23')).toBe(state);
  });
});

describe('reasons', () => {
  it.each(['', '   ', null, undefined])('refuses %j', (reason) => {
    expect(requireReason(reason, 'A refusal')).toEqual({ ok: false, message: 'A refusal needs a reason: state why (it is recorded and shown to the other department).' });
  });
  it('trims a real one', () => {
    expect(requireReason('  最小必要 ', 'A refusal')).toEqual({ ok: true, reason: '最小必要' });
  });
});

describe('approval terms', () => {
  const resource = {
    code: 'GA-FACE',
    items: [
      { name: 'photo', title: 'p', type: 'string', classification: 'biometric', mask: 'none' },
      { name: 'takenAt', title: 't', type: 'date', classification: 'personal', mask: 'none' },
      { name: 'place', title: 'p', type: 'string', classification: 'personal', mask: 'address' },
    ],
  } as unknown as Resource;
  const applied = {
    items: [{ name: 'photo', access: 'clear' as const }, { name: 'takenAt', access: 'masked' as const }],
    validFrom: '2026-12-01', validUntil: '2027-11-30', maxBatch: 10, expectedDailyVolume: 300,
  };

  it('defaults to what was applied, with biometric items consent-bound', () => {
    expect(checkApprovalTerms(applied, {}, resource, '2026-11-23')).toEqual({
      ok: true,
      grant: {
        items: [{ name: 'photo', access: 'clear', consent: true }, { name: 'takenAt', access: 'masked' }],
        validFrom: '2026-12-01', validUntil: '2027-11-30', quota: { perDay: 300, maxBatch: 10, verifyPerDay: 5 },
      },
    });
  });

  it('narrows items, access, period and quotas, and marks consent items', () => {
    const r = checkApprovalTerms(applied, { items: [{ name: 'takenAt', access: 'verify' }], validUntil: '2027-05-31', perDay: 50, maxBatch: 1, verifyPerDay: 3, consentItems: ['takenAt'] }, resource, '2026-11-23');
    expect(r).toEqual({ ok: true, grant: { items: [{ name: 'takenAt', access: 'verify', consent: true }], validFrom: '2026-12-01', validUntil: '2027-05-31', quota: { perDay: 50, maxBatch: 1, verifyPerDay: 3 } } });
  });

  it('never widens what was applied for', () => {
    const r = checkApprovalTerms(applied, {
      items: [{ name: 'takenAt', access: 'clear' }, { name: 'place', access: 'masked' }, { name: 'nothing', access: 'clear' }],
      validFrom: '2026-11-01', validUntil: '2028-01-01', maxBatch: 11, consentItems: ['photo'],
    }, resource, '2026-11-23');
    expect(r).toEqual({
      ok: false,
      problems: [
        'item "takenAt" was applied for as masked; it cannot be approved as clear',
        'item "place" was not applied for',
        'resource GA-FACE has no item "nothing"',
        'validFrom 2026-11-01 is before the applied 2026-12-01',
        'validUntil 2028-01-01 is after the applied 2027-11-30',
        'maxBatch 11 is more than the applied 10',
        'consent item "photo" is not an approved item',
      ],
    });
  });
});
