/**
 * State transitions of applications (共享申请) and grants, mandatory reasons, and what an approval
 * (or a coordinator's directed grant) may change: every status × every action, one outcome each.
 */
import { describe, expect, it } from 'vitest';
import {
  checkApprovalTerms, effectiveGrantStatus, nextApplicationStatus, nextGrantStatus, requireReason,
  type ApplicationAction, type ApprovalTerms, type GrantAction,
} from '../../policies/index.ts';
import type { Application, ApplicationStatus, GrantStatus, Resource } from '../../schema/index.ts';

const app = (status: ApplicationStatus, escalation?: Application['escalation']) => ({ id: 'SQ-1', status, ...(escalation ? { escalation } : {}) });
const refused = (message: string) => ({ ok: false, message });

describe('applications: every status × every action', () => {
  const onlyFrom = (from: ApplicationStatus, need: string, what: string) => refused(`Application SQ-1 is ${from}; only ${need} application can be ${what}.`);
  it.each<[ApplicationStatus, ApplicationAction, object]>([
    ['pending', 'approve', { ok: true, status: 'approved' }],
    ['pending', 'reject', { ok: true, status: 'rejected' }],
    ['pending', 'withdraw', { ok: true, status: 'withdrawn' }],
    ['pending', 'escalate', onlyFrom('pending', 'a rejected', 'escalated')],
    ['pending', 'uphold', onlyFrom('pending', 'an escalated', 'settled')],
    ['pending', 'direct', onlyFrom('pending', 'an escalated', 'settled')],
    ['approved', 'approve', onlyFrom('approved', 'a pending', 'approved')],
    ['approved', 'reject', refused('Application SQ-1 is approved; only a pending application can be rejected.')],
    ['approved', 'withdraw', onlyFrom('approved', 'a pending', 'withdrawn')],
    ['approved', 'escalate', onlyFrom('approved', 'a rejected', 'escalated')],
    ['approved', 'uphold', onlyFrom('approved', 'an escalated', 'settled')],
    ['approved', 'direct', onlyFrom('approved', 'an escalated', 'settled')],
    ['rejected', 'approve', onlyFrom('rejected', 'a pending', 'approved')],
    ['rejected', 'reject', onlyFrom('rejected', 'a pending', 'rejected')],
    ['rejected', 'withdraw', onlyFrom('rejected', 'a pending', 'withdrawn')],
    ['rejected', 'escalate', { ok: true, status: 'escalated' }],
    ['rejected', 'uphold', onlyFrom('rejected', 'an escalated', 'settled')],
    ['rejected', 'direct', onlyFrom('rejected', 'an escalated', 'settled')],
    ['escalated', 'approve', onlyFrom('escalated', 'a pending', 'approved')],
    ['escalated', 'reject', onlyFrom('escalated', 'a pending', 'rejected')],
    ['escalated', 'withdraw', onlyFrom('escalated', 'a pending', 'withdrawn')],
    ['escalated', 'escalate', onlyFrom('escalated', 'a rejected', 'escalated')],
    ['escalated', 'uphold', { ok: true, status: 'rejected' }],
    ['escalated', 'direct', { ok: true, status: 'approved' }],
    ['withdrawn', 'approve', onlyFrom('withdrawn', 'a pending', 'approved')],
    ['withdrawn', 'reject', onlyFrom('withdrawn', 'a pending', 'rejected')],
    ['withdrawn', 'withdraw', onlyFrom('withdrawn', 'a pending', 'withdrawn')],
    ['withdrawn', 'escalate', onlyFrom('withdrawn', 'a rejected', 'escalated')],
    ['withdrawn', 'uphold', onlyFrom('withdrawn', 'an escalated', 'settled')],
    ['withdrawn', 'direct', onlyFrom('withdrawn', 'an escalated', 'settled')],
  ])('%s --%s--> %j', (from, action, outcome) => {
    expect(nextApplicationStatus(app(from), action)).toEqual(outcome);
  });
});

describe('escalation happens once', () => {
  const at = new Date('2026-11-02T03:00:00Z');

  it('does not escalate a refusal the coordination group upheld', () => {
    const upheld = app('rejected', { reason: 'r', at, by: 'x', resolution: 'upheld', resolvedAt: at, resolvedBy: 'ops', resolutionReason: 'law' });
    expect(nextApplicationStatus(upheld, 'escalate')).toEqual(refused('Application SQ-1 was already escalated and the coordination group upheld the refusal; that decision is final.'));
  });

  it('does not escalate an application under escalation again', () => {
    expect(nextApplicationStatus(app('escalated', { reason: 'r', at, by: 'x' }), 'escalate')).toEqual(refused('Application SQ-1 was already escalated on 2026-11-02; an application is escalated once.'));
  });

  it('still lets the coordinator settle an escalated application', () => {
    expect(nextApplicationStatus(app('escalated', { reason: 'r', at, by: 'x' }), 'direct')).toEqual({ ok: true, status: 'approved' });
  });
});

describe('grants: every status × every action', () => {
  const TODAY = '2026-11-23';
  const grant = (status: GrantStatus, validUntil = '2027-12-31') => ({ id: 'G-1', status, validFrom: '2026-01-01', validUntil });
  const final = refused('Grant G-1 is revoked; a revocation is final. Apply again if the need remains.');
  const expiredOnly = refused('Grant G-1 expired on 2026-01-31; it can only be revoked.');
  it.each<[GrantStatus, string, GrantAction, object]>([
    ['approved', '2027-12-31', 'suspend', { ok: true, status: 'suspended' }],
    ['approved', '2027-12-31', 'resume', refused('Grant G-1 is approved; only a suspended grant can be resumed.')],
    ['approved', '2027-12-31', 'revoke', { ok: true, status: 'revoked' }],
    ['suspended', '2027-12-31', 'suspend', refused('Grant G-1 is suspended; only an active grant can be suspended.')],
    ['suspended', '2027-12-31', 'resume', { ok: true, status: 'approved' }],
    ['suspended', '2027-12-31', 'revoke', { ok: true, status: 'revoked' }],
    ['revoked', '2027-12-31', 'suspend', final],
    ['revoked', '2027-12-31', 'resume', final],
    ['revoked', '2027-12-31', 'revoke', final],
    ['revoked', '2026-01-31', 'revoke', final],
    ['approved', '2026-01-31', 'suspend', expiredOnly],
    ['approved', '2026-01-31', 'resume', expiredOnly],
    ['approved', '2026-01-31', 'revoke', { ok: true, status: 'revoked' }],
    ['suspended', '2026-01-31', 'resume', expiredOnly],
    ['suspended', '2026-01-31', 'revoke', { ok: true, status: 'revoked' }],
    ['expired', '2026-01-31', 'suspend', expiredOnly],
    ['expired', '2026-01-31', 'resume', expiredOnly],
    ['expired', '2026-01-31', 'revoke', { ok: true, status: 'revoked' }],
    ['approved', TODAY, 'suspend', { ok: true, status: 'suspended' }],
    ['pending', '2027-12-31', 'revoke', refused('Grant G-1 is pending; only an approved, suspended or expired grant can be changed.')],
    ['rejected', '2027-12-31', 'suspend', refused('Grant G-1 is rejected; only an approved, suspended or expired grant can be changed.')],
  ])('a %s grant valid until %s --%s--> %j', (status, validUntil, action, outcome) => {
    expect(nextGrantStatus(grant(status, validUntil), action, TODAY)).toEqual(outcome);
  });
});

describe('the grant in force today', () => {
  it.each([
    ['approved', '2026-01-01', '2027-12-31', 'active'],
    ['approved', '2026-11-23', '2026-11-23', 'active'],
    ['approved', '2026-11-24', '2027-12-31', 'not-yet-valid'],
    ['approved', '2025-01-01', '2026-11-22', 'expired'],
    ['expired', '2026-01-01', '2027-12-31', 'expired'],
    ['suspended', '2026-01-01', '2027-12-31', 'suspended'],
    ['suspended', '2025-01-01', '2025-12-31', 'expired'],
    ['revoked', '2026-01-01', '2027-12-31', 'revoked'],
    ['revoked', '2025-01-01', '2025-12-31', 'revoked'],
    ['pending', '2026-01-01', '2027-12-31', 'revoked'],
  ] as const)('a %s grant valid %s…%s is %s on 2026-11-23', (status, validFrom, validUntil, state) => {
    expect(effectiveGrantStatus({ status, validFrom, validUntil }, '2026-11-23')).toBe(state);
  });
});

describe('reasons', () => {
  it.each(['', '   ', '\n\t ', null, undefined])('refuses %j', (reason) => {
    expect(requireReason(reason, 'A refusal')).toEqual(refused('A refusal needs a reason: state why (it is recorded and shown to the other department).'));
  });

  it('trims a real one', () => {
    expect(requireReason('  最小必要 ', 'A refusal')).toEqual({ ok: true, reason: '最小必要' });
  });

  it('accepts 2000 characters', () => {
    expect(requireReason('理'.repeat(2000), 'A refusal')).toEqual({ ok: true, reason: '理'.repeat(2000) });
  });

  it('counts the length after trimming', () => {
    expect(requireReason(` ${'x'.repeat(2000)} `, 'A refusal')).toEqual({ ok: true, reason: 'x'.repeat(2000) });
  });

  it('refuses 2001 characters', () => {
    expect(requireReason('x'.repeat(2001), 'An escalation')).toEqual(refused("An escalation's reason is longer than 2000 characters."));
  });
});

describe('approval terms', () => {
  const TODAY = '2026-11-23';
  const resource = {
    code: 'GA-FACE',
    items: [
      { name: 'photo', title: 'p', type: 'string', classification: 'biometric', mask: 'none' },
      { name: 'takenAt', title: 't', type: 'date', classification: 'personal', mask: 'none' },
      { name: 'place', title: 'p', type: 'string', classification: 'personal', mask: 'address' },
      { name: 'idNumber', title: 'i', type: 'string', classification: 'sensitive', mask: 'idNumber' },
    ],
  } as unknown as Resource;
  const applied = {
    items: [{ name: 'photo', access: 'clear' as const }, { name: 'takenAt', access: 'masked' as const }, { name: 'idNumber', access: 'verify' as const }],
    validFrom: '2026-12-01', validUntil: '2027-11-30', maxBatch: 10, expectedDailyVolume: 300,
  };
  const check = (terms: ApprovalTerms) => checkApprovalTerms(applied, terms, resource, TODAY);
  const problems = (terms: ApprovalTerms) => {
    const r = check(terms);
    return r.ok ? [] : r.problems;
  };
  const period = { validFrom: '2026-12-01', validUntil: '2027-11-30' };

  it('defaults to what was applied (as a directed grant does), biometric items consent-bound', () => {
    expect(check({})).toEqual({
      ok: true,
      grant: {
        items: [{ name: 'photo', access: 'clear', consent: true }, { name: 'takenAt', access: 'masked' }, { name: 'idNumber', access: 'verify' }],
        ...period, quota: { perDay: 300, maxBatch: 10, verifyPerDay: 5 },
      },
    });
  });

  it('narrows items, access, period and quotas, and marks consent items', () => {
    expect(check({ items: [{ name: 'takenAt', access: 'verify' }], validUntil: '2027-05-31', perDay: 50, maxBatch: 1, verifyPerDay: 3, consentItems: ['takenAt'] })).toEqual({
      ok: true, grant: { items: [{ name: 'takenAt', access: 'verify', consent: true }], validFrom: '2026-12-01', validUntil: '2027-05-31', quota: { perDay: 50, maxBatch: 1, verifyPerDay: 3 } },
    });
  });

  it('keeps a biometric item consent-bound even when narrowed to verification and not named', () => {
    expect(check({ items: [{ name: 'photo', access: 'verify' }], consentItems: [] })).toEqual({
      ok: true, grant: { items: [{ name: 'photo', access: 'verify', consent: true }], ...period, quota: { perDay: 300, maxBatch: 10, verifyPerDay: 5 } },
    });
  });

  it('ignores a consent flag on an item: only consentItems and the classification decide', () => {
    expect(check({ items: [{ name: 'takenAt', access: 'masked', consent: true }] })).toEqual({
      ok: true, grant: { items: [{ name: 'takenAt', access: 'masked' }], ...period, quota: { perDay: 300, maxBatch: 10, verifyPerDay: 5 } },
    });
  });

  it('accepts a narrower period on both ends', () => {
    expect(check({ validFrom: '2027-01-01', validUntil: '2027-01-01' })).toEqual({
      ok: true,
      grant: {
        items: [{ name: 'photo', access: 'clear', consent: true }, { name: 'takenAt', access: 'masked' }, { name: 'idNumber', access: 'verify' }],
        validFrom: '2027-01-01', validUntil: '2027-01-01', quota: { perDay: 300, maxBatch: 10, verifyPerDay: 5 },
      },
    });
  });

  it.each<[string, 'clear' | 'masked' | 'verify', string, 'clear' | 'masked' | 'verify', string[]]>([
    ['photo', 'clear', 'clear', 'clear', []],
    ['photo', 'clear', 'to', 'masked', []],
    ['photo', 'clear', 'to', 'verify', []],
    ['takenAt', 'masked', 'to', 'verify', []],
    ['takenAt', 'masked', 'to', 'clear', ['item "takenAt" was applied for as masked; it cannot be approved as clear']],
    ['idNumber', 'verify', 'to', 'masked', ['item "idNumber" was applied for as verify; it cannot be approved as masked']],
    ['idNumber', 'verify', 'to', 'clear', ['item "idNumber" was applied for as verify; it cannot be approved as clear']],
  ])('%s applied %s, approved %s %s: %j', (name, _from, _to, access, expected) => {
    expect(problems({ items: [{ name, access }] })).toEqual(expected);
  });

  it.each<[string, ApprovalTerms, string[]]>([
    ['no items', { items: [] }, ['at least one item must be approved']],
    ['an item not applied for', { items: [{ name: 'place', access: 'masked' }] }, ['item "place" was not applied for']],
    ['an item the resource does not have', { items: [{ name: 'nothing', access: 'clear' }] }, ['resource GA-FACE has no item "nothing"']],
    ['an item named twice', { items: [{ name: 'takenAt', access: 'masked' }, { name: 'takenAt', access: 'verify' }] }, ['item "takenAt" is named twice']],
    ['an unknown access class', { items: [{ name: 'takenAt', access: 'everything' as 'clear' }] }, ['item "takenAt" has unknown access "everything" (clear, masked or verify)']],
    ['an earlier start', { validFrom: '2026-11-30' }, ['validFrom 2026-11-30 is before the applied 2026-12-01']],
    ['a later end', { validUntil: '2027-12-01' }, ['validUntil 2027-12-01 is after the applied 2027-11-30']],
    ['an end before the start', { validFrom: '2027-06-01', validUntil: '2027-05-31' }, ['validUntil is before validFrom']],
    ['a one-day period', { validUntil: '2026-12-01' }, []],
    ['a date that is not YYYY-MM-DD', { validUntil: '2027/05/31' }, ['validUntil "2027/05/31" is not a date (YYYY-MM-DD)']],
    ['a bigger batch', { maxBatch: 11 }, ['maxBatch 11 is more than the applied 10']],
    ['the applied batch', { maxBatch: 10 }, []],
    ['a batch of zero', { maxBatch: 0 }, ['maxBatch must be at least 1']],
    ['a fractional batch', { maxBatch: 2.5 }, ['maxBatch must be at least 1']],
    ['a daily quota of zero', { perDay: 0 }, ['perDay must be at least 1']],
    ['a daily quota above the expected volume', { perDay: 1000 }, []],
    ['no verification attempts', { verifyPerDay: 0 }, ['verifyPerDay must be between 1 and 1000']],
    ['too many verification attempts', { verifyPerDay: 1001 }, ['verifyPerDay must be between 1 and 1000']],
    ['a consent item not approved', { items: [{ name: 'takenAt', access: 'masked' }], consentItems: ['photo'] }, ['consent item "photo" is not an approved item']],
  ])('%s: %j', (_name, terms, expected) => {
    expect(problems(terms)).toEqual(expected);
  });

  it('refuses a period whose end is already past', () => {
    expect(checkApprovalTerms({ ...applied, validFrom: '2026-01-01' }, { validUntil: '2026-11-22' }, resource, TODAY)).toEqual({ ok: false, problems: ['validUntil 2026-11-22 is already past'] });
  });

  it('lists every problem at once', () => {
    expect(problems({
      items: [{ name: 'takenAt', access: 'clear' }, { name: 'place', access: 'masked' }, { name: 'nothing', access: 'clear' }],
      validFrom: '2026-11-01', validUntil: '2028-01-01', maxBatch: 11, consentItems: ['photo'],
    })).toEqual([
      'item "takenAt" was applied for as masked; it cannot be approved as clear',
      'item "place" was not applied for',
      'resource GA-FACE has no item "nothing"',
      'validFrom 2026-11-01 is before the applied 2026-12-01',
      'validUntil 2028-01-01 is after the applied 2027-11-30',
      'maxBatch 11 is more than the applied 10',
      'consent item "photo" is not an approved item',
    ]);
  });
});
