/**
 * Two hub instances on one MongoDB database: a change made through one applies on the other within
 * 2 seconds, and the daily quota and the verification-attempt limit hold exactly across both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess } from '../../audit/index.ts';
import type { RunningHub } from '../../gateway/hub.ts';
import { errorsAt, postGraphQL, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

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
const urls = () => [t.url, b.url];
const heads = () => t.data.persons.filter((p) => p.role === 'head' || p.role === 'spouse').map((p) => p.idNumber);

const readInsurance = (url: string, token: string, id: string) => postGraphQL(url, token, `query ($id: String!) {
  access(purpose: "${CSYJS}", caseId: "CSYJS-9", operator: "op-9") { person(idNumber: $id) { socialInsurance { status } } }
}`, { id });
const codeAt = (res: GraphQLResponse) => errorsAt(res.body, 'access', 'person', 'socialInsurance')[0]?.extensions;
const served = (res: GraphQLResponse) => Boolean((res.body.data as { access?: { person?: { socialInsurance?: { status?: string } } } } | null)?.access?.person?.socialInsurance?.status);

/** Polls until `check` holds on the second instance; returns the milliseconds it took. */
async function until(check: () => Promise<boolean>, limitMs = 5000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not propagated within ${limitMs} ms`);
}

async function mutate(token: string, query: string, variables: Record<string, unknown>, url = t.url): Promise<Record<string, unknown>> {
  const res = await postGraphQL(url, token, query, variables);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!;
}

/** Applies as one officer and approves as the provider's officer; returns the grant id. */
async function grantThrough(consumerOfficer: string, providerOfficer: string, input: Record<string, unknown>, terms: Record<string, unknown>): Promise<string> {
  const applied = await mutate(t.people[consumerOfficer]!, 'mutation ($i: ApplyInput!) { applyForAccess(input: $i) { id } }', {
    i: { validFrom: '2026-01-01', validUntil: '2030-12-31', expectedDailyVolume: 100, maxBatch: 10, reason: 'test', ...input },
  });
  const approved = await mutate(t.people[providerOfficer]!, 'mutation ($id: ID!, $terms: ApprovalTerms) { approveApplication(id: $id, terms: $terms) { grant { id } } }', {
    id: (applied['applyForAccess'] as { id: string }).id, terms,
  });
  return ((approved['approveApplication'] as { grant: { id: string } }).grant).id;
}

describe('propagation between instances', () => {
  it('applies a suspension and a resumption made on A on B within 2 s', async () => {
    const subject = heads()[0]!;
    expect(served(await readInsurance(b.url, t.tokens.zw, subject))).toBe(true);

    await mutate(t.people['officer-rs']!, 'mutation { suspendGrant(id: "G-2026-0002", reason: "核查") { status } }', {});
    const suspendMs = await until(async () => codeAt(await readInsurance(b.url, t.tokens.zw, subject))?.['reason'] === 'GRANT_SUSPENDED');
    await mutate(t.people['officer-rs']!, 'mutation { resumeGrant(id: "G-2026-0002", reason: "核查完毕") { status } }', {});
    const resumeMs = await until(async () => served(await readInsurance(b.url, t.tokens.zw, subject)));
    console.log(`propagation: suspension ${suspendMs.toFixed(0)} ms, resumption ${resumeMs.toFixed(0)} ms`);
    expect(suspendMs).toBeLessThan(2000);
    expect(resumeMs).toBeLessThan(2000);
  });

  it('applies a token revocation made on A on B within 2 s, though B had the token cached', async () => {
    const issued = await mutate(t.people['admin']!, 'mutation { createToken(role: system, system: "zw-yichuang", label: "to revoke") { token credential { id } } }', {});
    const { token, credential } = issued['createToken'] as { token: string; credential: { id: string } };
    expect((await postGraphQL(b.url, token, '{ me { id } }')).status).toBe(200);
    await mutate(t.people['admin']!, 'mutation ($id: String!) { revokeToken(id: $id, reason: "泄露") }', { id: credential.id });
    const ms = await until(async () => (await postGraphQL(b.url, token, '{ me { id } }')).body.errors?.[0]?.extensions?.['code'] === 'UNAUTHENTICATED');
    console.log(`propagation: token revocation ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
  });

  it('applies a catalogue change made on A to B\'s schema within 2 s', async () => {
    const current = await mutate(t.people['officer-rs']!, '{ catalogue(subject: person) { code } }', {});
    expect((current['catalogue'] as Array<{ code: string }>).map((r) => r.code)).toContain('RS-SOCIAL-INSURANCE');
    const resource = {
      code: 'RS-PENSION', name: '养老金领取信息', field: 'pension', provider: 'RS', summary: '养老保险待遇领取状态。', subject: 'person', sharing: 'conditional',
      binding: { connector: 'renshe-mongo', dataset: 'social_insurance', keyField: 'idNumber' },
      items: [{ name: 'status', title: '领取状态', type: 'string', classification: 'personal' }],
    };
    await mutate(t.people['officer-rs']!, 'mutation ($r: JSON!) { registerResource(resource: $r, reason: "新增目录") { code } }', { r: resource });
    const ms = await until(async () => {
      const res = await postGraphQL(b.url, t.people['admin']!, '{ __type(name: "Person") { fields { name } } }');
      return ((res.body.data?.['__type'] as { fields: Array<{ name: string }> } | null)?.fields ?? []).some((f) => f.name === 'pension');
    });
    console.log(`propagation: catalogue change ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
  });
});

describe('exact counters across instances', () => {
  it('serves exactly the daily quota of subjects to 30 parallel requests from two instances', async () => {
    // 公安's 户籍 system gets RS-SOCIAL-INSURANCE with 7 subjects a day; no other grant covers it.
    const grant = await grantThrough('officer-ga', 'officer-rs', {
      resource: 'RS-SOCIAL-INSURANCE', purposes: [CSYJS], items: [{ name: 'status', access: 'clear' }],
    }, { perDay: 7, maxBatch: 1 });
    // Start the race once B knows the new grant (it learns it within the propagation bound).
    await until(async () => b.runtime.grants.forDepartment('GA').some((g) => g.id === grant));
    const subjects = heads().slice(0, 30);
    expect(subjects).toHaveLength(30);
    const results = await Promise.all(subjects.map((id, i) => readInsurance(urls()[i % 2]!, t.tokens.ga, id)));
    const outcome = results.map((r) => (served(r) ? 'served' : String(codeAt(r)?.['code']) + '/' + String(codeAt(r)?.['reason'])));
    expect(outcome.filter((o) => o === 'served')).toHaveLength(7);
    expect(outcome.filter((o) => o === 'QUOTA_EXCEEDED/QUOTA_EXCEEDED')).toHaveLength(23);
    const used = await mutate(t.people['officer-rs']!, 'query ($id: ID!) { grant(id: $id) { usedToday quota { perDay } } }', { id: grant });
    expect(used['grant']).toEqual({ usedToday: 7, quota: { perDay: 7 } });
  });

  it('does not charge the quota for a request refused for another reason', async () => {
    // 卫健 grants 公安 two subjects a day of the birth certificate's child name.
    const grant = await grantThrough('officer-ga', 'officer-wj', {
      resource: 'WJ-BIRTH-CERT', purposes: [CSYJS], items: [{ name: 'childName', access: 'clear' }],
    }, { perDay: 2, maxBatch: 1 });
    const read = (id: string, items: string) => postGraphQL(t.url, t.tokens.ga, `query ($id: String!) { access(purpose: "${CSYJS}", caseId: "c", operator: "op") { person(idNumber: $id) { birthCertificate { ${items} } } } }`, { id });
    const [first, second, third] = t.data.births.map((b) => b.child);
    // An item that is not granted only: refused, nothing served, nothing counted.
    const refused = await read(first!, 'fatherName');
    expect(errorsAt(refused.body, 'access', 'person', 'birthCertificate', 'fatherName')[0]?.extensions?.['reason']).toBe('ITEM_NOT_GRANTED');
    for (const id of [first!, second!]) {
      const ok = await read(id, 'childName');
      expect(ok.body.errors).toBeUndefined();
    }
    const over = await read(third!, 'childName');
    expect(errorsAt(over.body, 'access', 'person', 'birthCertificate')[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'QUOTA_EXCEEDED', grant });
  });

  it('limits verification attempts per system, subject and resource across instances, numbering each in the audit', async () => {
    const { child } = t.data.births[1]!;
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await postGraphQL(urls()[i % 2]!, t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-v", operator: "op") {
        verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "11010519491231002X" }) { match } } }`);
      const error = res.body.errors?.[0]?.extensions;
      outcomes.push(error ? `${String(error['code'])}/${String(error['reason'])}` : `match:${String((res.body.data as { access: { verify: { match: boolean } } }).access.verify.match)}`);
    }
    expect(outcomes).toEqual([...Array(5).fill('match:false'), ...Array(3).fill('QUOTA_EXCEEDED/VERIFY_ATTEMPTS_EXCEEDED')]);
    await Promise.all([t.hub.runtime.audit.flush(), b.runtime.audit.flush()]);
    const records = await searchAccess(t.hubDb.db, { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', limit: 100 });
    const attempts = records.filter((r) => r.caseId === 'c-v').map((r) => `${r.decision}:${r.attempt}`).sort();
    expect(attempts).toEqual(['allow:1', 'allow:2', 'allow:3', 'allow:4', 'allow:5', 'deny:6', 'deny:6', 'deny:6']);
  });

  it('answers exactly the limit of 8 verifications sent at once to one instance, and counts each decision as its record says', async () => {
    const { child } = t.data.births[3]!;
    const decisions = async () => {
      const values = (await t.hub.runtime.metrics.decisions.get()).values.filter((v) => v.labels['action'] === 'verify' && v.labels['resource'] === 'WJ-BIRTH-CERT');
      return Object.fromEntries(values.map((v) => [`${String(v.labels['decision'])}/${String(v.labels['code'])}`, v.value]));
    };
    const before = await decisions();
    const responses = await Promise.all(Array.from({ length: 8 }, () => postGraphQL(t.url, t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-vc", operator: "op") {
      verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "11010519491231002X" }) { match } } }`)));
    const outcomes = responses.map((res) => String(res.body.errors?.[0]?.extensions?.['reason'] ?? 'answered')).sort();
    expect(outcomes).toEqual([...Array(3).fill('VERIFY_ATTEMPTS_EXCEEDED'), ...Array(5).fill('answered')]);
    await t.hub.runtime.audit.flush();
    const records = await searchAccess(t.hubDb.db, { system: 'zw-yichuang', resource: 'WJ-BIRTH-CERT', limit: 100 });
    expect(records.filter((r) => r.caseId === 'c-vc').map((r) => `${r.decision}:${r.attempt}`).sort()).toEqual(['allow:1', 'allow:2', 'allow:3', 'allow:4', 'allow:5', 'deny:6', 'deny:6', 'deny:6']);
    const after = await decisions();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    expect([delta('allow/none'), delta('deny/QUOTA_EXCEEDED')]).toEqual([5, 3]);
  });

  it('lets exactly one of two officers acting on the same grant version at once succeed, the other gets CONFLICT', async () => {
    const grant = await grantThrough('officer-mz', 'officer-ga', {
      resource: 'GA-VEHICLE', purposes: ['440000-DIBAO-001'], items: [{ name: 'vehicleCount', access: 'clear' }],
    }, {});
    const rounds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const current = await mutate(t.people['officer-ga']!, 'query ($id: ID!) { grant(id: $id) { status } }', { id: grant });
      const op = (current['grant'] as { status: string }).status === 'approved' ? 'suspendGrant' : 'resumeGrant';
      const both = await Promise.all(urls().map((url) => postGraphQL(url, t.people['officer-ga']!, `mutation ($id: ID!) { ${op}(id: $id, reason: "并发") { version } }`, { id: grant })));
      rounds.push(both.map((r) => (r.body.errors ? String(r.body.errors[0]!.extensions!['code']) : 'ok')).sort().join('+'));
    }
    expect(rounds).toEqual(Array(5).fill('CONFLICT+ok'));
    const history = await mutate(t.people['officer-ga']!, 'query ($id: ID!) { grant(id: $id) { version history { version } } }', { id: grant });
    expect(history['grant']).toEqual({ version: 6, history: [1, 2, 3, 4, 5, 6].map((version) => ({ version })) });
  });
});
