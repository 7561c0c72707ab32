/**
 * Consent matching: a consent serves only its subject, consumer department, purpose and items,
 * while in force.
 */
import { describe, expect, it } from 'vitest';
import { consentRefusal } from '../../policies/index.ts';
import type { Consent } from '../../schema/index.ts';

const consent: Consent = {
  id: 'CS-1', subject: 'hash-of-mother', consumer: 'ZW', purpose: '440000-CSYJS-001', items: ['GA-FACE.photo'],
  validUntil: '2026-12-31', recordedAt: new Date('2026-11-01T00:00:00Z'), recordedBy: 'ywtb-portal', withdrawnAt: null, withdrawnReason: null,
};
const need = { subject: 'hash-of-mother', consumer: 'ZW', purpose: '440000-CSYJS-001', items: ['GA-FACE.photo'], today: '2026-11-23' };

describe('consent matching', () => {
  it('covers its own subject, department, purpose and items while in force', () => {
    expect(consentRefusal(consent, need)).toBeNull();
    expect(consentRefusal(consent, { ...need, today: '2026-12-31' })).toBeNull();
  });

  it.each<[string, Consent | null, Partial<typeof need>, string]>([
    ['no consent', null, {}, 'no consent with this reference is on record.'],
    ['withdrawn', { ...consent, withdrawnAt: new Date('2026-11-20T03:00:00Z'), withdrawnReason: '本人撤回' }, {}, 'the data subject withdrew this consent on 2026-11-20.'],
    ['expired', consent, { today: '2027-01-01' }, 'this consent expired on 2026-12-31.'],
    ['another subject', consent, { subject: 'hash-of-child' }, 'this consent was given by another data subject.'],
    ['another department', consent, { consumer: 'GA' }, 'this consent was given to department ZW, not yours.'],
    ['another purpose', consent, { purpose: '440000-MZB-001' }, 'this consent is for purpose 440000-CSYJS-001, not 440000-MZB-001.'],
    ['an item it does not cover', consent, { items: ['GA-FACE.photo', 'GA-FACE.takenAt'] }, 'this consent does not cover GA-FACE.takenAt.'],
  ])('refuses %s', (_name, c, change, message) => {
    expect(consentRefusal(c, { ...need, ...change })).toBe(message);
  });
});
