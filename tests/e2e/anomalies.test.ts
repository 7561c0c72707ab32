/**
 * Anomaly flags for auditors, provoked through the real hub: a grant used far above its expected
 * daily volume, access outside working hours, repeated refusals of one system and one operator,
 * reads of sensitive and biometric items, and one person read under many unrelated purposes. Each
 * flag names exactly the records behind it. A second hub, with the same kinds of traffic just
 * below every threshold, flags nothing.
 *
 * The first hub's working hours are set to a window that excludes the moment the tests run, and
 * both hubs get a working-day calendar in which today is a working day (a 调休 day if today is a
 * weekend), so the outcome does not depend on the day or hour the suite runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_COLLECTION, subjectHash } from '../../audit/index.ts';
import { dayIn } from '../../policies/index.ts';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';
const MZB = '440000-MZB-001';
const GAJC = '440000-GAJC-001';

const ANOMALIES = `query ($from: String!, $to: String!, $kinds: [AnomalyKind!]) {
  auditAnomalies(from: $from, to: $to, kinds: $kinds) {
    kind day from to grant system department operator resource subject purposes themes items expectedDailyVolume
    count threshold recordCount recordIds
    records { id caseId system operator purpose resource decision denial itemsReturned itemsVerified }
  }
}`;

interface Flag {
  kind: string; day: string | null; from: string; to: string; grant: string | null; system: string | null; department: string | null;
  operator: string | null; resource: string | null; subject: string | null; purposes: string[]; themes: string[]; items: string[];
  expectedDailyVolume: number | null; count: number; threshold: number; recordCount: number; recordIds: string[];
  records: Array<{ id: string; caseId: string; system: string; operator: string | null; purpose: string; resource: string | null; decision: string; denial: string | null; itemsReturned: string[]; itemsVerified: string[] }>;
}

const flagsOf = (res: GraphQLResponse): Flag[] => {
  expect(res.body.errors).toBeUndefined();
  return res.body.data!['auditAnomalies'] as Flag[];
};

let dir: string;
const today = dayIn('Asia/Shanghai');

/** A calendar in which today is a working day: a 调休 working day if it is a Saturday or Sunday. */
async function calendarWithTodayWorking(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'anomalies-'));
  const weekday = new Date(`${today}T00:00:00Z`).getUTCDay();
  const file = join(dir, 'calendar.yaml');
  await writeFile(file, weekday === 0 || weekday === 6 ? `workdays: ["${today}"]\n` : 'holidays: []\n');
  return file;
}

/** One hour of working hours that excludes the present moment in Shanghai (UTC+8, no daylight saving). */
function hoursExcludingNow(): string {
  const minutes = Math.floor(((Date.now() + 8 * 3_600_000) % 86_400_000) / 60_000);
  return minutes < 12 * 60 ? '20:00-21:00' : '02:00-03:00';
}

const plusDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

function read(t: TestHub, token: string, purpose: string, caseId: string, operator: string, id: string, selection: string, consentRef?: string) {
  return t.query(token, `query ($id: String!, $ref: String) {
    access(purpose: "${purpose}", caseId: "${caseId}", operator: "${operator}", consentRef: $ref) { person(idNumber: $id) { ${selection} } }
  }`, { id, ref: consentRef ?? null });
}

function verify(t: TestHub, token: string, purpose: string, caseId: string, operator: string, resource: string, key: string, claims: Record<string, string>, consentRef?: string) {
  return t.query(token, `query ($key: String!, $claims: Claims!, $ref: String) {
    access(purpose: "${purpose}", caseId: "${caseId}", operator: "${operator}", consentRef: $ref) { verify(resource: "${resource}", key: $key, claims: $claims) { match } }
  }`, { key, claims, ref: consentRef ?? null });
}

/** 公安 applies for social-insurance status under 出生一件事 for ga-huji; 人社 approves with a generous daily quota. */
async function grantWithExpectedVolume(t: TestHub, expectedDailyVolume: number): Promise<string> {
  const applied = await t.query(t.people['officer-ga']!, 'mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id } }', {
    input: {
      resource: 'RS-SOCIAL-INSURANCE', items: [{ name: 'status', access: 'clear' }], purposes: [CSYJS], systems: ['ga-huji'],
      validFrom: today, validUntil: plusDays(today, 365), expectedDailyVolume, maxBatch: 10, reason: '新生儿落户核对父母参保状态',
    },
  });
  expect(applied.body.errors).toBeUndefined();
  const approved = await t.query(t.people['officer-rs']!, 'mutation ($id: ID!, $terms: ApprovalTerms) { approveApplication(id: $id, terms: $terms) { grant { id } } }', {
    id: (applied.body.data!['applyForAccess'] as { id: string }).id,
    terms: { perDay: 50 },
  });
  expect(approved.body.errors).toBeUndefined();
  return (approved.body.data!['approveApplication'] as { grant: { id: string } }).grant.id;
}

async function consentToFace(t: TestHub, idNumber: string): Promise<string> {
  const res = await t.query(t.people['portal']!, 'mutation ($i: ConsentInput!) { recordConsent(input: $i) { id } }', {
    i: { idNumber, consumer: 'ZW', purpose: CSYJS, items: ['GA-FACE.photo'], validUntil: plusDays(today, 200) },
  });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data!['recordConsent'] as { id: string }).id;
}

const served = (res: GraphQLResponse) => expect(res.body.errors).toBeUndefined();
const refused = (res: GraphQLResponse, reason: string) => expect(res.body.errors?.map((e) => e.extensions?.['reason'])).toEqual([reason]);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('flags, each with its records', () => {
  let t: TestHub;
  let grant: string;
  let heads: string[];
  let mother: string;

  beforeAll(async () => {
    const calendar = await calendarWithTodayWorking();
    t = await startTestHub({ config: { audit: { anomalies: { workingHours: hoursExcludingNow(), refusalsPerDay: 3 } }, applications: { calendar } } });
    heads = t.data.persons.filter((p) => p.role === 'head').map((p) => p.idNumber);
    mother = t.data.births[0]!.mother;
    const { zw, mz, sj, ga } = t.tokens;

    // VOLUME: expected 1 a day, factor 3: a fourth record is far above.
    grant = await grantWithExpectedVolume(t, 1);
    for (let i = 0; i < 4; i++) served(await read(t, ga, CSYJS, `VOL-${i + 1}`, 'ga-op-1', heads[i]!, 'socialInsurance { status }'));

    // REPEATED_REFUSALS (3 a day): sj-op-1 three times, sj-op-2 once; 企业开办's system may not read vehicles under 免证办.
    for (let i = 0; i < 3; i++) refused(await read(t, sj, MZB, `REF-${i + 1}`, 'sj-op-1', heads[4 + i]!, 'vehicles { vehicleCount }'), 'OUTSIDE_PURPOSE');
    refused(await read(t, sj, MZB, 'REF-4', 'sj-op-2', heads[7]!, 'vehicles { vehicleCount }'), 'OUTSIDE_PURPOSE');

    // SENSITIVE_READ: the monthly contribution base (sensitive) served twice; its verification and a
    // status-only read are not; the face photo (biometric) served once and compared once.
    served(await read(t, mz, DIBAO, 'SEN-1', 'mz-op-1', heads[8]!, 'socialInsurance { status monthlyBase }'));
    served(await read(t, mz, DIBAO, 'SEN-2', 'mz-op-1', heads[9]!, 'socialInsurance { status monthlyBase }'));
    served(await verify(t, mz, DIBAO, 'SEN-3', 'mz-op-1', 'RS-SOCIAL-INSURANCE', heads[8]!, { monthlyBase: '1' }));
    served(await read(t, mz, DIBAO, 'SEN-4', 'mz-op-1', heads[10]!, 'socialInsurance { status }'));
    const consent = await consentToFace(t, mother);
    served(await read(t, zw, CSYJS, 'FACE-1', 'zw-op-1', mother, 'facePhoto { photo takenAt }', consent));
    served(await verify(t, zw, CSYJS, 'FACE-2', 'zw-op-1', 'GA-FACE', mother, { photo: `SYNTHETIC-FACE-${mother.slice(-6)}` }, consent));

    // MANY_PURPOSES: one person served under three unrelated purposes; a refused fourth does not count.
    served(await read(t, zw, CSYJS, 'PUR-1', 'zw-op-2', heads[11]!, 'hukou { gender }'));
    served(await read(t, mz, DIBAO, 'PUR-2', 'mz-op-2', heads[11]!, 'hukou { gender }'));
    served(await read(t, zw, MZB, 'PUR-3', 'zw-op-2', heads[11]!, 'hukou { gender }'));
    refused(await read(t, ga, GAJC, 'PUR-4', 'ga-op-2', heads[11]!, 'vehicles { vehicleCount }'), 'OUTSIDE_PURPOSE');
    await t.hub.runtime.audit.flush();
  });
  afterAll(async () => {
    await t?.close();
  });

  const anomalies = (kinds: string[] | null) => t.query(t.people['auditor']!, ANOMALIES, { from: today, to: today, kinds });

  it('VOLUME: a grant from an application, used above 3 × its expected daily volume; seeded grants are not judged', async () => {
    const flags = flagsOf(await anomalies(['VOLUME']));
    expect(flags.map(({ records: _r, recordIds: _i, ...f }) => f)).toEqual([{
      kind: 'VOLUME', day: today, from: today, to: today, grant, system: null, department: null, operator: null, resource: null, subject: null,
      purposes: [], themes: [], items: [], expectedDailyVolume: 1, count: 4, threshold: 4, recordCount: 4,
    }]);
    expect(flags[0]!.records.map((r) => [r.caseId, r.system, r.decision])).toEqual([
      ['VOL-1', 'ga-huji', 'allow'], ['VOL-2', 'ga-huji', 'allow'], ['VOL-3', 'ga-huji', 'allow'], ['VOL-4', 'ga-huji', 'allow'],
    ]);
    expect(flags[0]!.recordIds).toEqual(flags[0]!.records.map((r) => r.id));
  });

  it('OFF_HOURS: every record outside the working hours, per system and operator', async () => {
    const flags = flagsOf(await anomalies(['OFF_HOURS']));
    expect(flags.map((f) => [f.system, f.department, f.operator, f.count, f.threshold, f.recordCount, f.day])).toEqual([
      ['ga-huji', 'GA', 'ga-op-1', 4, 1, 4, today],
      ['ga-huji', 'GA', 'ga-op-2', 1, 1, 1, today],
      ['mz-dibao', 'MZ', 'mz-op-1', 4, 1, 4, today],
      ['mz-dibao', 'MZ', 'mz-op-2', 1, 1, 1, today],
      ['sj-kaiban', 'SJ', 'sj-op-1', 3, 1, 3, today],
      ['sj-kaiban', 'SJ', 'sj-op-2', 1, 1, 1, today],
      ['zw-yichuang', 'ZW', 'zw-op-1', 2, 1, 2, today],
      ['zw-yichuang', 'ZW', 'zw-op-2', 2, 1, 2, today],
    ]);
    expect(flags.map((f) => f.records.map((r) => r.caseId))).toEqual([
      ['VOL-1', 'VOL-2', 'VOL-3', 'VOL-4'], ['PUR-4'], ['SEN-1', 'SEN-2', 'SEN-3', 'SEN-4'], ['PUR-2'],
      ['REF-1', 'REF-2', 'REF-3'], ['REF-4'], ['FACE-1', 'FACE-2'], ['PUR-1', 'PUR-3'],
    ]);
  });

  it('REPEATED_REFUSALS: the system (4) and its operator refused three times, not the one refused once', async () => {
    const flags = flagsOf(await anomalies(['REPEATED_REFUSALS']));
    expect(flags.map((f) => [f.system, f.department, f.operator, f.count, f.threshold, f.recordCount])).toEqual([
      ['sj-kaiban', 'SJ', null, 4, 3, 4],
      ['sj-kaiban', 'SJ', 'sj-op-1', 3, 3, 3],
    ]);
    expect(flags[0]!.records.map((r) => [r.caseId, r.operator, r.decision, r.denial])).toEqual([
      ['REF-1', 'sj-op-1', 'deny', 'OUTSIDE_PURPOSE'], ['REF-2', 'sj-op-1', 'deny', 'OUTSIDE_PURPOSE'],
      ['REF-3', 'sj-op-1', 'deny', 'OUTSIDE_PURPOSE'], ['REF-4', 'sj-op-2', 'deny', 'OUTSIDE_PURPOSE'],
    ]);
    expect(flags[1]!.records.map((r) => r.caseId)).toEqual(['REF-1', 'REF-2', 'REF-3']);
  });

  it('SENSITIVE_READ: sensitive items served, biometric ones served or compared; a sensitive item only verified is not', async () => {
    const flags = flagsOf(await anomalies(['SENSITIVE_READ']));
    expect(flags.map((f) => [f.system, f.resource, f.items, f.count, f.threshold, f.recordCount])).toEqual([
      ['mz-dibao', 'RS-SOCIAL-INSURANCE', ['monthlyBase'], 2, 1, 2],
      ['zw-yichuang', 'GA-FACE', ['photo'], 2, 1, 2],
    ]);
    expect(flags.map((f) => f.records.map((r) => [r.caseId, [...r.itemsReturned].sort(), r.itemsVerified]))).toEqual([
      [['SEN-1', ['monthlyBase', 'status'], []], ['SEN-2', ['monthlyBase', 'status'], []]],
      [['FACE-1', ['photo', 'takenAt'], []], ['FACE-2', [], ['photo']]],
    ]);
  });

  it('MANY_PURPOSES: one person served under three unrelated purposes within the window', async () => {
    const flags = flagsOf(await anomalies(['MANY_PURPOSES']));
    expect(flags.map(({ records: _r, recordIds: _i, ...f }) => f)).toEqual([{
      kind: 'MANY_PURPOSES', day: null, from: today, to: today, grant: null, system: null, department: null, operator: null, resource: null,
      subject: subjectHash(t.subjectKey, heads[11]!), purposes: [CSYJS, DIBAO, MZB], themes: ['免证办', '出生一件事', '社会救助'], items: [],
      expectedDailyVolume: null, count: 3, threshold: 3, recordCount: 3,
    }]);
    expect(flags[0]!.records.map((r) => [r.caseId, r.purpose, r.system])).toEqual([['PUR-1', CSYJS, 'zw-yichuang'], ['PUR-2', DIBAO, 'mz-dibao'], ['PUR-3', MZB, 'zw-yichuang']]);
  });

  it('returns every kind when none is named, fewer records on request, and records the auditor\'s query', async () => {
    const all = flagsOf(await anomalies(null));
    expect(all.map((f) => f.kind)).toEqual(['VOLUME', ...Array(8).fill('OFF_HOURS'), 'REPEATED_REFUSALS', 'REPEATED_REFUSALS', 'SENSITIVE_READ', 'SENSITIVE_READ', 'MANY_PURPOSES']);
    const res = await t.query(t.people['admin']!, 'query ($d: String!) { auditAnomalies(from: $d, to: $d, kinds: [VOLUME]) { recordCount records(first: 2) { caseId } } }', { d: today });
    expect(res.body).toEqual({ data: { auditAnomalies: [{ recordCount: 4, records: [{ caseId: 'VOL-1' }, { caseId: 'VOL-2' }] }] } });
    const limited = await t.query(t.people['admin']!, 'query ($d: String!) { auditAnomalies(from: $d, to: $d, kinds: [VOLUME], recordsPerFlag: 3) { recordCount recordIds } }', { d: today });
    expect((limited.body.data!['auditAnomalies'] as Array<{ recordIds: string[] }>).map((f) => f.recordIds.length)).toEqual([3]);
    const wrong = await t.query(t.people['admin']!, 'query ($d: String!) { auditAnomalies(from: $d, to: $d, recordsPerFlag: 0) { recordCount } }', { d: today });
    expect(wrong.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'recordsPerFlag' });
    const queries = await t.hubDb.db.collection(ADMIN_COLLECTION).find({ action: 'audit.anomalies' }, { projection: { _id: 0, actor: 1, role: 1, target: 1, after: 1 } }).toArray();
    expect(queries).toContainEqual({ actor: 'audit-office-01', role: 'auditor', target: `${today}..${today}`, after: { kinds: null } });
    expect(queries).toContainEqual({ actor: 'zw-platform-admin', role: 'admin', target: `${today}..${today}`, after: { kinds: ['VOLUME'] } });
  });

  it('does not flag days outside the range', async () => {
    expect(flagsOf(await t.query(t.people['auditor']!, ANOMALIES, { from: plusDays(today, -30), to: plusDays(today, -1) }))).toEqual([]);
  });
});

describe('below every threshold, and who may ask', () => {
  let t: TestHub;

  beforeAll(async () => {
    const calendar = dir ? join(dir, 'calendar.yaml') : await calendarWithTodayWorking();
    t = await startTestHub({ config: { audit: { anomalies: { workingHours: '00:00-24:00' } }, applications: { calendar } } });
    const heads = t.data.persons.filter((p) => p.role === 'head').map((p) => p.idNumber);
    const { zw, mz, sj, ga } = t.tokens;
    // Expected 2 a day: six records are 3 × 2, not above.
    await grantWithExpectedVolume(t, 2);
    for (let i = 0; i < 6; i++) served(await read(t, ga, CSYJS, `VOL-${i + 1}`, 'ga-op-1', heads[i]!, 'socialInsurance { status }'));
    // Nine refusals of one operator in a day, one short of the default ten.
    const nine = JSON.stringify(heads.slice(6, 15));
    const batch = await t.query(sj, `{ access(purpose: "${MZB}", caseId: "REF-1", operator: "sj-op-1") { persons(idNumbers: ${nine}) { vehicles { vehicleCount } } } }`);
    expect(batch.body.errors).toHaveLength(9);
    // Personal items only, a sensitive item only verified, a biometric resource without its biometric item.
    served(await read(t, mz, DIBAO, 'SEN-1', 'mz-op-1', heads[15]!, 'socialInsurance { status insuredSince }'));
    served(await verify(t, mz, DIBAO, 'SEN-2', 'mz-op-1', 'RS-SOCIAL-INSURANCE', heads[15]!, { monthlyBase: '1' }));
    served(await read(t, zw, CSYJS, 'FACE-1', 'zw-op-1', t.data.births[0]!.mother, 'facePhoto { takenAt }'));
    // Two unrelated purposes served; the third refused.
    served(await read(t, zw, CSYJS, 'PUR-1', 'zw-op-2', heads[16]!, 'hukou { gender }'));
    served(await read(t, mz, DIBAO, 'PUR-2', 'mz-op-2', heads[16]!, 'hukou { gender }'));
    refused(await read(t, zw, MZB, 'PUR-3', 'zw-op-2', heads[16]!, 'vehicles { vehicleCount }'), 'OUTSIDE_PURPOSE');
    await t.hub.runtime.audit.flush();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('flags nothing', async () => {
    expect(flagsOf(await t.query(t.people['auditor']!, ANOMALIES, { from: today, to: today }))).toEqual([]);
  });

  it('is for auditors and the admin only: FORBIDDEN to systems, officers and the portal', async () => {
    for (const token of [t.tokens.zw, t.people['officer-rs']!, t.people['portal']!]) {
      const res = await t.query(token, ANOMALIES, { from: today, to: today });
      expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    }
  });

  it.each([
    ['2026-02-30', '2026-03-01', 'from', 'from must be a date YYYY-MM-DD.'],
    ['2026-03-01', '1 March', 'to', 'to must be a date YYYY-MM-DD.'],
    ['2026-03-02', '2026-03-01', 'to', 'to is before from.'],
    ['2026-01-01', '2027-01-02', 'to', 'The range may cover at most 366 days.'],
  ])('refuses from %s to %s: BAD_USER_INPUT on %s', async (from, to, argument, message) => {
    const res = await t.query(t.people['auditor']!, ANOMALIES, { from, to });
    expect(res.body.errors?.map((e) => [e.extensions?.['code'], e.extensions?.['argument'], e.message])).toEqual([['BAD_USER_INPUT', argument, message]]);
  });
});
