/**
 * When department systems misbehave: a real hub whose 民政 marriage resource (MZ-MARRIAGE) and
 * 公安 vehicles resource (GA-VEHICLE) are served by a misbehaving department service on loopback
 * (tests/support/misbehaving-department.ts), everything else by the demo's departments.
 *
 * The hub never waits past its deadline, never crashes, never serves a record under another
 * subject's key, serves the rest of a response when one field fails, gives each failure its code,
 * and writes the audit record of every read, failed or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess, subjectHash, type AccessRecord } from '../../audit/index.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { errorsAt, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';
import { startMisbehavingDepartment, type MisbehavingDepartment } from '../support/misbehaving-department.ts';

const DIBAO = '440000-DIBAO-001';
const DEADLINE_MS = 3000;
const TIMEOUT_MS = 2000;
/** Audit write, serialization and a loaded machine; still far below the slow department's 30 s. */
const MARGIN_MS = 2000;
const MARRIAGE = { maritalStatus: '已婚', registeredAt: '2016-05-20', spouseName: '李四' };

let t: TestHub;
let dept: MisbehavingDepartment;
let catalogue: CatalogueCopy;

beforeAll(async () => {
  dept = await startMisbehavingDepartment({
    marriage: { keyField: 'idNumber', record: MARRIAGE, wrongTypes: { maritalStatus: { code: 20 }, registeredAt: '20th May' } },
    vehicle: { keyField: 'ownerIdNumber', record: { vehicleCount: 1, plates: '粤A12345' } },
  });
  catalogue = await copyDemoCatalogue();
  // 民政 marriage: one retry, a breaker that never opens here; 公安 vehicles: no retry, a breaker of 2 failures / 1.5 s.
  await catalogue.edit('connectors.yaml', (text) => text.replace(
    /minzheng-rest:\n {2}kind: rest\n {2}baseUrl: [^\n]+\n {2}timeoutMs: [0-9]+\n/,
    `minzheng-rest:\n  kind: rest\n  baseUrl: \${MISBEHAVING_URL}\n  timeoutMs: ${TIMEOUT_MS}\n  retry: { retries: 1, initialDelayMs: 50, maxDelayMs: 200 }\n  breaker: { failures: 1000 }\n`,
  ) + `misbehaving-vehicles:\n  kind: rest\n  baseUrl: \${MISBEHAVING_URL}\n  timeoutMs: ${TIMEOUT_MS}\n  retry: { retries: 0 }\n  breaker: { failures: 2, cooldownMs: 1500 }\n`);
  await catalogue.edit('resources/ga-vehicle.yaml', (text) => text.replace('connector: gongan-rest', 'connector: misbehaving-vehicles'));
  t = await startTestHub({
    catalogueDir: catalogue.dir,
    env: { MISBEHAVING_URL: dept.url },
    config: { limits: { upstreamDeadlineMs: DEADLINE_MS } },
  });
});

afterAll(async () => {
  await t?.close();
  await dept?.close();
  await catalogue?.remove();
});

const applicant = (i: number): string => t.data.dibaoApplicants[i]!;

async function ask(ids: readonly string[], fields = 'hukou { gender } marriage { maritalStatus registeredAt spouseName }') {
  const started = Date.now();
  const res = await t.query(t.tokens.mz, `query ($ids: [String!]!) { access(purpose: "${DIBAO}", caseId: "DB-ROBUST-1", operator: "mz-op") {
    persons(idNumbers: $ids) { idNumber ${fields} } } }`, { ids });
  return { res, elapsed: Date.now() - started };
}

type Person = Record<string, Record<string, unknown> | string | null>;
const persons = (res: GraphQLResponse): Person[] => (res.body.data!['access'] as { persons: Person[] }).persons;

async function auditOf(res: GraphQLResponse, resource?: string): Promise<AccessRecord[]> {
  await t.hub.runtime.audit.flush();
  const records = await searchAccess(t.hubDb.db, { requestId: res.headers.get('x-request-id')!, limit: 1000 });
  return resource ? records.filter((r) => r.resource === resource) : records;
}

const hash = (id: string): string => subjectHash(t.subjectKey, id);

/** Waits for the hub's connection of a department call to be closed early; -1 when it is not within `ms`. */
const closedWithin = (closed: Promise<number>, ms: number) => Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), ms))]);

describe('a well-behaved department (the baseline)', () => {
  it('is served, masked as granted, and audited as allowed', async () => {
    dept.behave('marriage', { kind: 'ok' });
    const { res } = await ask([applicant(0)]);
    expect(res.body.errors).toBeUndefined();
    expect(persons(res)[0]!['marriage']).toEqual({ maritalStatus: '已婚', registeredAt: '2016-05-20', spouseName: '李*' });
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({ decision: 'allow', code: null, itemsReturned: ['maritalStatus', 'registeredAt'], itemsMasked: ['spouseName'] })]);
  });
});

describe('failures give a null field with its code; the rest of the response is served', () => {
  it('a slow department: UPSTREAM_TIMEOUT at the request deadline, never later; its calls are cancelled', async () => {
    dept.behave('marriage', { kind: 'slow', ms: 30_000 });
    const before = dept.calls('marriage').length;
    const { res, elapsed } = await ask([applicant(1)]);
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
    expect(elapsed).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    const [person] = persons(res);
    expect(person!['marriage']).toBeNull();
    expect(person!['hukou']).toEqual({ gender: expect.any(String) as unknown });
    expect(errorsAt(res.body, 'access', 'persons', 0, 'marriage').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_TIMEOUT']);
    // The first attempt timed out at timeoutMs, the retry was cut by the deadline: both closed by the hub.
    const calls = dept.calls('marriage').slice(before);
    expect(calls).toHaveLength(2);
    expect(await Promise.all(calls.map((c) => closedWithin(c.closedEarly, 1000).then((at) => at > 0)))).toEqual([true, true]);
    const records = await auditOf(res);
    expect(records.find((r) => r.resource === 'MZ-MARRIAGE')).toMatchObject({
      decision: 'deny', code: 'UPSTREAM_TIMEOUT', reason: 'department system did not answer in time',
      itemsReturned: [], itemsRefused: ['maritalStatus', 'registeredAt', 'spouseName'], subject: hash(applicant(1)),
    });
    expect(records.find((r) => r.resource === 'GA-HUKOU')).toMatchObject({ decision: 'allow', itemsReturned: ['gender'] });
  });

  it('HTTP 500: UPSTREAM_UNAVAILABLE after one retry', async () => {
    dept.behave('marriage', { kind: 'status', status: 500 });
    const before = dept.calls('marriage').length;
    const { res, elapsed } = await ask([applicant(2)]);
    expect(elapsed).toBeLessThan(DEADLINE_MS);
    expect(persons(res)[0]!['hukou']).not.toBeNull();
    expect(errorsAt(res.body, 'access', 'persons', 0, 'marriage').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(dept.calls('marriage').length - before).toBe(2);
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({ decision: 'deny', code: 'UPSTREAM_UNAVAILABLE', reason: 'department system unavailable' })]);
  });

  it('malformed JSON: UPSTREAM_UNAVAILABLE, nothing of the body served', async () => {
    dept.behave('marriage', { kind: 'malformed-json' });
    const { res } = await ask([applicant(3)]);
    expect(persons(res)[0]!['marriage']).toBeNull();
    expect(errorsAt(res.body, 'access', 'persons', 0, 'marriage').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({ decision: 'deny', code: 'UPSTREAM_UNAVAILABLE', itemsReturned: [] })]);
  });

  it('a body that stalls half-way: UPSTREAM_TIMEOUT within the deadline, the connection closed, the next request served', async () => {
    dept.behave('marriage', { kind: 'stall-body' });
    const before = dept.calls('marriage').length;
    const { res, elapsed } = await ask([applicant(4)]);
    expect(elapsed).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    expect(errorsAt(res.body, 'access', 'persons', 0, 'marriage').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_TIMEOUT']);
    expect(await closedWithin(dept.calls('marriage')[before]!.closedEarly, 1000)).toBeGreaterThan(0);
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({ decision: 'deny', code: 'UPSTREAM_TIMEOUT' })]);
    dept.behave('marriage', { kind: 'ok' });
    const next = await ask([applicant(4)]);
    expect(next.res.body.errors).toBeUndefined();
    expect(persons(next.res)[0]!['marriage']).toMatchObject({ maritalStatus: '已婚' });
  });
});

describe('answers that do not fit are not served', () => {
  it('values of the wrong type for one subject of a batch: that subject\'s items refused, the subjects after it served in full', async () => {
    const [bad, good, also] = [applicant(12), applicant(13), applicant(14)];
    dept.behave('marriage', { kind: 'wrong-types', keys: [bad] });
    const { res } = await ask([bad, good, also]);
    const served = { maritalStatus: '已婚', registeredAt: '2016-05-20', spouseName: '李*' };
    expect(persons(res).map((p) => p['marriage'])).toEqual([{ maritalStatus: null, registeredAt: null, spouseName: '李*' }, served, served]);
    expect([0, 1, 2].map((i) => errorsAt(res.body, 'access', 'persons', i, 'marriage').map((e) => `${String(e.extensions?.['item'])} ${String(e.extensions?.['code'])}`).sort())).toEqual([
      ['maritalStatus UPSTREAM_INVALID', 'registeredAt UPSTREAM_INVALID'], [], [],
    ]);
    const records = await auditOf(res, 'MZ-MARRIAGE');
    expect([bad, good, also].map((id) => records.filter((r) => r.subject === hash(id)).map((r) => [r.decision, r.code, r.itemsRefused]))).toEqual([
      [['partial', 'UPSTREAM_INVALID', ['maritalStatus', 'registeredAt']]], [['allow', null, []]], [['allow', null, []]],
    ]);
  });

  it('values of the wrong type: UPSTREAM_INVALID per item, the valid item served', async () => {
    dept.behave('marriage', { kind: 'wrong-types' });
    const { res } = await ask([applicant(5)]);
    expect(persons(res)[0]!['marriage']).toEqual({ maritalStatus: null, registeredAt: null, spouseName: '李*' });
    const errors = errorsAt(res.body, 'access', 'persons', 0, 'marriage');
    expect(errors.map((e) => [e.extensions?.['item'], e.extensions?.['code']]).sort()).toEqual([
      ['maritalStatus', 'UPSTREAM_INVALID'], ['registeredAt', 'UPSTREAM_INVALID'],
    ]);
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({
      decision: 'partial', code: 'UPSTREAM_INVALID', itemsMasked: ['spouseName'], itemsRefused: ['maritalStatus', 'registeredAt'],
    })]);
  });

  it('records for keys that were not asked are dropped: nothing of another subject is served or audited', async () => {
    const other = applicant(7);
    dept.behave('marriage', { kind: 'unasked-keys', keys: [other], marker: 'OTHER-SUBJECT' });
    const { res } = await ask([applicant(6)]);
    expect(res.body.errors).toBeUndefined();
    expect(persons(res)[0]!['marriage']).toEqual({ maritalStatus: '已婚', registeredAt: '2016-05-20', spouseName: '李*' });
    expect(JSON.stringify(res.body)).not.toContain('OTHER');
    const records = await auditOf(res);
    expect(records.some((r) => r.subject === hash(other))).toBe(false);
    expect(records.find((r) => r.resource === 'MZ-MARRIAGE')).toMatchObject({ decision: 'allow', subject: hash(applicant(6)) });
  });

  it('a record under another subject\'s key is never served for the asked one: no record', async () => {
    dept.behave('marriage', { kind: 'only-other-keys', keys: [applicant(9)], marker: 'OTHER-SUBJECT' });
    const { res } = await ask([applicant(8)]);
    expect(res.body.errors).toBeUndefined();
    expect(persons(res)[0]!['marriage']).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain('OTHER');
    expect(await auditOf(res, 'MZ-MARRIAGE')).toEqual([expect.objectContaining({ decision: 'allow', reason: 'no record for this subject', itemsReturned: [] })]);
  });

  it('a key answered twice with different records: UPSTREAM_INVALID for that subject, the other served, no retry', async () => {
    const [twice, fine] = [applicant(10), applicant(11)];
    dept.behave('marriage', { kind: 'key-twice', marker: '离婚' });
    const before = dept.calls('marriage').length;
    const { res } = await ask([twice, fine]);
    expect(dept.calls('marriage').length - before).toBe(1);
    expect(dept.calls('marriage')[before]!.keys[0]).toBe(twice);
    const [first, second] = persons(res);
    expect(first!['marriage']).toBeNull();
    expect(errorsAt(res.body, 'access', 'persons', 0, 'marriage').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_INVALID']);
    expect(second!['marriage']).toEqual({ maritalStatus: '已婚', registeredAt: '2016-05-20', spouseName: '李*' });
    expect(JSON.stringify(res.body)).not.toContain('离婚');
    const records = await auditOf(res, 'MZ-MARRIAGE');
    expect(records.find((r) => r.subject === hash(twice))).toMatchObject({
      decision: 'deny', code: 'UPSTREAM_INVALID', reason: 'department system answered two different records for this subject', itemsReturned: [],
    });
    expect(records.find((r) => r.subject === hash(fine))).toMatchObject({ decision: 'allow', code: null });
  });
});

describe('cancellation', () => {
  it('a client that disconnects cancels the department call at once, and the read is audited as CANCELLED', async () => {
    dept.behave('marriage', { kind: 'slow', ms: 30_000 });
    const requestId = `cancel-${Date.now()}`;
    const controller = new AbortController();
    const before = dept.calls('marriage').length;
    const response = fetch(t.url, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.mz}`, 'x-request-id': requestId },
      body: JSON.stringify({ query: `{ access(purpose: "${DIBAO}", caseId: "DB-CANCEL", operator: "mz-op") { person(idNumber: "${applicant(12)}") { marriage { maritalStatus } } } }` }),
    }).catch((error: unknown) => error);
    const call = await dept.nextCall('marriage', before);
    const abortedAt = Date.now();
    controller.abort();
    await response;
    // Without cancellation the hub would close it only at its timeoutMs (2 s after the call), or the department answer after 30 s.
    const closedAt = await closedWithin(call.closedEarly, 5000);
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - abortedAt).toBeLessThan(1000);
    expect(dept.calls('marriage').length - before).toBe(1);
    let records: AccessRecord[] = [];
    for (let i = 0; i < 50 && records.length === 0; i++) {
      await t.hub.runtime.audit.flush();
      records = await searchAccess(t.hubDb.db, { requestId, resource: 'MZ-MARRIAGE', limit: 10 });
      if (records.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(records).toEqual([expect.objectContaining({ decision: 'deny', code: 'CANCELLED', itemsReturned: [] })]);
  });
});

describe('circuit breaker', () => {
  const vehicles = (i: number) => ask([applicant(i)], 'vehicles { vehicleCount }');
  const code = (res: GraphQLResponse) => errorsAt(res.body, 'access', 'persons', 0, 'vehicles').map((e) => e.extensions?.['code']);
  const ready = async () => ((await (await fetch(new URL('/ready', t.url))).json()) as { connectors: Record<string, boolean> }).connectors['misbehaving-vehicles'];

  it('opens after 2 consecutive failures, fails fast without asking the department, then a probe closes it', async () => {
    dept.behave('vehicle', { kind: 'status', status: 503 });
    const first = await vehicles(13);
    const second = await vehicles(14);
    expect([code(first.res), code(second.res)]).toEqual([['UPSTREAM_UNAVAILABLE'], ['UPSTREAM_UNAVAILABLE']]);
    expect(dept.calls('vehicle')).toHaveLength(2);

    const open = await vehicles(15);
    expect(code(open.res)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(dept.calls('vehicle')).toHaveLength(2);
    expect(await auditOf(open.res, 'GA-VEHICLE')).toEqual([expect.objectContaining({
      decision: 'deny', code: 'UPSTREAM_UNAVAILABLE', reason: 'department system unavailable (circuit open: not asked)',
    })]);
    expect(await ready()).toBe(false);

    dept.behave('vehicle', { kind: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const probe = await vehicles(16);
    expect(probe.res.body.errors).toBeUndefined();
    expect(persons(probe.res)[0]!['vehicles']).toEqual({ vehicleCount: 1 });
    expect(dept.calls('vehicle')).toHaveLength(3);
    expect(await ready()).toBe(true);
  });
});

describe('after all of this', () => {
  it('the hub still serves every resource of a request', async () => {
    dept.behave('marriage', { kind: 'ok' });
    dept.behave('vehicle', { kind: 'ok' });
    const { res } = await ask([applicant(17)], 'hukou { gender } marriage { maritalStatus } vehicles { vehicleCount } socialInsurance { status }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(persons(res)[0]).toMatchObject({ marriage: { maritalStatus: '已婚' }, vehicles: { vehicleCount: 1 }, hukou: { gender: expect.any(String) as unknown } });
  });
});
