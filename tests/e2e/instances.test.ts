/**
 * Two hub instances (A = t.hub, B = a second runtime and HTTP server) on ONE MongoDB database:
 * a change made through A (grant suspended / resumed, token revoked, catalogue entry changed) is
 * enforced by B within 2 s, and the exact counters (daily quota, verification attempts) hold across
 * both. Only HTTP (GraphQL) is used to act and to observe; the audit trail is read from MongoDB.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { searchAccess } from '../../audit/index.ts';
import type { RunningHub } from '../../gateway/hub.ts';
import { DEMO_CATALOGUE, errorsAt, postGraphQL, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

let t: TestHub;
let b: RunningHub;
beforeAll(async () => {
  t = await startTestHub({ config: { sync: { pollMilliseconds: 200 } } });
  b = await t.startInstance();
});
afterAll(async () => {
  await t?.close();
});

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';
const BOUND_MS = 2000;

type Extensions = Record<string, unknown> | undefined;

/** Heads and spouses: every one has a social-insurance, vehicle and marriage record. */
const adults = () => t.data.persons.filter((p) => p.role === 'head' || p.role === 'spouse').map((p) => p.idNumber);
const today = () => t.hub.runtime.today();
const plusDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every 50 ms until it holds; returns the milliseconds from the call until the first
 * poll that saw it. Gives up (throws) after `limitMs`, well past the bound asserted by the caller,
 * so a slow propagation still shows its measured time in the failure.
 */
async function pollUntil(what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    const elapsed = performance.now() - started;
    if (elapsed > limitMs) throw new Error(`${what}: not seen on instance B within ${limitMs} ms`);
    await sleep(50);
  }
}

/** A management call that must succeed; returns its data. */
async function ok(token: string, query: string, variables: Record<string, unknown> = {}, url = t.url): Promise<Record<string, unknown>> {
  const res = await postGraphQL(url, token, query, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!;
}

/** Applies as the consumer's officer and approves as the provider's officer with `terms`; returns the grant id. */
async function grantThroughApi(consumerOfficer: string, providerOfficer: string, input: Record<string, unknown>, terms: Record<string, unknown>): Promise<string> {
  const applied = await ok(t.people[consumerOfficer]!, 'mutation ($i: ApplyInput!) { applyForAccess(input: $i) { id status } }', {
    i: { validFrom: today(), validUntil: plusDays(today(), 365), expectedDailyVolume: 100, maxBatch: 1, reason: '多实例测试', ...input },
  });
  const application = applied['applyForAccess'] as { id: string; status: string };
  expect(application.status).toBe('pending');
  const approved = await ok(t.people[providerOfficer]!, 'mutation ($id: ID!, $terms: ApprovalTerms) { approveApplication(id: $id, terms: $terms, reason: "同意") { status grant { id state quota { perDay maxBatch } } } }', {
    id: application.id, terms,
  });
  const result = approved['approveApplication'] as { status: string; grant: { id: string; state: string } };
  expect(result.status).toBe('approved');
  expect(result.grant.state).toBe('active');
  return result.grant.id;
}

// ---------------------------------------------------------------------------------------------
// Consumer reads used by the tests
// ---------------------------------------------------------------------------------------------

/** 民政's 低保 system reads one person's vehicles (GA-VEHICLE, seeded grant G-2026-0005 by GA). */
const readVehicles = (url: string, id: string) => postGraphQL(url, t.tokens.mz, `query ($id: String!) {
  access(purpose: "${DIBAO}", caseId: "DB-INST-1", operator: "mz-op-1") { person(idNumber: $id) { vehicles { vehicleCount } } }
}`, { id });
const vehiclesError = (res: GraphQLResponse): Extensions => errorsAt(res.body, 'access', 'person', 'vehicles')[0]?.extensions;
const vehiclesServed = (res: GraphQLResponse) =>
  res.body.errors === undefined
  && typeof (res.body.data as { access?: { person?: { vehicles?: { vehicleCount?: unknown } | null } } } | null)?.access?.person?.vehicles?.vehicleCount === 'number';

/** 政务服务中心's system reads one person's social insurance under 出生一件事. */
const readInsurance = (url: string, id: string, items = 'status', caseId = 'CSYJS-INST-Q') => postGraphQL(url, t.tokens.zw, `query ($id: String!) {
  access(purpose: "${CSYJS}", caseId: "${caseId}", operator: "zw-op-1") { person(idNumber: $id) { socialInsurance { ${items} } } }
}`, { id });
const insuranceError = (res: GraphQLResponse, ...item: string[]): Extensions => errorsAt(res.body, 'access', 'person', 'socialInsurance', ...item)[0]?.extensions;
const insuranceServed = (res: GraphQLResponse) =>
  res.body.errors === undefined
  && typeof (res.body.data as { access?: { person?: { socialInsurance?: { status?: unknown } | null } } } | null)?.access?.person?.socialInsurance?.status === 'string';

describe('propagation of changes made through instance A to instance B (sync.pollMilliseconds 200)', () => {
  it('a grant suspended through A is refused by B (FORBIDDEN / GRANT_SUSPENDED) within 2 s, and served again within 2 s of its resumption', async () => {
    const subject = adults()[0]!;
    const ga = t.people['officer-ga']!;
    // Before: both instances serve.
    expect(vehiclesServed(await readVehicles(t.url, subject))).toBe(true);
    expect(vehiclesServed(await readVehicles(b.url, subject))).toBe(true);

    const suspended = await ok(ga, 'mutation { suspendGrant(id: "G-2026-0005", reason: "核查数据使用情况") { status state } }');
    expect(suspended['suspendGrant']).toEqual({ status: 'suspended', state: 'suspended' });
    // A applies its own change before the mutation answers.
    expect(vehiclesError(await readVehicles(t.url, subject))).toMatchObject({ code: 'FORBIDDEN', reason: 'GRANT_SUSPENDED', grant: 'G-2026-0005' });
    const suspendMs = await pollUntil('suspension', async () => vehiclesError(await readVehicles(b.url, subject))?.['reason'] === 'GRANT_SUSPENDED');
    const onB = await readVehicles(b.url, subject);
    expect(vehiclesError(onB)).toMatchObject({ code: 'FORBIDDEN', reason: 'GRANT_SUSPENDED', grant: 'G-2026-0005' });
    expect((onB.body.data as { access: { person: { vehicles: unknown } } }).access.person.vehicles).toBeNull();

    const resumed = await ok(ga, 'mutation { resumeGrant(id: "G-2026-0005", reason: "核查完毕") { status state } }');
    expect(resumed['resumeGrant']).toEqual({ status: 'approved', state: 'active' });
    expect(vehiclesServed(await readVehicles(t.url, subject))).toBe(true);
    const resumeMs = await pollUntil('resumption', async () => vehiclesServed(await readVehicles(b.url, subject)));

    console.log(`[instances] propagation A→B: grant suspension ${suspendMs.toFixed(0)} ms, grant resumption ${resumeMs.toFixed(0)} ms`);
    expect(suspendMs).toBeLessThan(BOUND_MS);
    expect(resumeMs).toBeLessThan(BOUND_MS);
  });

  it('a token revoked through A (revokeToken by the admin) is refused by B with UNAUTHENTICATED within 2 s, though B had just served it', async () => {
    const admin = t.people['admin']!;
    const label = `instances-test-${Date.now()}`;
    const issued = await ok(admin, 'mutation ($label: String!) { createToken(role: system, system: "zw-yichuang", label: $label) { token } }', { label });
    const token = (issued['createToken'] as { token: string }).token;
    // The credential's id, as the operator finds it: the `tokens` listing.
    const listed = await ok(admin, 'query { tokens(principalId: "zw-yichuang") { id label revokedAt } }');
    const credential = (listed['tokens'] as Array<{ id: string; label: string; revokedAt: string | null }>).find((c) => c.label === label);
    expect(credential).toMatchObject({ revokedAt: null });

    // B serves the token (its cache is now warm), and so does A.
    const me = '{ me { kind id department } }';
    for (const url of [b.url, t.url]) {
      const res = await postGraphQL(url, token, me);
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ me: { kind: 'system', id: 'zw-yichuang', department: 'ZW' } });
    }

    const revoked = await ok(admin, 'mutation ($id: String!) { revokeToken(id: $id, reason: "令牌泄露") }', { id: credential!.id });
    expect(revoked['revokeToken']).toEqual([credential!.id]);
    const onA = await postGraphQL(t.url, token, me);
    expect(onA.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const revokeMs = await pollUntil('token revocation', async () => (await postGraphQL(b.url, token, me)).body.errors?.[0]?.extensions?.['code'] === 'UNAUTHENTICATED');
    const onB = await postGraphQL(b.url, token, me);
    expect(onB.status).toBe(401);
    expect(onB.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    // Only that credential: the system's other token still works on B.
    expect((await postGraphQL(b.url, t.tokens.zw, me)).body.data).toEqual({ me: { kind: 'system', id: 'zw-yichuang', department: 'ZW' } });

    console.log(`[instances] propagation A→B: token revocation ${revokeMs.toFixed(0)} ms`);
    expect(revokeMs).toBeLessThan(BOUND_MS);
  });

  it('a catalogue change through A (RS officer adds an item with updateResource) shows in B\'s GraphQL schema within 2 s', async () => {
    const file = parseYaml(await readFile(join(DEMO_CATALOGUE, 'resources/rs-social-insurance.yaml'), 'utf8')) as { code: string; items: Array<Record<string, unknown>> };
    expect(file.code).toBe('RS-SOCIAL-INSURANCE');
    const resource = { ...file, items: [...file.items, { name: 'contributionMonths', title: '累计缴费月数', type: 'integer', classification: 'personal' }] };
    const fieldsOf = async (url: string) => {
      const res = await postGraphQL(url, t.people['admin']!, '{ __type(name: "SocialInsuranceRecord") { fields { name } } }');
      return ((res.body.data?.['__type'] as { fields: Array<{ name: string }> } | null)?.fields ?? []).map((f) => f.name);
    };
    expect(await fieldsOf(b.url)).not.toContain('contributionMonths');

    const updated = await ok(t.people['officer-rs']!, 'mutation ($r: JSON!) { updateResource(code: "RS-SOCIAL-INSURANCE", resource: $r, reason: "新增累计缴费月数") { code items { name title } } }', { r: resource });
    expect((updated['updateResource'] as { items: Array<{ name: string; title: string }> }).items).toContainEqual({ name: 'contributionMonths', title: '累计缴费月数' });
    expect(await fieldsOf(t.url)).toContain('contributionMonths');
    const catalogueMs = await pollUntil('catalogue change', async () => (await fieldsOf(b.url)).includes('contributionMonths'));
    // The catalogue listing on B shows the new item too.
    const listed = await ok(t.tokens.zw, '{ catalogue(subject: person) { code items { name title } } }', {}, b.url);
    const rs = (listed['catalogue'] as Array<{ code: string; items: Array<{ name: string; title: string }> }>).find((r) => r.code === 'RS-SOCIAL-INSURANCE');
    expect(rs?.items).toContainEqual({ name: 'contributionMonths', title: '累计缴费月数' });

    console.log(`[instances] propagation A→B: catalogue change ${catalogueMs.toFixed(0)} ms`);
    expect(catalogueMs).toBeLessThan(BOUND_MS);
  });
});

describe('exact counters across the two instances', () => {
  it('serves exactly a perDay-7 quota to 30 parallel single-subject requests split across A and B; 23 get QUOTA_EXCEEDED', async () => {
    const rs = t.people['officer-rs']!;
    // The seeded G-2026-0002 (same resource, ZW, 出生一件事) has no daily quota: while it is in force
    // nothing is counted. Revoke it, so the new perDay-7 grant is the only one.
    const revoked = await ok(rs, 'mutation { revokeGrant(id: "G-2026-0002", reason: "改为按日限额授权") { status } }');
    expect(revoked['revokeGrant']).toEqual({ status: 'revoked' });
    const grant = await grantThroughApi('officer-zw', 'officer-rs', {
      resource: 'RS-SOCIAL-INSURANCE', purposes: [CSYJS], items: [{ name: 'status', access: 'clear' }],
    }, { perDay: 7, maxBatch: 1 });

    // Both instances must know the new state before the race. Probe with an item the new grant does
    // not cover (insuredSince): G-2026-0002 in force would serve it, revoked without a new grant gives
    // GRANT_REVOKED, and the new grant gives ITEM_NOT_GRANTED. A refused item consumes no quota.
    const probe = async (url: string) => insuranceError(await readInsurance(url, adults()[40]!, 'insuredSince', 'CSYJS-INST-PROBE'), 'insuredSince')?.['reason'] === 'ITEM_NOT_GRANTED';
    expect(await probe(t.url)).toBe(true);
    const grantMs = await pollUntil('new grant and revocation', () => probe(b.url));
    console.log(`[instances] propagation A→B: new grant + revocation ${grantMs.toFixed(0)} ms`);
    expect(grantMs).toBeLessThan(BOUND_MS);

    const subjects = adults().slice(0, 30);
    expect(new Set(subjects).size).toBe(30);
    const urls = [t.url, b.url];
    const results = await Promise.all(subjects.map((id, i) => readInsurance(urls[i % 2]!, id)));
    const outcomes = results.map((res) => {
      if (insuranceServed(res)) return 'served';
      const e = insuranceError(res);
      return `${String(e?.['code'])}/${String(e?.['reason'])}`;
    });
    expect(outcomes.filter((o) => o === 'served'), outcomes.join(', ')).toHaveLength(7);
    expect(outcomes.filter((o) => o === 'QUOTA_EXCEEDED/QUOTA_EXCEEDED'), outcomes.join(', ')).toHaveLength(23);
    for (const res of results.filter((r) => !insuranceServed(r))) {
      expect(insuranceError(res)).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'QUOTA_EXCEEDED', grant });
      expect((res.body.data as { access: { person: { socialInsurance: unknown } } }).access.person.socialInsurance).toBeNull();
    }
    // The grant's use, as both instances report it.
    for (const url of urls) {
      const used = await ok(rs, 'query ($id: ID!) { grant(id: $id) { usedToday quota { perDay maxBatch } } }', { id: grant }, url);
      expect(used['grant']).toEqual({ usedToday: 7, quota: { perDay: 7, maxBatch: 1 } });
    }
    // The quota is spent for today: one more subject is refused on either instance.
    expect(insuranceError(await readInsurance(b.url, adults()[31]!))).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'QUOTA_EXCEEDED' });
  });

  it('limits verification to 5 attempts per system, subject and resource per day across A and B; attempts numbered 1…5 in the audit', async () => {
    // Seeded G-2026-0001: WJ-BIRTH-CERT for ZW, motherIdNumber granted for verification (核验) only,
    // no verifyPerDay given, so the default limit of 5 applies.
    const { child, mother } = t.data.births[1]!;
    const wrong = t.data.births[0]!.mother;
    const caseId = 'CSYJS-INST-VERIFY';
    const urls = [t.url, b.url];
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const claim = i % 2 === 0 ? mother : wrong;
      const res = await postGraphQL(urls[i % 2]!, t.tokens.zw, `query ($key: String!, $claims: Claims!) {
        access(purpose: "${CSYJS}", caseId: "${caseId}", operator: "zw-op-1") {
          verify(resource: "WJ-BIRTH-CERT", key: $key, claims: $claims) { match mismatched } } }`, { key: child, claims: { motherIdNumber: claim } });
      expect((res.body.errors ?? []).filter((e) => e.path?.[1] !== 'verify'), JSON.stringify(res.body.errors)).toEqual([]);
      const e = errorsAt(res.body, 'access', 'verify')[0]?.extensions;
      const answer = (res.body.data as { access?: { verify?: { match: boolean } | null } | null } | null)?.access?.verify;
      outcomes.push(e ? `${String(e['code'])}/${String(e['reason'])}` : `match:${String(answer?.match)}`);
    }
    expect(outcomes).toEqual([
      'match:true', 'match:false', 'match:true', 'match:false', 'match:true',
      'QUOTA_EXCEEDED/VERIFY_ATTEMPTS_EXCEEDED', 'QUOTA_EXCEEDED/VERIFY_ATTEMPTS_EXCEEDED', 'QUOTA_EXCEEDED/VERIFY_ATTEMPTS_EXCEEDED',
    ]);

    await Promise.all([t.hub.runtime.audit.flush(), b.runtime.audit.flush()]);
    const records = (await searchAccess(t.hubDb.db, { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', limit: 1000 })).filter((r) => r.caseId === caseId);
    expect(records).toHaveLength(8);
    const allowed = records.filter((r) => r.decision === 'allow');
    expect(allowed.map((r) => r.attempt).sort((x, y) => Number(x) - Number(y))).toEqual([1, 2, 3, 4, 5]);
    for (const r of allowed) expect(r).toMatchObject({ action: 'verify', itemsVerified: ['motherIdNumber'] });
    const denied = records.filter((r) => r.decision === 'deny');
    expect(denied).toHaveLength(3);
    for (const r of denied) expect(r).toMatchObject({ action: 'verify', code: 'QUOTA_EXCEEDED', denial: 'VERIFY_ATTEMPTS_EXCEEDED' });
  });

  it('does not charge the daily quota for requests refused for another reason: a perDay-2 grant still serves 2 subjects after them', async () => {
    // 公安's 户籍 system gets 卫健's birth certificate (child's name only) under 出生一件事, 2 subjects a day.
    const grant = await grantThroughApi('officer-ga', 'officer-wj', {
      resource: 'WJ-BIRTH-CERT', purposes: [CSYJS], items: [{ name: 'childName', access: 'clear' }],
    }, { perDay: 2, maxBatch: 1 });
    const wj = t.people['officer-wj']!;
    const [c1, c2, c3, c4] = t.data.births.map((x) => x.child);
    const read = (id: string, items: string) => t.query(t.tokens.ga, `query ($id: String!) {
      access(purpose: "${CSYJS}", caseId: "CSYJS-INST-FREE", operator: "ga-op-1") { person(idNumber: $id) { birthCertificate { ${items} } } } }`, { id });
    const certError = (res: GraphQLResponse, ...item: string[]): Extensions => errorsAt(res.body, 'access', 'person', 'birthCertificate', ...item)[0]?.extensions;
    const used = async () => ((await ok(wj, 'query ($id: ID!) { grant(id: $id) { usedToday } }', { id: grant }))['grant'] as { usedToday: number }).usedToday;

    // 1. Only an item that is not granted: refused, nothing served.
    for (const id of [c1!, c2!, c3!]) {
      expect(certError(await read(id, 'fatherName'), 'fatherName')).toMatchObject({ code: 'FORBIDDEN', reason: 'ITEM_NOT_GRANTED' });
    }
    // 2. More subjects than maxBatch 1 in one request.
    const batch = await t.query(t.tokens.ga, `query ($ids: [String!]!) {
      access(purpose: "${CSYJS}", caseId: "CSYJS-INST-FREE", operator: "ga-op-1") { persons(idNumbers: $ids) { birthCertificate { childName } } } }`, { ids: [c1!, c2!] });
    expect(errorsAt(batch.body, 'access', 'persons', 0, 'birthCertificate')[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'BATCH_TOO_LARGE' });
    // 3. The grant suspended.
    await ok(wj, 'mutation ($id: ID!) { suspendGrant(id: $id, reason: "暂停核查") { status } }', { id: grant });
    for (const id of [c1!, c2!]) {
      expect(certError(await read(id, 'childName'))).toMatchObject({ code: 'FORBIDDEN', reason: 'GRANT_SUSPENDED', grant });
    }
    await ok(wj, 'mutation ($id: ID!) { resumeGrant(id: $id, reason: "核查完毕") { status } }', { id: grant });
    expect(await used()).toBe(0);

    // Now exactly 2 subjects are served, the third is over the quota.
    for (const id of [c1!, c2!]) {
      const res = await read(id, 'childName');
      expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      const name = (res.body.data as { access: { person: { birthCertificate: { childName: string } } } }).access.person.birthCertificate.childName;
      expect(name).toBe(t.data.persons.find((p) => p.idNumber === id)!.name);
    }
    expect(await used()).toBe(2);
    expect(certError(await read(c4!, 'childName'))).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'QUOTA_EXCEEDED', grant });
    expect(await used()).toBe(2);
  });
});
