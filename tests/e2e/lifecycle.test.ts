/**
 * Data officers run sharing applications through the hub (共享申请 → 审核 → 授权 → 暂停 / 撤销), over
 * HTTP against a real MongoDB-wire server, and every step is enforced on the consumer path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRecordsFor, searchAccess } from '../../audit/index.ts';
import { addWorkingDays } from '../../policies/index.ts';
import { setSubmission } from '../../store/index.ts';
import { errorsAt, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const DIBAO = '440000-DIBAO-001';
const CSYJS = '440000-CSYJS-001';
const APPLY = `mutation ($input: ApplyInput!) { applyForAccess(input: $input) { id status deadline overdue provider consumer version } }`;
const APPROVE = `mutation ($id: ID!, $terms: ApprovalTerms, $reason: String) {
  approveApplication(id: $id, terms: $terms, reason: $reason) { id status version grant { id version status state items { name access consent } quota { perDay maxBatch verifyPerDay } validUntil } }
}`;
const GRANT_CHANGE = (op: string) => `mutation ($id: ID!, $reason: String!) { ${op}(id: $id, reason: $reason) { id status state version history { action reason actor role version } } }`;

const code = (res: GraphQLResponse) => res.body.errors?.[0]?.extensions?.['code'];
const data = <T>(res: GraphQLResponse, field: string): T => {
  expect(res.body.errors).toBeUndefined();
  return res.body.data![field] as T;
};

function applyInput(extra: Record<string, unknown> = {}) {
  return {
    resource: 'ZR-REAL-ESTATE',
    items: [{ name: 'propertyCount', access: 'clear' }, { name: 'totalArea', access: 'clear' }],
    purposes: [DIBAO],
    validFrom: '2026-01-01',
    validUntil: '2030-12-31',
    expectedDailyVolume: 300,
    maxBatch: 20,
    reason: '低保家庭财产核查',
    ...extra,
  };
}

/** 出生一件事 read of one person's social insurance by 公安's 户籍 system (ga-huji), which has no seeded grant for it. */
const readInsurance = (id: string) => t.query(t.tokens.ga, `query ($id: String!) {
  access(purpose: "${CSYJS}", caseId: "CSYJS-2026-7", operator: "op-3") { person(idNumber: $id) { socialInsurance { status monthlyBase } } }
}`, { id });

describe('the full lifecycle over HTTP', () => {
  it('apply → approve (narrowed) → read → suspend → refused → resume → revoke → refused, with versions in the audit', async () => {
    const subject = t.data.persons.find((p) => p.role === 'head')!.idNumber;
    const before = await readInsurance(subject);
    expect(errorsAt(before.body, 'access', 'person', 'socialInsurance')[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NO_GRANT' });

    const applied = data<{ id: string; status: string; deadline: string; overdue: boolean; provider: string }>(
      await t.query(t.people['officer-ga']!, APPLY, {
        input: applyInput({
          resource: 'RS-SOCIAL-INSURANCE', purposes: [CSYJS], systems: ['ga-huji'],
          items: [{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'clear' }], reason: '新生儿落户核对父母参保状态',
        }),
      }), 'applyForAccess');
    expect(applied).toMatchObject({ status: 'pending', overdue: false, provider: 'RS' });
    expect(applied.deadline > t.hub.runtime.today()).toBe(true);

    const pending = await t.query(t.people['officer-rs']!, '{ pendingApplications { nodes { id overdue } totalCount } }');
    expect(data<{ nodes: Array<{ id: string }> }>(pending, 'pendingApplications').nodes.map((n) => n.id)).toContain(applied.id);

    const approved = data<{ status: string; grant: { id: string; version: number; state: string; items: unknown[]; quota: unknown; validUntil: string } }>(
      await t.query(t.people['officer-rs']!, APPROVE, {
        id: applied.id,
        reason: '缴费基数仅核验',
        terms: { items: [{ name: 'status', access: 'clear' }, { name: 'monthlyBase', access: 'verify' }], validUntil: '2027-12-31', perDay: 100, maxBatch: 10 },
      }), 'approveApplication');
    expect(approved.status).toBe('approved');
    expect(approved.grant).toMatchObject({
      version: 1, state: 'active', validUntil: '2027-12-31',
      items: [{ name: 'status', access: 'clear', consent: false }, { name: 'monthlyBase', access: 'verify', consent: false }],
      quota: { perDay: 100, maxBatch: 10, verifyPerDay: 5 },
    });
    const grantId = approved.grant.id;

    const served = await readInsurance(subject);
    expect((served.body.data as { access: { person: { socialInsurance: { status: string } } } }).access.person.socialInsurance.status).toMatch(/参保|缴费/);
    // Narrowed to verification only: the base is refused as VERIFY_ONLY.
    expect(errorsAt(served.body, 'access', 'person', 'socialInsurance', 'monthlyBase')[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'VERIFY_ONLY' });

    const suspended = data<{ status: string; version: number }>(await t.query(t.people['officer-rs']!, GRANT_CHANGE('suspendGrant'), { id: grantId, reason: '数据核查期间暂停' }), 'suspendGrant');
    expect(suspended).toMatchObject({ status: 'suspended', version: 2 });
    const refusedSuspended = await readInsurance(subject);
    expect(errorsAt(refusedSuspended.body, 'access', 'person', 'socialInsurance')[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'GRANT_SUSPENDED', grant: grantId, grantVersion: 2 });

    const resumed = data<{ status: string; version: number }>(await t.query(t.people['officer-rs']!, GRANT_CHANGE('resumeGrant'), { id: grantId, reason: '核查完毕' }), 'resumeGrant');
    expect(resumed).toMatchObject({ status: 'approved', version: 3 });
    const servedAgain = await readInsurance(subject);
    expect(errorsAt(servedAgain.body, 'access', 'person', 'socialInsurance').map((e) => e.extensions?.['reason'])).toEqual(['VERIFY_ONLY']);

    const revoked = data<{ status: string; version: number; history: Array<{ action: string; version: number }> }>(
      await t.query(t.people['officer-rs']!, GRANT_CHANGE('revokeGrant'), { id: grantId, reason: '业务调整，停止共享' }), 'revokeGrant');
    expect(revoked.status).toBe('revoked');
    expect(revoked.history.map((h) => `${h.action}@${h.version}`)).toEqual(['approve@1', 'suspend@2', 'resume@3', 'revoke@4']);
    const refusedRevoked = await readInsurance(subject);
    expect(errorsAt(refusedRevoked.body, 'access', 'person', 'socialInsurance')[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'GRANT_REVOKED', grant: grantId, grantVersion: 4 });

    // The access records name the grant and the version that decided each access.
    await t.hub.runtime.audit.flush();
    const records = (await searchAccess(t.hubDb.db, { system: 'ga-huji', resource: 'RS-SOCIAL-INSURANCE', limit: 100 })).reverse();
    const versions = records.filter((r) => r.grants.some((g) => g.id === grantId)).map((r) => `${r.decision}:${r.denial ?? '-'}:v${r.grants.find((g) => g.id === grantId)!.version}`);
    expect(versions).toEqual(['partial:VERIFY_ONLY:v1', 'deny:GRANT_SUSPENDED:v2', 'partial:VERIFY_ONLY:v3', 'deny:GRANT_REVOKED:v4']);

    // Every step is an admin-change record: who, role, what, before and after, why.
    const changes = await adminRecordsFor(t.hubDb.db, grantId);
    expect(changes.map((c) => [c.action, c.actor, c.role, c.reason])).toEqual([
      ['grant.create', 'rs-officer-wang', 'officer', '缴费基数仅核验'],
      ['grant.suspend', 'rs-officer-wang', 'officer', '数据核查期间暂停'],
      ['grant.resume', 'rs-officer-wang', 'officer', '核查完毕'],
      ['grant.revoke', 'rs-officer-wang', 'officer', '业务调整，停止共享'],
    ]);
    expect(changes[1]).toMatchObject({ before: { status: 'approved', version: 1 }, after: { status: 'suspended', version: 2 } });
  });
});

describe('who may do what', () => {
  let applicationId: string;
  beforeAll(async () => {
    applicationId = data<{ id: string }>(await t.query(t.people['officer-mz']!, APPLY, {
      input: applyInput({ resource: 'GA-VEHICLE', items: [{ name: 'vehicleCount', access: 'clear' }], reason: '低保车辆核查' }),
    }), 'applyForAccess').id;
  });

  it('an officer of another department can neither see nor approve the application', async () => {
    const seen = await t.query(t.people['officer-rs']!, 'query ($id: ID!) { application(id: $id) { id } applications { nodes { id } } pendingApplications { nodes { id } } }', { id: applicationId });
    expect(seen.body.errors).toBeUndefined();
    expect(seen.body.data!['application']).toBeNull();
    expect((seen.body.data!['applications'] as { nodes: Array<{ id: string }> }).nodes.map((n) => n.id)).not.toContain(applicationId);
    expect((seen.body.data!['pendingApplications'] as { nodes: Array<{ id: string }> }).nodes.map((n) => n.id)).not.toContain(applicationId);
    const approve = await t.query(t.people['officer-rs']!, APPROVE, { id: applicationId });
    expect(code(approve)).toBe('NOT_FOUND');
  });

  it('the applying officer sees it but may not approve it', async () => {
    const approve = await t.query(t.people['officer-mz']!, APPROVE, { id: applicationId });
    expect(code(approve)).toBe('FORBIDDEN');
  });

  it.each([
    ['applyForAccess', APPLY, () => ({ input: applyInput() })],
    ['approveApplication', APPROVE, () => ({ id: applicationId })],
    ['suspendGrant', GRANT_CHANGE('suspendGrant'), () => ({ id: 'G-2026-0003', reason: 'x' })],
    ['applications', '{ applications { totalCount } }', () => ({})],
    ['grants', '{ grants { totalCount } }', () => ({})],
    ['createToken', 'mutation { createToken(role: admin, principalId: "evil") { token } }', () => ({})],
    ['systems', '{ systems { code } }', () => ({})],
    ['departments', '{ departments { code } }', () => ({})],
    ['registerResource', 'mutation ($r: JSON!) { registerResource(resource: $r) { code } }', () => ({ r: { code: 'X' } })],
    ['fileDemand', 'mutation { fileDemand(input: { title: "t", description: "d", purposes: ["440000-DIBAO-001"] }) { id } }', () => ({})],
    ['recordConsent', `mutation { recordConsent(input: { idNumber: "11010519491231002X", consumer: "ZW", purpose: "${CSYJS}", items: ["GA-FACE.photo"], validUntil: "2030-01-01" }) { id } }`, () => ({})],
  ])('a system token cannot call %s', async (_name, query, variables) => {
    const res = await t.query(t.tokens.mz, query, variables());
    expect(code(res)).toBe('FORBIDDEN');
  });

  it('only an admin issues tokens through the API', async () => {
    const officer = await t.query(t.people['officer-ga']!, 'mutation { createToken(role: officer, department: "GA", principalId: "ga-officer-2") { token } }');
    expect(code(officer)).toBe('FORBIDDEN');
    const admin = await t.query(t.people['admin']!, 'mutation { createToken(role: officer, department: "GA", principalId: "ga-officer-2", label: "second GA officer") { token credential { id role principalId department } } }');
    const issued = data<{ token: string; credential: Record<string, unknown> }>(admin, 'createToken');
    expect(issued.credential).toMatchObject({ role: 'officer', principalId: 'ga-officer-2', department: 'GA' });
    const me = await t.query(issued.token, '{ me { kind id department } }');
    expect(data(me, 'me')).toEqual({ kind: 'officer', id: 'ga-officer-2', department: 'GA' });
  });

  it('officers, auditors and admins list the registered systems and departments', async () => {
    const res = await t.query(t.people['auditor']!, '{ departments { code } systems(department: "MZ") { code name department { code name } peerHub certificates } }');
    expect(res.body.errors).toBeUndefined();
    expect((res.body.data!['departments'] as Array<{ code: string }>).map((d) => d.code)).toEqual(['GA', 'SJ', 'RS', 'MZ', 'WJ', 'YB', 'ZR', 'ZW']);
    expect(res.body.data!['systems']).toEqual([{ code: 'mz-dibao', name: '最低生活保障审核系统', department: { code: 'MZ', name: expect.stringContaining('民政') }, peerHub: false, certificates: [] }]);
  });

  it('an admin rotates a token with no downtime: both work during the overlap; with none the old stops at once', async () => {
    const created = data<{ token: string; credential: { id: string } }>(await t.query(t.people['admin']!, 'mutation { createToken(role: auditor, principalId: "audit-rotating", expiresInDays: 30) { token credential { id expiresAt } } }'), 'createToken');
    const ROTATE = 'mutation ($id: String!, $h: Int) { rotateToken(id: $id, overlapHours: $h, reason: "scheduled rotation") { token credential { id expiresAt } previous { id expiresAt } } }';
    expect(code(await t.query(t.people['officer-ga']!, ROTATE, { id: created.credential.id, h: 1 }))).toBe('FORBIDDEN');

    const rotated = data<{ token: string; credential: { id: string; expiresAt: string | null }; previous: { id: string; expiresAt: string } }>(await t.query(t.people['admin']!, ROTATE, { id: created.credential.id, h: 1 }), 'rotateToken');
    expect(rotated.previous.id).toBe(created.credential.id);
    expect(rotated.credential.expiresAt).toBeNull();
    expect(Date.parse(rotated.previous.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    const who = async (token: string) => (await t.query(token, '{ me { id } }')).body.data?.['me'] ?? null;
    expect([await who(created.token), await who(rotated.token)]).toEqual([{ id: 'audit-rotating' }, { id: 'audit-rotating' }]);

    const last = data<{ token: string }>(await t.query(t.people['admin']!, ROTATE, { id: rotated.credential.id, h: 0 }), 'rotateToken');
    expect([await who(rotated.token), await who(last.token), await who(created.token)]).toEqual([null, { id: 'audit-rotating' }, { id: 'audit-rotating' }]);
    expect(code(await t.query(t.people['admin']!, ROTATE, { id: rotated.credential.id, h: 0 }))).toBe('NOT_FOUND');
    expect(code(await t.query(t.people['admin']!, ROTATE, { id: created.credential.id, h: 721 }))).toBe('BAD_USER_INPUT');
  });
});

describe('refusals and escalation', () => {
  it('a rejection without a reason is refused, and the application stays pending', async () => {
    const id = data<{ id: string }>(await t.query(t.people['officer-mz']!, APPLY, {
      input: applyInput({ resource: 'RS-SOCIAL-INSURANCE', items: [{ name: 'employer', access: 'clear' }], reason: '核实就业' }),
    }), 'applyForAccess').id;
    for (const reason of ['', '   ']) {
      const res = await t.query(t.people['officer-rs']!, 'mutation ($id: ID!, $reason: String!) { rejectApplication(id: $id, reason: $reason) { status } }', { id, reason });
      expect(code(res)).toBe('BAD_USER_INPUT');
    }
    const still = await t.query(t.people['officer-rs']!, 'query ($id: ID!) { application(id: $id) { status version } }', { id });
    expect(data(still, 'application')).toEqual({ status: 'pending', version: 1 });
  });

  it('an escalation is resolved by the admin only: uphold, or direct a grant', async () => {
    const apply = async () => data<{ id: string }>(await t.query(t.people['officer-zw']!, APPLY, {
      input: applyInput({ resource: 'WJ-BIRTH-CERT', purposes: [CSYJS], items: [{ name: 'motherIdNumber', access: 'clear' }], maxBatch: 5, reason: '回填户口登记表' }),
    }), 'applyForAccess').id;
    const rejectAndEscalate = async (id: string) => {
      await t.query(t.people['officer-wj']!, 'mutation ($id: ID!) { rejectApplication(id: $id, reason: "仅提供核验") { status } }', { id });
      const escalated = await t.query(t.people['officer-zw']!, 'mutation ($id: ID!) { escalateApplication(id: $id, reason: "核验不能满足业务需要") { status escalation { reason by } } }', { id });
      expect(data(escalated, 'escalateApplication')).toEqual({ status: 'escalated', escalation: { reason: '核验不能满足业务需要', by: 'zw-officer-liu' } });
    };
    const RESOLVE = 'mutation ($id: ID!, $d: EscalationDecision!, $reason: String!) { resolveEscalation(id: $id, decision: $d, reason: $reason) { status grant { id consumer } escalation { resolution resolvedBy resolutionReason } } }';

    const upheld = await apply();
    await rejectAndEscalate(upheld);
    for (const token of [t.people['officer-wj']!, t.people['officer-zw']!]) {
      expect(code(await t.query(token, RESOLVE, { id: upheld, d: 'uphold', reason: 'x' }))).toBe('FORBIDDEN');
    }
    expect(code(await t.query(t.people['admin']!, RESOLVE, { id: upheld, d: 'uphold', reason: ' ' }))).toBe('BAD_USER_INPUT');
    const kept = await t.query(t.people['admin']!, RESOLVE, { id: upheld, d: 'uphold', reason: '核验已满足最小必要原则' });
    expect(data(kept, 'resolveEscalation')).toEqual({ status: 'rejected', grant: null, escalation: { resolution: 'uphold', resolvedBy: 'zw-platform-admin', resolutionReason: '核验已满足最小必要原则' } });
    // A refusal the coordination group upheld is final.
    expect(code(await t.query(t.people['officer-zw']!, 'mutation ($id: ID!) { escalateApplication(id: $id, reason: "again") { status } }', { id: upheld }))).toBe('CONFLICT');

    const directed = await apply();
    await rejectAndEscalate(directed);
    const granted = await t.query(t.people['admin']!, RESOLVE, { id: directed, d: 'direct', reason: '户籍登记确需明文' });
    expect(data<{ status: string; grant: { consumer: string } }>(granted, 'resolveEscalation')).toMatchObject({ status: 'approved', grant: { consumer: 'ZW' } });
  });
});

describe('deadlines', () => {
  it('counts working days and flags an application past its deadline as overdue in every listing', async () => {
    const fresh = data<{ id: string; deadline: string; overdue: boolean }>(await t.query(t.people['officer-mz']!, APPLY, {
      input: applyInput({ resource: 'GA-VEHICLE', items: [{ name: 'plates', access: 'masked' }], reason: '车辆号牌核查' }),
    }), 'applyForAccess');
    expect(fresh.overdue).toBe(false);
    const late = data<{ id: string }>(await t.query(t.people['officer-mz']!, APPLY, {
      input: applyInput({ resource: 'GA-VEHICLE', items: [{ name: 'vehicleCount', access: 'clear' }], reason: '车辆数量核查' }),
    }), 'applyForAccess');
    // Submitted on Monday 2026-09-28: ten working days skip 1–7 October (国庆) and count Saturday
    // 10 October (调休), so the answer was due on Friday 2026-10-16.
    const deadline = addWorkingDays(t.hub.runtime.calendar, '2026-09-28', 10);
    expect(deadline).toBe('2026-10-16');
    await setSubmission(t.hubDb.db, late.id, new Date('2026-09-28T02:00:00Z'), deadline);

    const provider = await t.query(t.people['officer-ga']!, '{ pendingApplications(first: 50) { nodes { id overdue deadline } } }');
    const nodes = data<{ nodes: Array<{ id: string; overdue: boolean; deadline: string }> }>(provider, 'pendingApplications').nodes;
    expect(nodes[0]).toEqual({ id: late.id, overdue: true, deadline: '2026-10-16' });
    expect(nodes.find((n) => n.id === fresh.id)?.overdue).toBe(false);
    // Sorted by deadline.
    expect(nodes.map((n) => n.deadline)).toEqual([...nodes.map((n) => n.deadline)].sort());

    const consumer = await t.query(t.people['officer-mz']!, '{ applications(filter: { overdue: true }) { nodes { id overdue } totalCount } }');
    expect(data(consumer, 'applications')).toEqual({ nodes: [{ id: late.id, overdue: true }], totalCount: 1 });
  });

  it('refuses an application for the department\'s own resource, or one never shared', async () => {
    const own = await t.query(t.people['officer-mz']!, APPLY, { input: applyInput({ resource: 'MZ-MARRIAGE', items: [{ name: 'maritalStatus', access: 'clear' }] }) });
    expect(code(own)).toBe('BAD_USER_INPUT');
    const none = await t.query(t.people['officer-mz']!, APPLY, { input: applyInput({ resource: 'GA-CRIMINAL', items: [{ name: 'caseCount', access: 'clear' }] }) });
    expect(code(none)).toBe('BAD_USER_INPUT');
  });
});

describe('listings', () => {
  it('pages applications and grants with cursors, and refuses a cursor it did not issue', async () => {
    const all = await t.query(t.people['admin']!, '{ applications(first: 200) { nodes { id } totalCount } }');
    const every = data<{ nodes: Array<{ id: string }>; totalCount: number }>(all, 'applications');
    expect(every.totalCount).toBeGreaterThan(3);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse = await t.query(t.people['admin']!, 'query ($after: String) { applications(first: 2, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } totalCount } }', { after });
      const p = data<{ nodes: Array<{ id: string }>; pageInfo: { endCursor: string; hasNextPage: boolean }; totalCount: number }>(page, 'applications');
      expect(p.totalCount).toBe(every.totalCount);
      seen.push(...p.nodes.map((n) => n.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(seen).toEqual(every.nodes.map((n) => n.id));

    const grants = await t.query(t.people['officer-rs']!, '{ grants(filter: { provider: "RS" }, first: 1) { nodes { id provider history { action actor } } pageInfo { hasNextPage } totalCount } }');
    const g = data<{ nodes: Array<{ provider: string; history: Array<{ action: string }> }>; pageInfo: { hasNextPage: boolean }; totalCount: number }>(grants, 'grants');
    expect(g.nodes).toHaveLength(1);
    expect(g.nodes[0]!.provider).toBe('RS');
    expect(g.nodes[0]!.history[0]!.action).toMatch(/^(seed|approve|direct)$/);
    expect(g.pageInfo.hasNextPage).toBe(g.totalCount > 1);

    for (const cursor of ['not-a-cursor', Buffer.from('{"a":1}').toString('base64url')]) {
      const bad = await t.query(t.people['admin']!, 'query ($after: String) { applications(after: $after) { totalCount } }', { after: cursor });
      expect(code(bad)).toBe('BAD_USER_INPUT');
    }
    expect(code(await t.query(t.people['admin']!, '{ applications(first: 0) { totalCount } }'))).toBe('BAD_USER_INPUT');
  });

  it('shows an officer only the grants that name their department', async () => {
    const res = await t.query(t.people['officer-zr']!, '{ grants(first: 200) { nodes { consumer provider } } }');
    const nodes = data<{ nodes: Array<{ consumer: string; provider: string }> }>(res, 'grants').nodes;
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n) => n.consumer === 'ZR' || n.provider === 'ZR')).toBe(true);
  });
});
