/**
 * Data officers catalogue their own resources through the API (编目), validated like the files,
 * and the schema follows without a restart; data demands (需求清单) go from consumer to admin to
 * provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRecordsFor } from '../../audit/index.ts';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const DIBAO = '440000-DIBAO-001';
const code = (res: GraphQLResponse) => res.body.errors?.[0]?.extensions?.['code'];
const REGISTER = 'mutation ($r: JSON!, $why: String) { registerResource(resource: $r, reason: $why) { code field sharing items { name classification mask } } }';
const UPDATE = 'mutation ($code: String!, $r: JSON!, $why: String!) { updateResource(code: $code, resource: $r, reason: $why) { code sharing legalBasis } }';

/** A ZR resource read from the department's real-estate file, under a new field name. */
const resource = (extra: Record<string, unknown> = {}) => ({
  code: 'ZR-ESTATE-COUNT',
  name: '不动产套数',
  field: 'estateCount',
  provider: 'ZR',
  summary: '个人名下不动产套数。',
  subject: 'person',
  sharing: 'unconditional',
  binding: { connector: 'department-files', dataset: 'real_estate.csv', keyField: 'idNumber' },
  items: [{ name: 'propertyCount', title: '不动产套数', type: 'integer', classification: 'personal' }],
  ...extra,
});

describe('catalogue entries through the API', () => {
  it('validates a resource with the catalogue files\' schema and messages', async () => {
    const res = await t.query(t.people['officer-zr']!, REGISTER, { r: resource({ sharing: 'sometimes', items: [] }) });
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.extensions!['violations']).toEqual([
      { path: '/items', rule: 'minItems', message: 'must NOT have fewer than 1 items' },
      { path: '/sharing', rule: 'enum', message: 'must be one of "unconditional", "conditional", "none"' },
    ]);
    expect(res.body.errors![0]!.message).toContain('resource: /sharing must be one of "unconditional", "conditional", "none" (rule: enum)');
  });

  it('refuses an unknown connector and a field name already taken, naming the path', async () => {
    const res = await t.query(t.people['officer-zr']!, REGISTER, { r: resource({ field: 'realEstate', binding: { connector: 'nowhere', dataset: 'x', keyField: 'idNumber' } }) });
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect((res.body.errors![0]!.extensions!['violations'] as Array<{ path: string; rule: string }>).map((v) => `${v.path} ${v.rule}`)).toEqual(['/binding/connector reference', '/field unique']);
  });

  it('lets an officer register only their own department\'s resources', async () => {
    const res = await t.query(t.people['officer-rs']!, REGISTER, { r: resource() });
    expect(code(res)).toBe('FORBIDDEN');
  });

  it('registers a resource, and the schema serves it without a restart', async () => {
    const person = t.data.dibaoApplicants[0]!;
    const query = `{ access(purpose: "440000-MZB-001", caseId: "c-1", operator: "op") { person(idNumber: "${person}") { estateCount { propertyCount } } } }`;
    const before = await t.query(t.tokens.mz, query);
    expect(code(before)).toBe('GRAPHQL_VALIDATION_FAILED');

    const res = await t.query(t.people['officer-zr']!, REGISTER, { r: resource(), why: '新增汇总目录' });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!['registerResource']).toEqual({
      code: 'ZR-ESTATE-COUNT', field: 'estateCount', sharing: 'unconditional',
      items: [{ name: 'propertyCount', classification: 'personal', mask: 'none' }],
    });
    const catalogue = await t.query(t.tokens.mz, '{ catalogue(subject: person) { code } }');
    expect((catalogue.body.data!['catalogue'] as Array<{ code: string }>).map((r) => r.code)).toContain('ZR-ESTATE-COUNT');
    // 440000-MZB-001 lists the resources it may read; a new one is outside it until the purpose names it.
    const outside = await t.query(t.tokens.mz, query);
    expect(outside.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'OUTSIDE_PURPOSE' });

    const again = await t.query(t.people['officer-zr']!, REGISTER, { r: resource() });
    expect(code(again)).toBe('CONFLICT');
  });

  it('making a resource 不予共享 needs a legal basis', async () => {
    const bare = await t.query(t.people['officer-zr']!, UPDATE, { code: 'ZR-ESTATE-COUNT', r: resource({ sharing: 'none' }), why: '停止共享' });
    expect(code(bare)).toBe('BAD_USER_INPUT');
    expect(res(bare).violations).toEqual([{ path: '/legalBasis', rule: 'required', message: 'is required' }]);
    const cited = await t.query(t.people['officer-zr']!, UPDATE, { code: 'ZR-ESTATE-COUNT', r: resource({ sharing: 'none', legalBasis: '《不动产登记暂行条例》第二十八条' }), why: '停止共享' });
    expect(cited.body.errors).toBeUndefined();
    expect(cited.body.data!['updateResource']).toEqual({ code: 'ZR-ESTATE-COUNT', sharing: 'none', legalBasis: '《不动产登记暂行条例》第二十八条' });
    const changes = await adminRecordsFor(t.hubDb.db, 'ZR-ESTATE-COUNT');
    expect(changes.map((c) => [c.action, c.actor, c.reason])).toEqual([
      ['resource.register', 'zr-officer-huang', '新增汇总目录'],
      ['resource.update', 'zr-officer-huang', '停止共享'],
    ]);
  });
});

const res = (r: GraphQLResponse) => r.body.errors![0]!.extensions as { violations: unknown };

describe('data demands (需求清单)', () => {
  it('goes from the consumer to the admin to the provider, with status and history', async () => {
    const filed = await t.query(t.people['officer-mz']!, `mutation { fileDemand(input: { title: "低保对象公积金缴存信息", description: "核对家庭收入需要住房公积金月缴存额", purposes: ["${DIBAO}"] }) { id status consumer } }`);
    expect(filed.body.errors).toBeUndefined();
    const demand = filed.body.data!['fileDemand'] as { id: string; status: string; consumer: string };
    expect(demand).toMatchObject({ status: 'open', consumer: 'MZ' });

    const byOfficer = await t.query(t.people['officer-mz']!, 'mutation ($id: ID!) { assignDemand(id: $id, provider: "RS", reason: "x") { status } }', { id: demand.id });
    expect(code(byOfficer)).toBe('FORBIDDEN');
    const assigned = await t.query(t.people['admin']!, 'mutation ($id: ID!) { assignDemand(id: $id, provider: "RS", reason: "公积金归口人社厅协调") { status provider } }', { id: demand.id });
    expect(assigned.body.data!['assignDemand']).toEqual({ status: 'assigned', provider: 'RS' });

    const notProvider = await t.query(t.people['officer-ga']!, 'mutation ($id: ID!) { answerDemand(id: $id, answer: "x") { status } }', { id: demand.id });
    expect(code(notProvider)).toBe('NOT_FOUND');
    const answered = await t.query(t.people['officer-rs']!, 'mutation ($id: ID!) { answerDemand(id: $id, answer: "已协调公积金中心编目，预计下月发布") { status answer history { action actor version } } }', { id: demand.id });
    expect(answered.body.data!['answerDemand']).toEqual({
      status: 'answered', answer: '已协调公积金中心编目，预计下月发布',
      history: [{ action: 'file', actor: 'mz-officer-zhao', version: 1 }, { action: 'assign', actor: 'zw-platform-admin', version: 2 }, { action: 'answer', actor: 'rs-officer-wang', version: 3 }],
    });
    const listed = await t.query(t.people['officer-mz']!, '{ demands(filter: { status: answered }) { nodes { id } totalCount } }');
    expect(listed.body.data!['demands']).toEqual({ nodes: [{ id: demand.id }], totalCount: 1 });
  });
});
