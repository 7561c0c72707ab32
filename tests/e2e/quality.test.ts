/**
 * Data quality (数据质量) and corrections (数据纠错), end to end over HTTP against a real MongoDB-wire
 * server: two hub instances on one database; 公安's vehicles resource (GA-VEHICLE) served by a
 * department that answers invalid values on demand (tests/support/misbehaving-department.ts),
 * everything else by the demo's departments.
 *
 * - the quality report counts what the departments returned (valid vs UPSTREAM_INVALID per item,
 *   conflicting records, failed reads), summed over both instances, and judges freshness where the
 *   source can tell (the file connector: its file's modification time);
 * - correction requests: filed by a system for a value it was served (the trail must show it), by
 *   the consumer department's officer, by the provider's officer for its own data; answered by the
 *   provider's officer only, corrected or rejected with a reason; admin records; overdue;
 * - the disputed flag in `extensions.quality`, for that subject and item only, on both instances
 *   within 2 s, gone once answered.
 */
import { stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRecordsFor, subjectHash } from '../../audit/index.ts';
import type { RunningHub } from '../../gateway/hub.ts';
import { addWorkingDays } from '../../policies/index.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { errorsAt, postGraphQL, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';
import { startMisbehavingDepartment, type MisbehavingDepartment } from '../support/misbehaving-department.ts';

const DIBAO = '440000-DIBAO-001';
const CSYJS = '440000-CSYJS-001';
const BOUND_MS = 2000;

let t: TestHub;
let b: RunningHub;
let dept: MisbehavingDepartment;
let catalogue: CatalogueCopy;

beforeAll(async () => {
  dept = await startMisbehavingDepartment({
    vehicle: { keyField: 'ownerIdNumber', record: { vehicleCount: 1, plates: '粤A12345' }, wrongTypes: { vehicleCount: 'two' } },
  });
  catalogue = await copyDemoCatalogue();
  await catalogue.edit('connectors.yaml', (text) => `${text}misbehaving-vehicles:\n  kind: rest\n  baseUrl: \${MISBEHAVING_URL}\n  timeoutMs: 2000\n  retry: { retries: 0 }\n  breaker: { failures: 1000 }\n`);
  await catalogue.edit('resources/ga-vehicle.yaml', (text) => text.replace('connector: gongan-rest', 'connector: misbehaving-vehicles'));
  t = await startTestHub({ catalogueDir: catalogue.dir, env: { MISBEHAVING_URL: dept.url }, config: { quality: { flushSeconds: 0.3 } } });
  b = await t.startInstance();
});

afterAll(async () => {
  await t?.close();
  await dept?.close();
  await catalogue?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (res: GraphQLResponse) => res.body.errors?.[0]?.extensions?.['code'];
function data<T>(res: GraphQLResponse, field: string): T {
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data![field] as T;
}
const adults = () => t.data.persons.filter((p) => p.role === 'head' || p.role === 'spouse').map((p) => p.idNumber);
const disputedOf = (res: GraphQLResponse) => (res.body as { extensions?: { quality?: { disputed: unknown[] } } }).extensions?.quality?.disputed;

/** 低保 reads by 民政's system (mz-dibao) of several persons, on instance A unless `url` says otherwise. */
const readPersons = (ids: readonly string[], fields: string, url = t.url, token = t.tokens.mz) =>
  postGraphQL(url, token, `query ($ids: [String!]!) { access(purpose: "${DIBAO}", caseId: "DB-QUALITY-1", operator: "mz-op-7") {
    persons(idNumbers: $ids) { idNumber ${fields} } } }`, { ids });

const REPORT = `query ($r: String!, $from: String, $to: String) { qualityReport(resource: $r, from: $from, to: $to) {
  resource provider from to records invalidRecords conflictingRecords failedReads items validItems invalidItems validityRate
  invalidByItem { item invalid } days { day records items invalidItems validityRate }
  freshness { status updateFrequency lastChanged basis maxAgeSeconds ageSeconds detail } openCorrections overdueCorrections } }`;
const report = (token: string, resource: string, extra: Record<string, unknown> = {}) => t.query(token, REPORT, { r: resource, ...extra });

const REQUEST = `mutation ($i: CorrectionInput!) { requestCorrection(input: $i) {
  id version status overdue resource provider consumer requester requesterRole subjectType item note operator caseId servedRecord deadline answer history { action actor version } } }`;
const ANSWER = `mutation ($id: ID!, $o: CorrectionOutcome!, $note: String) { answerCorrection(id: $id, outcome: $o, note: $note) {
  id version status answer answeredBy answeredAt overdue history { action actor role reason version } } }`;
const LIST = `query ($status: CorrectionStatus, $overdue: Boolean, $key: String) { correctionRequests(status: $status, overdue: $overdue, key: $key, first: 100) {
  nodes { id status overdue deadline consumer requester item } totalCount } }`;

interface Correction { id: string; status: string; overdue: boolean; deadline: string; servedRecord: string | null; requester: string; item: string }
const list = async (token: string, vars: Record<string, unknown> = {}) => data<{ nodes: Correction[]; totalCount: number }>(await t.query(token, LIST, vars), 'correctionRequests');

describe('the quality report', () => {
  interface Report {
    records: number; invalidRecords: number; conflictingRecords: number; failedReads: number; items: number; validItems: number; invalidItems: number;
    validityRate: number | null; invalidByItem: Array<{ item: string; invalid: number }>; days: Array<{ day: string; records: number }>;
    freshness: { status: string; updateFrequency: string | null; lastChanged: string | null; basis: string | null; maxAgeSeconds: number | null; ageSeconds: number | null; detail: string };
    from: string; to: string; openCorrections: number; overdueCorrections: number;
  }

  it('counts served and withheld values per item, conflicting records and failed reads, summed over both instances', async () => {
    const vehicles = 'vehicles { vehicleCount plates }';
    const people = t.data.dibaoApplicants;
    dept.behave('vehicle', { kind: 'ok' });
    expect((await readPersons(people.slice(0, 3), vehicles)).body.errors).toBeUndefined();
    dept.behave('vehicle', { kind: 'wrong-types' });
    const invalid = await readPersons(people.slice(3, 5), vehicles);
    expect(errorsAt(invalid.body, 'access', 'persons', 0, 'vehicles', 'vehicleCount')[0]?.extensions?.['code']).toBe('UPSTREAM_INVALID');
    dept.behave('vehicle', { kind: 'key-twice', marker: 'X' });
    const twice = await readPersons(people.slice(5, 7), vehicles);
    expect(errorsAt(twice.body, 'access', 'persons', 0, 'vehicles')[0]?.extensions?.['code']).toBe('UPSTREAM_INVALID');
    dept.behave('vehicle', { kind: 'status', status: 500 });
    expect(errorsAt((await readPersons(people.slice(7, 8), vehicles)).body, 'access', 'persons', 0, 'vehicles')[0]?.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    // One read on instance B: counted in B's memory, written by B within quality.flushSeconds.
    dept.behave('vehicle', { kind: 'ok' });
    expect((await readPersons(people.slice(8, 9), vehicles, b.url)).body.errors).toBeUndefined();

    const expected = {
      records: 7, invalidRecords: 2, conflictingRecords: 1, failedReads: 1, items: 14, validItems: 12, invalidItems: 2,
      invalidByItem: [{ item: 'vehicleCount', invalid: 2 }, { item: 'plates', invalid: 0 }],
    };
    let got: Report | undefined;
    for (let i = 0; i < 50; i++) {
      got = data<Report>(await report(t.people['officer-ga']!, 'GA-VEHICLE'), 'qualityReport');
      if (got.records === expected.records) break;
      await sleep(100);
    }
    expect(got).toMatchObject({ ...expected, to: t.hub.runtime.today(), days: [{ day: t.hub.runtime.today(), records: 7 }] });
    expect(got!.validityRate).toBeCloseTo(12 / 14, 10);
    // A period without reads: nothing checked, no rate.
    const yesterday = new Date(Date.parse(`${t.hub.runtime.today()}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const before = data<Report>(await report(t.people['officer-ga']!, 'GA-VEHICLE', { from: '2026-01-01', to: yesterday }), 'qualityReport');
    expect(before).toMatchObject({ from: '2026-01-01', to: yesterday, records: 0, items: 0, validityRate: null, days: [] });
  });

  it('is for the provider\'s officers, the platform operator and auditors; bad input is named', async () => {
    for (const who of ['admin', 'auditor']) expect(data<Report>(await report(t.people[who]!, 'GA-VEHICLE'), 'qualityReport').records).toBeGreaterThan(0);
    for (const token of [t.people['officer-rs']!, t.people['officer-mz']!, t.people['portal']!, t.tokens.mz, t.tokens.ga]) {
      expect(code(await report(token, 'GA-VEHICLE'))).toBe('FORBIDDEN');
    }
    expect(code(await report(t.people['officer-ga']!, 'GA-NOTHING'))).toBe('NOT_FOUND');
    for (const bad of [{ from: '2026-13-01' }, { to: 'today' }, { from: '2026-11-20', to: '2026-11-10' }, { from: '2024-01-01', to: '2026-01-01' }]) {
      const res = await report(t.people['officer-ga']!, 'GA-VEHICLE', bad);
      expect(code(res)).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.message).toMatch(/from|to/);
    }
  });

  it('judges a file-backed resource\'s freshness by its file\'s modification time against the declared frequency', async () => {
    const file = join(t.env['DEMO_FILES_DIR']!, 'real_estate.csv');
    const { mtime } = await stat(file);
    const fresh = data<Report>(await report(t.people['officer-zr']!, 'ZR-REAL-ESTATE'), 'qualityReport').freshness;
    expect(fresh).toMatchObject({ status: 'fresh', updateFrequency: 'daily', lastChanged: mtime.toISOString(), maxAgeSeconds: 36 * 3600 });
    expect(fresh.basis).toContain('real_estate.csv');
    expect(fresh.ageSeconds).toBeLessThan(3600);

    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    await utimes(file, threeDaysAgo, threeDaysAgo);
    try {
      const stale = data<Report>(await report(t.people['officer-zr']!, 'ZR-REAL-ESTATE'), 'qualityReport').freshness;
      expect(stale.status).toBe('stale');
      expect(Math.abs(Date.parse(stale.lastChanged!) - threeDaysAgo.getTime())).toBeLessThan(1000);
      expect(stale.ageSeconds).toBeGreaterThanOrEqual(3 * 86_400 - 5);
      expect(stale.detail).toMatch(/more than/);
    } finally {
      await utimes(file, mtime, mtime);
    }
  });

  it('says unknown where the source cannot tell (REST, MongoDB), and undeclared without a frequency', async () => {
    const rest = data<Report>(await report(t.people['officer-ga']!, 'GA-HUKOU'), 'qualityReport').freshness;
    expect(rest).toMatchObject({ status: 'unknown', updateFrequency: 'realtime', lastChanged: null, basis: null });
    const mongo = data<Report>(await report(t.people['officer-rs']!, 'RS-SOCIAL-INSURANCE'), 'qualityReport').freshness;
    expect(mongo).toMatchObject({ status: 'unknown', updateFrequency: 'daily', lastChanged: null });
    const none = data<Report>(await report(t.people['officer-ga']!, 'GA-CRIMINAL'), 'qualityReport').freshness;
    expect(none).toMatchObject({ status: 'undeclared', updateFrequency: null, maxAgeSeconds: null });
  });
});

describe('correction requests and the disputed flag', () => {
  const STATUS = 'socialInsurance { status insuredSince }';
  let x: string;
  let bySystem: Correction;
  let byOfficer: Correction;
  let knownError: Correction;
  beforeAll(() => {
    x = adults()[0]!;
  });

  const input = (extra: Record<string, unknown>) => ({ resource: 'RS-SOCIAL-INSURANCE', key: x, item: 'status', note: '参保状态应为暂停缴费（本人提供缴费凭证）', operator: 'mz-op-7', caseId: 'DB-QUALITY-1', ...extra });

  it('a system disputes a value it was served, naming the response; the trail must show it served that item of that subject', async () => {
    const served = await readPersons([x], STATUS);
    expect(served.body.errors).toBeUndefined();
    expect(disputedOf(served)).toBeUndefined();
    const requestId = served.headers.get('x-request-id')!;

    const notServed = await t.query(t.tokens.mz, REQUEST, { i: input({ item: 'monthlyBase', requestId }) });
    expect(notServed.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_SERVED' });
    expect(code(await t.query(t.tokens.mz, REQUEST, { i: input({ key: adults()[5] }) }))).toBe('FORBIDDEN');
    expect(code(await t.query(t.tokens.zw, REQUEST, { i: input({}) }))).toBe('FORBIDDEN');

    const today = t.hub.runtime.today();
    bySystem = data<Correction>(await t.query(t.tokens.mz, REQUEST, { i: input({ requestId }) }), 'requestCorrection');
    expect(bySystem).toMatchObject({
      status: 'open', overdue: false, version: 1, resource: 'RS-SOCIAL-INSURANCE', provider: 'RS', consumer: 'MZ', requester: 'mz-dibao', requesterRole: 'system',
      subjectType: 'person', item: 'status', operator: 'mz-op-7', caseId: 'DB-QUALITY-1', answer: null,
      deadline: addWorkingDays(t.hub.runtime.calendar, today, 5), history: [{ action: 'request', actor: 'mz-dibao', version: 1 }],
    });
    expect(bySystem.id).toMatch(/^JC-\d{8}-[0-9A-F]{8}$/);
    expect(bySystem.servedRecord).toMatch(/#\d+$/);

    // One open request per value.
    const again = await t.query(t.tokens.mz, REQUEST, { i: input({}) });
    expect(again.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', correction: bySystem.id });
  });

  it('refuses bad input with BAD_USER_INPUT and other roles with FORBIDDEN', async () => {
    for (const extra of [{ operator: null }, { note: '  ' }, { key: '440101199001011234' }, { resource: 'RS-NOTHING' }, { item: 'salary' }, { requestId: 'no spaces allowed' }, { operator: 'a b' }]) {
      const res = await t.query(t.tokens.mz, REQUEST, { i: input({ item: 'insuredSince', ...extra }) });
      expect(code(res), JSON.stringify(extra)).toBe('BAD_USER_INPUT');
    }
    for (const who of ['admin', 'auditor', 'portal']) expect(code(await t.query(t.people[who]!, REQUEST, { i: input({ item: 'insuredSince' }) }))).toBe('FORBIDDEN');
  });

  it('flags the disputed value in extensions.quality for that subject and item only', async () => {
    const other = adults()[1]!;
    const res = await readPersons([other, x], 'socialInsurance { status since: insuredSince again: status }');
    expect(res.body.errors).toBeUndefined();
    expect(disputedOf(res)).toEqual([
      { path: ['access', 'persons', 1, 'socialInsurance', 'status'], resource: 'RS-SOCIAL-INSURANCE', item: 'status', correction: bySystem.id },
      { path: ['access', 'persons', 1, 'socialInsurance', 'again'], resource: 'RS-SOCIAL-INSURANCE', item: 'status', correction: bySystem.id },
    ]);
    // The data itself is served as before.
    expect((res.body.data!['access'] as { persons: Array<{ socialInsurance: { status: string } }> }).persons[1]!.socialInsurance.status).toMatch(/参保|缴费/);
    expect(disputedOf(await readPersons([x], 'socialInsurance { insuredSince }'))).toBeUndefined();
    expect(disputedOf(await readPersons([other], 'socialInsurance { status }'))).toBeUndefined();
  });

  it('the consumer department\'s officer disputes a value served to its system; the provider\'s officer flags a known error without proof', async () => {
    byOfficer = data<Correction>(await t.query(t.people['officer-mz']!, REQUEST, { i: input({ item: 'insuredSince', operator: null, caseId: null, note: '参保日期与档案不符' }) }), 'requestCorrection');
    expect(byOfficer).toMatchObject({ status: 'open', requester: 'mz-officer-zhao', requesterRole: 'officer', consumer: 'MZ', provider: 'RS', item: 'insuredSince' });
    expect(byOfficer.servedRecord).toMatch(/#\d+$/);
    // 政数 was never served this subject's social insurance.
    expect(code(await t.query(t.people['officer-zw']!, REQUEST, { i: input({ item: 'monthlyBase' }) }))).toBe('FORBIDDEN');
    knownError = data<Correction>(await t.query(t.people['officer-rs']!, REQUEST, { i: input({ key: adults()[2], item: 'monthlyBase', note: '2026年9月批量导入的缴费基数有误，正在重算' }) }), 'requestCorrection');
    expect(knownError).toMatchObject({ status: 'open', consumer: 'RS', provider: 'RS', requesterRole: 'officer', servedRecord: null });
  });

  it('lists requests to the provider\'s officers and to each requester only', async () => {
    const mine = [bySystem.id, byOfficer.id, knownError.id];
    expect((await list(t.people['officer-rs']!, { status: 'open' })).nodes.map((n) => n.id)).toEqual(expect.arrayContaining(mine));
    expect((await list(t.people['officer-mz']!)).nodes.map((n) => n.id).sort()).toEqual([bySystem.id, byOfficer.id].sort());
    expect((await list(t.tokens.mz)).nodes.map((n) => n.id)).toEqual([bySystem.id]);
    expect((await list(t.tokens.zw)).totalCount).toBe(0);
    expect((await list(t.people['officer-ga']!)).totalCount).toBe(0);
    expect((await list(t.people['officer-rs']!, { key: x })).nodes.map((n) => n.id).sort()).toEqual([bySystem.id, byOfficer.id].sort());
    expect(code(await t.query(t.people['officer-rs']!, LIST, { key: 'not-an-id' }))).toBe('BAD_USER_INPUT');
    expect(code(await t.query(t.people['portal']!, LIST, {}))).toBe('FORBIDDEN');
    const one = 'query ($id: ID!) { correctionRequest(id: $id) { id status } }';
    expect(data(await t.query(t.people['officer-ga']!, one, { id: bySystem.id }), 'correctionRequest')).toBeNull();
    expect(data(await t.query(t.people['auditor']!, one, { id: bySystem.id }), 'correctionRequest')).toEqual({ id: bySystem.id, status: 'open' });
  });

  it('only the provider\'s officer answers: another department sees nothing, the requester may not answer', async () => {
    expect(code(await t.query(t.people['officer-ga']!, ANSWER, { id: bySystem.id, o: 'rejected', note: 'x' }))).toBe('NOT_FOUND');
    expect(code(await t.query(t.people['officer-mz']!, ANSWER, { id: bySystem.id, o: 'corrected' }))).toBe('FORBIDDEN');
    expect(code(await t.query(t.tokens.mz, ANSWER, { id: bySystem.id, o: 'corrected' }))).toBe('FORBIDDEN');
    expect(code(await t.query(t.people['admin']!, ANSWER, { id: bySystem.id, o: 'corrected' }))).toBe('FORBIDDEN');
    expect(code(await t.query(t.people['officer-rs']!, ANSWER, { id: 'JC-20260101-00000000', o: 'corrected' }))).toBe('NOT_FOUND');
    for (const note of [null, '', '   ']) expect(code(await t.query(t.people['officer-rs']!, ANSWER, { id: bySystem.id, o: 'rejected', note }))).toBe('BAD_USER_INPUT');
    const still = await t.query(t.people['officer-rs']!, 'query ($id: ID!) { correctionRequest(id: $id) { status version } }', { id: bySystem.id });
    expect(data(still, 'correctionRequest')).toEqual({ status: 'open', version: 1 });
  });

  it('shows a new request on the second instance within 2 s, and drops the flag everywhere once answered', async () => {
    const y = adults()[3]!;
    expect((await readPersons([y], STATUS, b.url)).body.errors).toBeUndefined();
    const filed = data<Correction>(await t.query(t.tokens.mz, REQUEST, { i: input({ key: y }) }), 'requestCorrection');
    const started = performance.now();
    let seen = -1;
    while (performance.now() - started < 10_000) {
      if (disputedOf(await readPersons([y], 'socialInsurance { status }', b.url))) {
        seen = performance.now() - started;
        break;
      }
      await sleep(50);
    }
    expect(seen).toBeGreaterThanOrEqual(0);
    expect(seen).toBeLessThan(BOUND_MS);

    const answered = data<{ status: string; answer: string; answeredBy: string; version: number; history: Array<{ action: string; reason: string | null; version: number }> }>(
      await t.query(t.people['officer-rs']!, ANSWER, { id: filed.id, o: 'corrected', note: '已按缴费凭证更正为暂停缴费' }), 'answerCorrection');
    expect(answered).toMatchObject({ status: 'corrected', answer: '已按缴费凭证更正为暂停缴费', answeredBy: 'rs-officer-wang', version: 2 });
    expect(answered.history.map((h) => `${h.action}@${h.version}`)).toEqual(['request@1', 'corrected@2']);
    // At once on the instance that answered, within the bound on the other.
    expect(disputedOf(await readPersons([y], 'socialInsurance { status }'))).toBeUndefined();
    const gone = performance.now();
    while (disputedOf(await readPersons([y], 'socialInsurance { status }', b.url)) && performance.now() - gone < 10_000) await sleep(50);
    expect(performance.now() - gone).toBeLessThan(BOUND_MS);
  });

  it('a rejection states its reason; an answer is final; two answers at once: one wins; every step is an admin record', async () => {
    const rejected = data<{ status: string; answer: string; history: Array<{ action: string; reason: string }> }>(
      await t.query(t.people['officer-rs']!, ANSWER, { id: bySystem.id, o: 'rejected', note: '经核实，参保状态与业务系统一致' }), 'answerCorrection');
    expect(rejected).toMatchObject({ status: 'rejected', answer: '经核实，参保状态与业务系统一致' });
    expect(rejected.history.at(-1)).toMatchObject({ action: 'rejected', reason: '经核实，参保状态与业务系统一致' });
    expect(code(await t.query(t.people['officer-rs']!, ANSWER, { id: bySystem.id, o: 'corrected' }))).toBe('CONFLICT');
    expect(disputedOf(await readPersons([x], STATUS))).toEqual([
      { path: ['access', 'persons', 0, 'socialInsurance', 'insuredSince'], resource: 'RS-SOCIAL-INSURANCE', item: 'insuredSince', correction: byOfficer.id },
    ]);

    const race = await Promise.all([
      t.query(t.people['officer-rs']!, ANSWER, { id: byOfficer.id, o: 'corrected', note: 'A' }),
      postGraphQL(b.url, t.people['officer-rs']!, ANSWER, { id: byOfficer.id, o: 'rejected', note: 'B' }),
    ]);
    expect(race.map((r) => (r.body.errors ? code(r) : 'ok')).sort()).toEqual(['CONFLICT', 'ok']);
    // Whichever instance answered, A stops flagging within the bound.
    const answeredAt = performance.now();
    while (disputedOf(await readPersons([x], STATUS)) && performance.now() - answeredAt < 10_000) await sleep(50);
    expect(performance.now() - answeredAt).toBeLessThan(BOUND_MS);

    const changes = await adminRecordsFor(t.hubDb.db, bySystem.id);
    expect(changes.map((c) => [c.action, c.actor, c.role, c.department])).toEqual([
      ['correction.request', 'mz-dibao', 'system', 'MZ'],
      ['correction.rejected', 'rs-officer-wang', 'officer', 'RS'],
    ]);
    expect(changes[1]).toMatchObject({ before: { status: 'open', version: 1 }, after: { status: 'rejected', version: 2 }, reason: '经核实，参保状态与业务系统一致' });
    // Never the subject, not even its hash.
    expect(JSON.stringify(changes)).not.toContain(subjectHash(t.subjectKey, x));
    expect(JSON.stringify(changes)).not.toContain(x);
    const history = 'query ($t: String!) { adminChanges(target: $t) { action actor } }';
    expect(data<unknown[]>(await t.query(t.people['officer-mz']!, history, { t: bySystem.id }), 'adminChanges')).toHaveLength(2);
    expect(code(await t.query(t.people['officer-ga']!, history, { t: bySystem.id }))).toBe('NOT_FOUND');
  });

  it('flags an open request past its deadline as overdue, in listings and in the quality report', async () => {
    const late = data<Correction>(await t.query(t.people['officer-rs']!, REQUEST, { i: input({ key: adults()[4], note: '状态待核实' }) }), 'requestCorrection');
    // Filed on Monday 2026-09-28: five working days skip 1–7 October (国庆) and count Saturday 10
    // October (调休), so the answer was due that Saturday.
    const deadline = addWorkingDays(t.hub.runtime.calendar, '2026-09-28', 5);
    expect(deadline).toBe('2026-10-10');
    await t.hubDb.db.collection('corrections').updateOne({ id: late.id }, { $set: { submittedAt: new Date('2026-09-28T02:00:00Z'), deadline } });

    const overdue = await list(t.people['officer-rs']!, { overdue: true });
    expect(overdue.nodes).toEqual([expect.objectContaining({ id: late.id, overdue: true, deadline: '2026-10-10', status: 'open' })]);
    const inTime = await list(t.people['officer-rs']!, { status: 'open', overdue: false });
    expect(inTime.nodes.map((n) => n.id)).toContain(knownError.id);
    expect(inTime.nodes.map((n) => n.id)).not.toContain(late.id);
    expect(inTime.nodes.every((n) => !n.overdue)).toBe(true);
    const rs = data<{ openCorrections: number; overdueCorrections: number }>(await report(t.people['officer-rs']!, 'RS-SOCIAL-INSURANCE'), 'qualityReport');
    expect(rs).toEqual(expect.objectContaining({ openCorrections: 2, overdueCorrections: 1 }));
    // Answered late is still answered: no longer overdue.
    const answered = data<{ overdue: boolean; status: string }>(await t.query(t.people['officer-rs']!, ANSWER, { id: late.id, o: 'corrected' }), 'answerCorrection');
    expect(answered).toMatchObject({ status: 'corrected', overdue: false });
    expect((await list(t.people['officer-rs']!, { overdue: true })).totalCount).toBe(0);
  });

  it('flags a verification (核验) that compared a disputed value', async () => {
    const { child, mother } = t.data.births[0]!;
    const flagged = data<Correction>(await t.query(t.people['officer-wj']!, REQUEST, { i: { resource: 'WJ-BIRTH-CERT', key: child, item: 'motherIdNumber', note: '母亲身份号码录入错误，待更正' } }), 'requestCorrection');
    const res = await t.query(t.tokens.zw, `query ($child: String!, $claims: Claims!) { access(purpose: "${CSYJS}", caseId: "CSYJS-Q-1", operator: "zw-op-1") {
      motherCheck: verify(resource: "WJ-BIRTH-CERT", key: $child, claims: $claims) { match } } }`, { child, claims: { motherIdNumber: mother } });
    expect(res.body.errors).toBeUndefined();
    expect(disputedOf(res)).toEqual([{ path: ['access', 'motherCheck'], resource: 'WJ-BIRTH-CERT', item: 'motherIdNumber', correction: flagged.id }]);
  });
});
