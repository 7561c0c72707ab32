/**
 * Separate consent (单独同意) for a biometric item, end to end: the portal records it, a department
 * system presents it, and the hub serves the face photo only under a consent in force for that
 * subject, department, purpose and item.
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
const RECORD = 'mutation ($i: ConsentInput!) { recordConsent(input: $i) { id inForce validUntil } }';
const future = '2027-06-30';

async function record(idNumber: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.query(t.people['portal']!, RECORD, { i: { idNumber, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: future, ...extra } });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data!['recordConsent'] as { id: string }).id;
}

function readFace(idNumber: string, consentRef?: string, caseId = 'CSYJS-C-1'): Promise<GraphQLResponse> {
  return t.query(t.tokens.zw, `query ($id: String!, $ref: String) {
    access(purpose: "${CSYJS}", caseId: "${caseId}", operator: "op-1", consentRef: $ref) { person(idNumber: $id) { facePhoto { photo takenAt } } }
  }`, { id: idNumber, ref: consentRef ?? null });
}

const photoOf = (res: GraphQLResponse) => (res.body.data as { access: { person: { facePhoto: { photo: string | null } | null } } }).access.person.facePhoto?.photo ?? null;
const photoError = (res: GraphQLResponse) => errorsAt(res.body, 'access', 'person', 'facePhoto', 'photo')[0]?.extensions;

describe('a consent in force', () => {
  it('serves the photo under it, and the access record names the consent', async () => {
    const { mother } = t.data.births[0]!;
    const ref = await record(mother);
    const res = await readFace(mother, ref, 'CSYJS-C-OK');
    expect(res.body.errors).toBeUndefined();
    expect(photoOf(res)).toBe(`SYNTHETIC-FACE-${mother.slice(-6)}`);
    await t.hub.runtime.audit.flush();
    const [rec] = await searchAccess(t.hubDb.db, { subject: subjectHash(t.subjectKey, mother), resource: 'GA-FACE', limit: 10 });
    expect(rec).toMatchObject({ decision: 'allow', consent: ref, caseId: 'CSYJS-C-OK', itemsReturned: ['photo', 'takenAt'], grants: [{ id: 'G-2026-0008', version: 1 }] });
  });
});

describe('no consent in force', () => {
  it('without consentRef: the photo is CONSENT_REQUIRED, the rest is served', async () => {
    const { mother } = t.data.births[1]!;
    const res = await readFace(mother);
    expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    expect((res.body.data as { access: { person: { facePhoto: { takenAt: string } } } }).access.person.facePhoto.takenAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(res.body.data)).not.toContain('SYNTHETIC-FACE');
  });

  it('withdrawn: CONSENT_REQUIRED from the moment of withdrawal', async () => {
    const { mother } = t.data.births[2]!;
    const ref = await record(mother);
    expect(photoOf(await readFace(mother, ref))).toMatch(/^SYNTHETIC-FACE-/);
    const withdrawn = await t.query(t.people['portal']!, 'mutation ($id: ID!) { withdrawConsent(id: $id, reason: "本人撤回") { inForce withdrawnReason } }', { id: ref });
    expect(withdrawn.body.data).toEqual({ withdrawConsent: { inForce: false, withdrawnReason: '本人撤回' } });
    const res = await readFace(mother, ref);
    expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    expect(res.body.errors?.[0]?.message).toContain('withdrew');
  });

  it('expired: CONSENT_REQUIRED (and an already expired consent cannot be recorded)', async () => {
    const { mother } = t.data.births[3]!;
    const past = await t.query(t.people['portal']!, RECORD, { i: { idNumber: mother, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: '2025-01-01' } });
    expect(past.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const ref = await record(mother);
    // Time passes: the consent's last day was yesterday.
    await t.hubDb.db.collection('consents').updateOne({ id: ref }, { $set: { validUntil: '2026-01-01' } });
    const res = await readFace(mother, ref);
    expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    expect(res.body.errors?.[0]?.message).toContain('expired on 2026-01-01');
  });

  it('for another purpose: CONSENT_REQUIRED', async () => {
    const { mother } = t.data.births[4]!;
    const ref = await record(mother, { purpose: '440000-MZB-001' });
    const res = await readFace(mother, ref);
    expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    expect(res.body.errors?.[0]?.message).toContain('for purpose 440000-MZB-001');
  });

  it('given by another subject: CONSENT_REQUIRED', async () => {
    const { mother, child } = t.data.births[5]!;
    const childsConsent = await record(child);
    const res = await readFace(mother, childsConsent);
    expect(photoError(res)).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
  });

  it('an unknown reference: CONSENT_REQUIRED; a malformed one: BAD_USER_INPUT', async () => {
    const { mother } = t.data.births[0]!;
    expect(photoError(await readFace(mother, 'CS-20260101-DEADBEEF'))).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    const bad = await readFace(mother, 'x y {');
    expect(bad.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });
});

describe('the portal', () => {
  it('is the only one that records consents', async () => {
    const i = { idNumber: t.data.births[0]!.mother, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: future };
    for (const token of [t.tokens.zw, t.people['officer-ga']!, t.people['admin']!]) {
      expect((await t.query(token, RECORD, { i })).body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    }
  });

  it('refuses an invalid ID number, an unknown item and a department that does not handle the purpose', async () => {
    const base = { idNumber: t.data.births[0]!.mother, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: future };
    for (const change of [{ idNumber: '440106199001011230' }, { items: ['GA-FACE.iris'] }, { consumer: 'RS' }]) {
      const res = await t.query(t.people['portal']!, RECORD, { i: { ...base, ...change } });
      expect(res.body.errors?.[0]?.extensions?.['code'], JSON.stringify(change)).toBe('BAD_USER_INPUT');
    }
  });

  it('stores the data subject only as the keyed hash', async () => {
    const docs = await t.hubDb.db.collection('consents').find({}).toArray();
    expect(docs.length).toBeGreaterThan(0);
    const text = JSON.stringify(docs);
    for (const b of t.data.births.slice(0, 6)) {
      expect(text).not.toContain(b.mother);
      expect(text).not.toContain(b.child);
    }
    const admin = JSON.stringify(await t.hubDb.db.collection('audit_admin').find({ action: 'consent.record' }).toArray());
    expect(admin).not.toContain(t.data.births[0]!.mother);
  });
});
