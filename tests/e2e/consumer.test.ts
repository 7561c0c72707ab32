/**
 * A department system gets combined, purpose-bound records through the hub: over HTTP, against a
 * real MongoDB-wire server and real department systems on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess, subjectHash, type AccessRecord } from '../../audit/index.ts';
import { errorsAt, startTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';

async function auditFor(requestId: string): Promise<AccessRecord[]> {
  await t.hub.runtime.audit.flush();
  return searchAccess(t.hubDb.db, { requestId, limit: 10_000 });
}

describe('combined records', () => {
  it('returns one person\'s records from four departments in one query', async () => {
    const { child, mother } = t.data.births[0]!;
    const res = await t.query(t.tokens.zw, `query ($child: String!, $mother: String!) {
      access(purpose: "${CSYJS}", caseId: "CSYJS-2026-1", operator: "op-1") {
        child: person(idNumber: $child) {
          idNumber
          hukou { name gender birthDate relation }
          birthCertificate { certificateNo childName birthDate motherName }
          medicalInsurance { status scheme }
        }
        mother: person(idNumber: $mother) { socialInsurance { status insuredSince } }
      }
    }`, { child, mother });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const access = res.body.data!['access'] as Record<string, Record<string, Record<string, unknown>>>;
    const person = t.data.persons.find((p) => p.idNumber === child)!;
    expect(access['child']!['idNumber']).toBe(child);
    // 公安: unconditional, the name shown with its default mask (张*).
    expect(access['child']!['hukou']).toMatchObject({ gender: person.gender, birthDate: person.birthDate, name: `${Array.from(person.name)[0]}${'*'.repeat(Array.from(person.name).length - 1)}` });
    // 卫健: granted clear except the mother's name, granted masked.
    const cert = access['child']!['birthCertificate']!;
    expect(cert['childName']).toBe(person.name);
    expect(cert['motherName']).toMatch(/^\p{Script=Han}\*+$/u);
    // 医保 and 人社.
    expect(access['child']!['medicalInsurance']).toMatchObject({ status: '参保缴费' });
    expect(access['mother']!['socialInsurance']!['status']).toMatch(/参保|缴费/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('returns null for a subject the department has no record of', async () => {
    const res = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-2", operator: "op-1") {
      person(idNumber: "11010519491231002X") { idNumber hukou { name } } } }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ access: { person: { idNumber: '11010519491231002X', hukou: null } } });
  });

  it('lists the catalogue and purposes so a department can find what to ask for', async () => {
    const res = await t.query(t.tokens.sj, '{ catalogue { code name field sharing provider { code name } items { name classification } } purposes { code name legalBasis departments } }');
    expect(res.body.errors).toBeUndefined();
    const catalogue = res.body.data!['catalogue'] as Array<Record<string, unknown>>;
    expect(catalogue.find((r) => r['code'] === 'GA-HUKOU')).toMatchObject({ field: 'hukou', sharing: 'unconditional', provider: { code: 'GA', name: '广东省公安厅' } });
    const purposes = res.body.data!['purposes'] as Array<Record<string, unknown>>;
    expect(purposes.find((p) => p['code'] === DIBAO)?.['legalBasis']).toContain('社会救助暂行办法');
  });
});

describe('purpose binding', () => {
  it.each([
    ['no purpose', 'caseId: "c-1", operator: "op-1"', 'PURPOSE_REQUIRED'],
    ['an empty purpose', 'purpose: " ", caseId: "c-1", operator: "op-1"', 'PURPOSE_REQUIRED'],
    ['no case number', `purpose: "${CSYJS}", operator: "op-1"`, 'PURPOSE_REQUIRED'],
    ['no operator', `purpose: "${CSYJS}", caseId: "c-1"`, 'PURPOSE_REQUIRED'],
    ['an unknown purpose', 'purpose: "NO-SUCH-ITEM", caseId: "c-1", operator: "op-1"', 'PURPOSE_INVALID'],
    ['a purpose the department does not handle', `purpose: "${DIBAO}", caseId: "c-1", operator: "op-1"`, 'PURPOSE_INVALID'],
  ])('refuses %s, serves no data and audits the refusal', async (_what, args, code) => {
    const { child } = t.data.births[0]!;
    const res = await t.query(t.tokens.zw, `{ access(${args}) { person(idNumber: "${child}") { hukou { name } } } }`);
    expect(res.body.data).toEqual({ access: null });
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe(code);
    expect(res.body.errors?.[0]?.message).toMatch(/purpose|case|operator/i);
    const records = await auditFor(res.headers.get('x-request-id')!);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: 'access', decision: 'deny', code, system: 'zw-yichuang', department: 'ZW' });
  });
});

describe('policy', () => {
  const applicant = () => t.data.dibaoApplicants.find((id) => t.data.mongo.renshe['social_insurance']!.some((r) => r['idNumber'] === id))!;

  it('refuses an ungranted item with FORBIDDEN naming it, serves the granted ones, and audits both', async () => {
    const id = applicant();
    const res = await t.query(t.tokens.mz, `{ access(purpose: "${DIBAO}", caseId: "DB-1", operator: "mz-op") {
      person(idNumber: "${id}") { socialInsurance { status monthlyBase employer } } } }`);
    const si = (res.body.data!['access'] as { person: { socialInsurance: Record<string, unknown> } }).person.socialInsurance;
    expect(si['status']).toBeTruthy();
    expect(typeof si['monthlyBase']).toBe('number');
    expect(si['employer']).toBeNull();
    const errors = errorsAt(res.body, 'access', 'person', 'socialInsurance', 'employer');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions).toMatchObject({ code: 'FORBIDDEN', item: 'employer', resource: 'RS-SOCIAL-INSURANCE' });
    expect(errors[0]!.message).toContain('employer');
    const [record] = await auditFor(res.headers.get('x-request-id')!);
    expect(record).toMatchObject({
      action: 'read', resource: 'RS-SOCIAL-INSURANCE', provider: 'RS', decision: 'partial', code: 'FORBIDDEN',
      itemsReturned: ['monthlyBase', 'status'], itemsRefused: ['employer'], purpose: DIBAO, caseId: 'DB-1', operator: 'mz-op',
      grants: [{ id: 'G-2026-0003', version: 1 }],
    });
  });

  it('never serves a resource that is not shared (不予共享)', async () => {
    const res = await t.query(t.tokens.mz, `{ access(purpose: "${DIBAO}", caseId: "DB-2", operator: "mz-op") {
      person(idNumber: "${applicant()}") { criminalCases { caseCount } hukou { gender } } } }`);
    const person = (res.body.data!['access'] as { person: Record<string, unknown> }).person;
    expect(person['criminalCases']).toBeNull();
    expect(person['hukou']).toBeTruthy();
    expect(errorsAt(res.body, 'access', 'person', 'criminalCases')[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(t.departments.gongan.callsFor('criminal')).toBe(0);
  });

  it('refuses a conditional resource without a grant, and an expired grant with GRANT_EXPIRED', async () => {
    const { child } = t.data.births[0]!;
    const res = await t.query(t.tokens.mz, `{ access(purpose: "${DIBAO}", caseId: "DB-3", operator: "mz-op") {
      person(idNumber: "${child}") { birthCertificate { childName } } } }`);
    expect(errorsAt(res.body, 'access', 'person', 'birthCertificate')[0]?.extensions?.['code']).toBe('GRANT_EXPIRED');
    const none = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-3", operator: "op") {
      person(idNumber: "${child}") { vehicles { vehicleCount } } } }`);
    expect(errorsAt(none.body, 'access', 'person', 'vehicles')[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('refuses a biometric item without a consent reference, under the grant that names it', async () => {
    const { mother } = t.data.births[0]!;
    const res = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-4", operator: "op") {
      person(idNumber: "${mother}") { facePhoto { photo takenAt } } } }`);
    expect(errorsAt(res.body, 'access', 'person', 'facePhoto', 'photo')[0]?.extensions).toMatchObject({ code: 'CONSENT_REQUIRED', reason: 'CONSENT_MISSING' });
    expect(JSON.stringify(res.body.data)).not.toContain('SYNTHETIC-FACE');
    // The item that is not consent-bound is served.
    expect((res.body.data as { access: { person: { facePhoto: { takenAt: string } } } }).access.person.facePhoto.takenAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('refuses a biometric item with FORBIDDEN to a department without a grant for it', async () => {
    const { mother } = t.data.births[0]!;
    const res = await t.query(t.tokens.ga, `{ access(purpose: "${CSYJS}", caseId: "c-4", operator: "op") {
      person(idNumber: "${mother}") { facePhoto { photo } } } }`);
    expect(errorsAt(res.body, 'access', 'person', 'facePhoto')[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(JSON.stringify(res.body.data)).not.toContain('SYNTHETIC-FACE');
  });

  it('verifies claims without returning the record, and keeps verify-only items out of reads', async () => {
    const { child, mother } = t.data.births[0]!;
    const q = (claim: string) => t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-5", operator: "op") {
      verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "${claim}" }) { match mismatched } } }`);
    expect((await q(mother)).body.data).toEqual({ access: { verify: { match: true, mismatched: [] } } });
    expect((await q('110105194912310021')).body.data).toEqual({ access: { verify: { match: false, mismatched: ['motherIdNumber'] } } });
    const read = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-5", operator: "op") {
      person(idNumber: "${child}") { birthCertificate { motherIdNumber } } } }`);
    const err = errorsAt(read.body, 'access', 'person', 'birthCertificate', 'motherIdNumber')[0];
    expect(err?.extensions?.['code']).toBe('FORBIDDEN');
    expect(err?.message).toMatch(/verif/);
    expect(JSON.stringify(read.body.data)).not.toContain(mother);
  });
});

describe('authentication', () => {
  it.each([
    ['an unknown token', 'ywgx_this-token-was-never-issued-by-the-hub'],
    ['no token', null],
  ])('refuses %s with UNAUTHENTICATED and no data', async (_what, token) => {
    const { child } = t.data.births[0]!;
    const res = await t.query(token, `{ access(purpose: "${CSYJS}", caseId: "c", operator: "o") { person(idNumber: "${child}") { hukou { name } } } }`);
    expect(res.status).toBe(401);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});

describe('input', () => {
  it('refuses an invalid citizen ID number with BAD_USER_INPUT', async () => {
    const res = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c", operator: "o") { person(idNumber: "440106199001011236") { hukou { name } } } }`);
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toContain('check character');
  });

  it('refuses a persons batch above the maximum', async () => {
    const ids = t.data.persons.slice(0, 101).map((p) => p.idNumber);
    const res = await t.query(t.tokens.mz, `query ($ids: [String!]!) { access(purpose: "${DIBAO}", caseId: "c", operator: "o") { persons(idNumbers: $ids) { hukou { gender } } } }`, { ids });
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toMatch(/at most 100/);
  });
});

describe('batching and evidence', () => {
  it('makes one upstream call per resource for 50 subjects, and writes one audit record per access', async () => {
    const ids = t.data.persons.filter((p) => p.role === 'head' || p.role === 'spouse').slice(0, 50).map((p) => p.idNumber);
    expect(ids).toHaveLength(50);
    const before = { hukou: t.departments.gongan.callsFor('hukou'), vehicle: t.departments.gongan.callsFor('vehicle'), marriage: t.departments.minzheng.callsFor('marriage') };
    const res = await t.query(t.tokens.mz, `query ($ids: [String!]!) { access(purpose: "${DIBAO}", caseId: "DB-50", operator: "mz-op") {
      persons(idNumbers: $ids) { idNumber hukou { gender relation } vehicles { vehicleCount } marriage { maritalStatus } } } }`, { ids });
    expect(res.body.errors).toBeUndefined();
    const persons = (res.body.data!['access'] as { persons: Array<Record<string, unknown>> }).persons;
    expect(persons.map((p) => p['idNumber'])).toEqual(ids);
    expect(t.departments.gongan.callsFor('hukou') - before.hukou).toBe(1);
    expect(t.departments.gongan.callsFor('vehicle') - before.vehicle).toBe(1);
    expect(t.departments.minzheng.callsFor('marriage') - before.marriage).toBe(1);

    const records = await auditFor(res.headers.get('x-request-id')!);
    expect(records).toHaveLength(150);
    for (const resource of ['GA-HUKOU', 'GA-VEHICLE', 'MZ-MARRIAGE']) {
      expect(records.filter((r) => r.resource === resource).map((r) => r.subject).sort()).toEqual(ids.map((id) => subjectHash(t.subjectKey, id)).sort());
    }
    // Subjects appear only as keyed hashes, never raw.
    const raw = JSON.stringify(records);
    for (const id of ids) expect(raw).not.toContain(id);
  });
  it('serves two statements of one document from one shared department call, each with its own answer and records', async () => {
    const [first, second] = t.data.persons.filter((p) => p.role === 'head').slice(0, 2);
    const before = t.departments.gongan.callsFor('hukou');
    const shared = async () => (await t.hub.runtime.metrics.upstreamCombinedCalls.get()).values.find((v) => v.labels['connector'] === 'gongan-rest')?.value ?? 0;
    const sharedBefore = await shared();
    const res = await t.query(t.tokens.mz, `query ($a: String!, $b: String!) {
      one: access(purpose: "${DIBAO}", caseId: "DB-SHARED-1", operator: "mz-op") { person(idNumber: $a) { hukou { gender relation } } }
      two: access(purpose: "${DIBAO}", caseId: "DB-SHARED-2", operator: "mz-op") { person(idNumber: $b) { hukou { gender relation } } }
    }`, { a: first!.idNumber, b: second!.idNumber });
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data as Record<string, { person: { hukou: Record<string, unknown> } }>;
    expect(data['one']!.person.hukou).toEqual({ gender: first!.gender, relation: '户主' });
    expect(data['two']!.person.hukou).toEqual({ gender: second!.gender, relation: '户主' });
    // The loaders of the two statements (one per case) reached the connector together: one call.
    expect(t.departments.gongan.callsFor('hukou') - before).toBe(1);
    expect(await shared() - sharedBefore).toBe(1);
    const records = await auditFor(res.headers.get('x-request-id')!);
    expect(records.map((r) => [r.caseId, r.subject]).sort()).toEqual([
      ['DB-SHARED-1', subjectHash(t.subjectKey, first!.idNumber)],
      ['DB-SHARED-2', subjectHash(t.subjectKey, second!.idNumber)],
    ]);
  });
});

describe('a department system that is down', () => {
  it('gives that field UPSTREAM_UNAVAILABLE and leaves the rest of the response intact', async () => {
    const { child } = t.data.births[0]!;
    t.departments.gongan.setDown(true);
    try {
      const res = await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-down", operator: "op") {
        person(idNumber: "${child}") { hukou { name } birthCertificate { childName } medicalInsurance { status } } } }`);
      const person = (res.body.data!['access'] as { person: Record<string, unknown> }).person;
      expect(person['hukou']).toBeNull();
      expect(person['birthCertificate']).toBeTruthy();
      expect(person['medicalInsurance']).toBeTruthy();
      const errors = errorsAt(res.body, 'access', 'person', 'hukou');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
      expect(res.body.errors).toHaveLength(1);
      const records = await auditFor(res.headers.get('x-request-id')!);
      expect(records.find((r) => r.resource === 'GA-HUKOU')).toMatchObject({ decision: 'deny', code: 'UPSTREAM_UNAVAILABLE' });
      expect(records).toHaveLength(3);
    } finally {
      t.departments.gongan.setDown(false);
    }
  });
});

describe('operations', () => {
  it('answers liveness and readiness without a token, listing department connectors', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    t.departments.minzheng.setDown(true);
    try {
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { ready: boolean; mongodb: boolean; connectors: Record<string, boolean> };
      expect(body).toMatchObject({ ready: true, mongodb: true, connectors: { 'gongan-rest': true, 'minzheng-rest': false, 'renshe-mongo': true, 'department-files': true } });
    } finally {
      t.departments.minzheng.setDown(false);
    }
  });
});
