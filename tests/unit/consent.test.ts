/**
 * Consent matching (单独同意): a consent serves only its subject, consumer department, purpose and
 * items, while in force; the first problem is named, and a consent of someone else reveals nothing.
 */
import { describe, expect, it } from 'vitest';
import { consentRefusal, type ConsentNeed } from '../../policies/index.ts';
import type { Consent } from '../../schema/index.ts';

const consent: Consent = {
  id: 'CS-1', subject: 'hash-of-mother', consumer: 'ZW', purpose: '440000-CSYJS-001', items: ['GA-FACE.photo', 'GA-FACE.takenAt'],
  validUntil: '2026-12-31', recordedAt: new Date('2026-11-01T00:00:00Z'), recordedBy: 'ywtb-portal', withdrawnAt: null, withdrawnReason: null,
};
const need: ConsentNeed = { subject: 'hash-of-mother', consumer: 'ZW', purpose: '440000-CSYJS-001', items: ['GA-FACE.photo'], today: '2026-11-23' };
const withdrawn: Consent = { ...consent, withdrawnAt: new Date('2026-11-20T03:00:00Z'), withdrawnReason: '本人撤回' };

describe('a consent in force', () => {
  it.each<[string, Partial<ConsentNeed>]>([
    ['its own subject, department, purpose and item', {}],
    ['on its last day', { today: '2026-12-31' }],
    ['every item it names', { items: ['GA-FACE.takenAt', 'GA-FACE.photo'] }],
    ['no item at all', { items: [] }],
  ])('covers %s', (_name, change) => {
    expect(consentRefusal(consent, { ...need, ...change })).toBeNull();
  });
});

describe('a consent that does not cover the need', () => {
  it.each<[string, Consent | null, Partial<ConsentNeed>, string]>([
    ['no consent', null, {}, 'no consent with this reference is on record.'],
    ['another subject', consent, { subject: 'hash-of-child' }, 'this consent was given by another data subject.'],
    ['another department', consent, { consumer: 'GA' }, 'this consent was given to another department, not yours.'],
    ['withdrawn', withdrawn, {}, 'the data subject withdrew this consent on 2026-11-20.'],
    ['expired', consent, { today: '2027-01-01' }, 'this consent expired on 2026-12-31.'],
    ['another purpose', consent, { purpose: '440000-MZB-001' }, 'this consent is for purpose 440000-CSYJS-001, not 440000-MZB-001.'],
    ['an item it does not cover', consent, { items: ['GA-FACE.photo', 'GA-FACE.place'] }, 'this consent does not cover GA-FACE.place.'],
    ['several items it does not cover', consent, { items: ['GA-FACE.place', 'GA-FACE.photo', 'GA-HUKOU.name'] }, 'this consent does not cover GA-FACE.place, GA-HUKOU.name.'],
    ['an item of another resource with the same name', consent, { items: ['GA-HUKOU.photo'] }, 'this consent does not cover GA-HUKOU.photo.'],
  ])('refuses %s', (_name, c, change, message) => {
    expect(consentRefusal(c, { ...need, ...change })).toBe(message);
  });
});

describe('which problem is named first', () => {
  it.each<[string, Consent, Partial<ConsentNeed>, string]>([
    ["another subject's withdrawn consent: nothing about the withdrawal", withdrawn, { subject: 'hash-of-child' }, 'this consent was given by another data subject.'],
    ["another department's expired consent: nothing about its period", consent, { consumer: 'GA', today: '2027-01-01' }, 'this consent was given to another department, not yours.'],
    ['withdrawn before expired', withdrawn, { today: '2027-01-01' }, 'the data subject withdrew this consent on 2026-11-20.'],
    ['expired before another purpose', consent, { today: '2027-01-01', purpose: '440000-MZB-001' }, 'this consent expired on 2026-12-31.'],
    ['another purpose before a missing item', consent, { purpose: '440000-MZB-001', items: ['GA-FACE.place'] }, 'this consent is for purpose 440000-CSYJS-001, not 440000-MZB-001.'],
  ])('%s', (_name, c, change, message) => {
    expect(consentRefusal(c, { ...need, ...change })).toBe(message);
  });
});
