/**
 * Separate consent (单独同意, PIPL Arts. 28–29) for a biometric item: 政务服务中心's system
 * (zw-yichuang) reads a newborn's mother's face photo (GA-FACE, seeded grant G-2026-0008) under
 * 出生一件事. The photo is served only with a consent recorded by the citizen portal and in force
 * for that subject, consumer department, purpose and item; everything else is CONSENT_REQUIRED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess, subjectHash } from '../../audit/index.ts';
import { errorsAt, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const CSYJS = '440000-CSYJS-001';
/** 免证办: a purpose 政务服务中心 (ZW) also handles (demo/catalogue/purposes.yaml). */
const MZB = '440000-MZB-001';
const RECORD = 'mutation ($i: ConsentInput!) { recordConsent(input: $i) { id consumer purpose items validUntil inForce } }';
const WITHDRAW = 'mutation ($id: ID!, $reason: String!) { withdrawConsent(id: $id, reason: $reason) { id inForce withdrawnReason } }';

const today = () => t.hub.runtime.today();
const plusDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const inAYear = () => plusDays(today(), 365);

const mother = (i: number) => t.data.births[i]!.mother;
const child = (i: number) => t.data.births[i]!.child;
const consentInput = (idNumber: string, extra: Record<string, unknown> = {}) =>
  ({ idNumber, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: inAYear(), ...extra });

/** Records a consent through the portal; returns its reference. */
async function recordConsent(idNumber: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.query(t.people['portal']!, RECORD, { i: consentInput(idNumber, extra) });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  const consent = res.body.data!['recordConsent'] as { id: string; inForce: boolean };
  expect(consent.inForce).toBe(true);
  expect(consent.id).toMatch(/^CS-/);
  return consent.id;
}

function readFace(idNumber: string, caseId: string, consentRef?: string): Promise<GraphQLResponse> {
  return t.query(t.tokens.zw, `query ($id: String!, $ref: String) {
    access(purpose: "${CSYJS}", caseId: "${caseId}", operator: "zw-op-7", consentRef: $ref) { person(idNumber: $id) { facePhoto { photo takenAt } } }
  }`, { id: idNumber, ref: consentRef ?? null });
}

type Face = { photo: string | null; takenAt: string | null } | null;
const faceOf = (res: GraphQLResponse): Face => (res.body.data as { access: { person: { facePhoto: Face } } }).access.person.facePhoto;
const photoError = (res: GraphQLResponse) => errorsAt(res.body, 'access', 'person', 'facePhoto', 'photo')[0]?.extensions;
const expectedPhoto = (idNumber: string) => `SYNTHETIC-FACE-${idNumber.slice(-6)}`;

/** The access record(s) of a read of GA-FACE for one subject under one case number. */
async function faceRecords(idNumber: string, caseId: string) {
  await t.hub.runtime.audit.flush();
  const records = await searchAccess(t.hubDb.db, { subject: subjectHash(t.subjectKey, idNumber), resource: 'GA-FACE', limit: 100 });
  return records.filter((r) => r.caseId === caseId);
}

/** The photo refused for want of a consent in force, takenAt (not consent-bound) still served. */
function expectConsentRequired(res: GraphQLResponse): void {
  expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING', item: 'photo', resource: 'GA-FACE' });
  const face = faceOf(res);
  expect(face?.photo).toBeNull();
  expect(face?.takenAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(JSON.stringify(res.body.data)).not.toContain('SYNTHETIC-FACE');
}

describe('facePhoto with a consent in force', () => {
  it('serves the photo with consentRef, and the access record names the consent with decision allow', async () => {
    const m = mother(0);
    const ref = await recordConsent(m);
    const res = await readFace(m, 'CSYJS-CONSENT-OK', ref);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    expect(faceOf(res)).toMatchObject({ photo: expectedPhoto(m), takenAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });

    const records = await faceRecords(m, 'CSYJS-CONSENT-OK');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'read', system: 'zw-yichuang', department: 'ZW', purpose: CSYJS, decision: 'allow', consent: ref,
      grants: [{ id: 'G-2026-0008', version: 1 }],
    });
    expect([...records[0]!.itemsReturned].sort()).toEqual(['photo', 'takenAt']);
  });
});

describe('facePhoto without a consent in force: photo null with CONSENT_REQUIRED', () => {
  it('without consentRef: CONSENT_REQUIRED (reason CONSENT_MISSING) for photo while takenAt is served', async () => {
    const m = mother(1);
    const res = await readFace(m, 'CSYJS-CONSENT-NONE');
    expectConsentRequired(res);
    // Only the photo is refused.
    expect(res.body.errors).toHaveLength(1);
    const records = await faceRecords(m, 'CSYJS-CONSENT-NONE');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ decision: 'partial', code: 'CONSENT_REQUIRED', denial: 'CONSENT_MISSING', itemsReturned: ['takenAt'], itemsRefused: ['photo'], consent: null });
  });

  it('withdrawn consent: CONSENT_REQUIRED after the withdrawal (served before it)', async () => {
    const m = mother(2);
    const ref = await recordConsent(m);
    expect(faceOf(await readFace(m, 'CSYJS-CONSENT-WD-1', ref))?.photo).toBe(expectedPhoto(m));
    const withdrawn = await t.query(t.people['portal']!, WITHDRAW, { id: ref, reason: '本人撤回同意' });
    expect(withdrawn.body.errors, JSON.stringify(withdrawn.body.errors)).toBeUndefined();
    expect(withdrawn.body.data).toEqual({ withdrawConsent: { id: ref, inForce: false, withdrawnReason: '本人撤回同意' } });
    expectConsentRequired(await readFace(m, 'CSYJS-CONSENT-WD-2', ref));
  });

  it('a consent with validUntil in the past cannot be recorded (BAD_USER_INPUT)', async () => {
    const res = await t.query(t.people['portal']!, RECORD, { i: consentInput(mother(3), { validUntil: plusDays(today(), -1) }) });
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(res.body.data ?? null).toBeNull();
  });

  it('expired consent (its last day was yesterday): CONSENT_REQUIRED', async () => {
    const m = mother(3);
    const ref = await recordConsent(m);
    expect(faceOf(await readFace(m, 'CSYJS-CONSENT-EXP-1', ref))?.photo).toBe(expectedPhoto(m));
    // Time passes: set its validUntil to yesterday directly in the hub's database.
    const yesterday = plusDays(today(), -1);
    const updated = await t.hubDb.db.collection('consents').updateOne({ id: ref }, { $set: { validUntil: yesterday } });
    expect(updated.matchedCount).toBe(1);
    expectConsentRequired(await readFace(m, 'CSYJS-CONSENT-EXP-2', ref));
    const listed = await t.query(t.people['portal']!, 'query ($id: String!) { consents(idNumber: $id) { id validUntil inForce } }', { id: m });
    expect(listed.body.data).toEqual({ consents: [{ id: ref, validUntil: yesterday, inForce: false }] });
  });

  it('consent for another purpose (440000-MZB-001, which ZW also handles): CONSENT_REQUIRED under 出生一件事', async () => {
    const m = mother(4);
    const ref = await recordConsent(m, { purpose: MZB });
    expectConsentRequired(await readFace(m, 'CSYJS-CONSENT-PURPOSE', ref));
  });

  it('consent of another subject (the child\'s consent presented for the mother): CONSENT_REQUIRED', async () => {
    const m = mother(5);
    const childsConsent = await recordConsent(child(5));
    expectConsentRequired(await readFace(m, 'CSYJS-CONSENT-SUBJECT', childsConsent));
    // The same consent serves its own subject.
    expect(faceOf(await readFace(child(5), 'CSYJS-CONSENT-SUBJECT-OWN', childsConsent))?.photo).toBe(expectedPhoto(child(5)));
  });
});

describe('only the citizen portal records and withdraws consents', () => {
  it.each([
    ['the zw-yichuang system', () => t.tokens.zw],
    ['GA\'s data officer', () => t.people['officer-ga']!],
    ['ZW\'s data officer', () => t.people['officer-zw']!],
    ['the platform admin', () => t.people['admin']!],
    ['the auditor', () => t.people['auditor']!],
  ])('recordConsent by %s: FORBIDDEN', async (_who, token) => {
    const res = await t.query(token(), RECORD, { i: consentInput(mother(6)) });
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(res.body.data ?? null).toBeNull();
  });

  it('withdrawConsent by the zw-yichuang system: FORBIDDEN, and the consent stays in force', async () => {
    const m = mother(6);
    const ref = await recordConsent(m);
    const res = await t.query(t.tokens.zw, WITHDRAW, { id: ref, reason: '系统撤回' });
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(faceOf(await readFace(m, 'CSYJS-CONSENT-SYS-WD', ref))?.photo).toBe(expectedPhoto(m));
  });
});

describe('the consents collection', () => {
  it('never holds a raw ID number: subjects are stored only as the keyed hash', async () => {
    const docs = await t.hubDb.db.collection('consents').find({}).toArray();
    // The six consents recorded above; the refused attempts (past validUntil, non-portal callers) stored nothing.
    expect(docs).toHaveLength(6);
    const text = JSON.stringify(docs);
    for (const p of t.data.persons) expect(text).not.toContain(p.idNumber);
    // What is stored: the same keyed hash the audit trail uses.
    const hashes = new Set(docs.map((d) => d['subject'] as unknown));
    expect(hashes.has(subjectHash(t.subjectKey, mother(0)))).toBe(true);
    expect(hashes.has(subjectHash(t.subjectKey, child(5)))).toBe(true);
  });
});
