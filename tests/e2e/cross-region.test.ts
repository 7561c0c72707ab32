/**
 * 跨域通办: hub A serves resources that hub B (another region) shares. A calls B as B's registered
 * peer-hub system, over B's GraphQL API; both hubs on loopback, each with its own MongoDB database.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess, type AccessRecord } from '../../audit/index.ts';
import { createConnector, type ResilientConnector } from '../../connectors/index.ts';
import { issueToken } from '../../gateway/credentials.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { errorsAt, startTestHub, type TestHub } from '../support/hub.ts';

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';

let b: TestHub;
let a: TestHub;
let catalogueA: CatalogueCopy;
let catalogueB: CatalogueCopy;
let proxy: Server;
/** GraphQL calls that reached B through the proxy A uses. */
let callsToB = 0;

/** A loopback proxy in front of B that counts the calls A makes. */
async function countingProxy(target: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'POST') callsToB++;
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
      request(`${target()}${req.url ?? '/'}`, { method: req.method as 'POST', headers, body: parts.length ? Buffer.concat(parts) : null })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json') });
          res.end(body);
        })
        .catch(() => { res.writeHead(502); res.end(); });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(async () => {
  // B: registers A as a peer hub (department KY), accepts KY for 出生一件事, grants KY part of the birth certificate.
  catalogueB = await copyDemoCatalogue();
  await catalogueB.edit('departments.yaml', (t) => `${t}- { code: KY, name: 外省政务数据共享平台（跨域通办）, region: "450000" }\n`);
  await catalogueB.edit('systems.yaml', (t) => `${t}- { code: peer-hub-a, name: 外省一网共享枢纽, department: KY, peerHub: true }\n`);
  await catalogueB.edit('purposes.yaml', (t) => t.replace('departments: [ZW, GA]', 'departments: [ZW, GA, KY]').replace('departments: [SJ, ZW]', 'departments: [SJ, ZW, KY]'));
  await catalogueB.edit('grants.yaml', (t) => `${t}- id: G-2026-9001
  resource: WJ-BIRTH-CERT
  consumer: KY
  purposes: ["${CSYJS}"]
  items:
    - { name: certificateNo, access: clear }
    - { name: childName, access: clear }
    - { name: motherName, access: masked }
  validFrom: "2026-01-01"
  validUntil: "2028-12-31"
  approvedBy: WJ 数据专员 李*
  reason: 跨域通办
`);
  b = await startTestHub({ catalogueDir: catalogueB.dir });
  const tokenAtB = await issueToken(b.hub.runtime.db, { kind: 'system', id: 'peer-hub-a', department: 'KY' }, 'test');
  proxy = await countingProxy(() => b.url.replace(/\/graphql$/, ''));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;

  // A: B's hukou and birth certificate as resources of its own, provided by department YD.
  catalogueA = await copyDemoCatalogue();
  await catalogueA.edit('departments.yaml', (t) => `${t}- { code: YD, name: 外省公安与卫健（经跨域通办）, region: "440000" }\n`);
  await catalogueA.edit('connectors.yaml', (t) => `${t}remote-b:\n  kind: hub\n  url: \${REMOTE_B_URL}\n  tokenEnv: REMOTE_B_TOKEN\n  timeoutMs: 3000\n`);
  await catalogueA.write('resources/yd-hukou.yaml', `code: YD-HUKOU
name: 外省户籍信息（跨域）
field: remoteHukou
provider: YD
summary: 经跨域通办从外省枢纽查询的户籍信息。
subject: person
level: important
sharing: unconditional
updateFrequency: realtime
binding: { connector: remote-b, dataset: hukou, keyField: idNumber }
items:
  - { name: name, title: 姓名, type: string, classification: personal, mask: name }
  - { name: gender, title: 性别, type: string, classification: personal }
  - { name: birthDate, title: 出生日期, type: date, classification: personal }
`);
  await catalogueA.write('resources/yd-birth-cert.yaml', `code: YD-BIRTH-CERT
name: 外省出生医学证明（跨域）
field: remoteBirthCertificate
provider: YD
summary: 经跨域通办从外省枢纽查询的出生医学证明。
subject: person
level: important
sharing: conditional
updateFrequency: realtime
binding: { connector: remote-b, dataset: birthCertificate, keyField: idNumber }
items:
  - { name: certificateNo, title: 出生医学证明编号, type: string, classification: personal }
  - { name: childName, title: 新生儿姓名, type: string, classification: personal, mask: name }
  - { name: motherName, title: 母亲姓名, type: string, classification: personal, mask: name }
  - { name: fatherName, title: 父亲姓名, type: string, classification: personal, mask: name }
`);
  await catalogueA.write('resources/yd-licence.yaml', `code: YD-LICENCE
name: 外省营业执照信息（跨域）
field: remoteLicence
provider: YD
summary: 经跨域通办从外省枢纽查询的营业执照信息。
subject: enterprise
level: general
sharing: unconditional
updateFrequency: realtime
binding: { connector: remote-b, dataset: businessLicence, keyField: creditCode }
items:
  - { name: name, title: 企业名称, type: string, classification: public }
  - { name: status, title: 登记状态, type: string, classification: public }
`);
  await catalogueA.edit('purposes.yaml', (t) => t
    .replace('resources: [SJ-LICENCE]', 'resources: [SJ-LICENCE, YD-LICENCE]')
    .replace('resources: [WJ-BIRTH-CERT, GA-HUKOU,', 'resources: [YD-HUKOU, YD-BIRTH-CERT, WJ-BIRTH-CERT, GA-HUKOU,')
    .replace('resources: [GA-HUKOU, RS-SOCIAL-INSURANCE, YB-MEDICAL-INSURANCE, ZR-REAL-ESTATE', 'resources: [YD-HUKOU, GA-HUKOU, RS-SOCIAL-INSURANCE, YB-MEDICAL-INSURANCE, ZR-REAL-ESTATE'));
  await catalogueA.edit('grants.yaml', (t) => `${t}- id: G-2026-9101
  resource: YD-BIRTH-CERT
  consumer: ZW
  purposes: ["${CSYJS}"]
  items:
    - { name: certificateNo, access: clear }
    - { name: childName, access: clear }
    - { name: motherName, access: clear }
    - { name: fatherName, access: clear }
  validFrom: "2026-01-01"
  validUntil: "2028-12-31"
  approvedBy: YD 数据专员 赵*
  reason: 跨域通办
`);
  a = await startTestHub({ catalogueDir: catalogueA.dir, env: { REMOTE_B_URL: proxyUrl, REMOTE_B_TOKEN: tokenAtB } });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await catalogueA?.remove();
  await catalogueB?.remove();
});

async function auditOf(t: TestHub, requestId: string): Promise<AccessRecord[]> {
  await t.hub.runtime.audit.flush();
  return searchAccess(t.hubDb.db, { requestId, limit: 1000 });
}

describe('a resource of another region’s hub', () => {
  it('is served through B as B serves it, and both hubs record the access under one request id', async () => {
    const person = b.data.persons[0]!;
    const res = await a.query(a.tokens.zw, `query ($id: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-KY-1", operator: "op-7") {
      person(idNumber: $id) { remoteHukou { name gender birthDate } } } }`, { id: person.idNumber });
    expect(res.body.errors).toBeUndefined();
    // B masks the name by its default mask; A's policy (unconditional, same mask) keeps it so.
    expect(res.body.data).toEqual({ access: { person: { remoteHukou: { name: `${Array.from(person.name)[0]}${'*'.repeat(Array.from(person.name).length - 1)}`, gender: person.gender, birthDate: person.birthDate } } } });
    const requestId = res.headers.get('x-request-id')!;
    const [atA] = await auditOf(a, requestId);
    expect(atA).toMatchObject({ system: 'zw-yichuang', department: 'ZW', resource: 'YD-HUKOU', provider: 'YD', purpose: CSYJS, caseId: 'CSYJS-KY-1', operator: 'op-7', decision: 'allow' });
    const atB = await auditOf(b, requestId);
    expect(atB).toHaveLength(1);
    expect(atB[0]).toMatchObject({ system: 'peer-hub-a', department: 'KY', onBehalfOf: 'ZW/zw-yichuang', resource: 'GA-HUKOU', purpose: CSYJS, caseId: 'CSYJS-KY-1', operator: 'op-7', decision: 'allow' });
  });

  it('asks B once per resource for a batch of persons', async () => {
    const ids = b.data.persons.slice(1, 6).map((p) => p.idNumber);
    const before = callsToB;
    const res = await a.query(a.tokens.mz, `query ($ids: [String!]!) { access(purpose: "${DIBAO}", caseId: "DB-KY-2", operator: "op-8") {
      persons(idNumbers: $ids) { idNumber remoteHukou { gender } } } }`, { ids });
    // B does not accept KY for 最低生活保障: every subject gets B's refusal, asked in one call.
    expect(callsToB - before).toBe(1);
    const errors = errorsAt(res.body, 'access', 'persons');
    expect(errors).toHaveLength(5);
    expect(new Set(errors.map((e) => e.extensions?.['code']))).toEqual(new Set(['PURPOSE_INVALID']));
  });

  it('passes B’s refusal of the purpose on as the same refusal, recorded by both hubs', async () => {
    const id = b.data.persons[0]!.idNumber;
    const direct = await b.query(await issueToken(b.hub.runtime.db, { kind: 'system', id: 'peer-hub-a', department: 'KY' }, 'test'),
      `query ($id: String!) { access(purpose: "${DIBAO}", caseId: "DB-KY-3", operator: "op-8") { person(idNumber: $id) { hukou { gender } } } }`, { id });
    const directCode = direct.body.errors?.[0]?.extensions?.['code'];
    const res = await a.query(a.tokens.mz, `query ($id: String!) { access(purpose: "${DIBAO}", caseId: "DB-KY-3", operator: "op-8") {
      person(idNumber: $id) { remoteHukou { gender } } } }`, { id });
    const [error] = errorsAt(res.body, 'access', 'person', 'remoteHukou');
    expect(directCode).toBe('PURPOSE_INVALID');
    expect(error?.extensions?.['code']).toBe('PURPOSE_INVALID');
    expect(res.body.data).toEqual({ access: { person: { remoteHukou: null } } });
    const requestId = res.headers.get('x-request-id')!;
    expect((await auditOf(a, requestId)).map((r) => [r.resource, r.decision, r.code])).toEqual([['YD-HUKOU', 'deny', 'PURPOSE_INVALID']]);
    expect((await auditOf(b, requestId)).map((r) => [r.action, r.decision, r.code, r.onBehalfOf])).toEqual([['access', 'deny', 'PURPOSE_INVALID', 'MZ/mz-dibao']]);
  });

  it('serves the items B grants, as B masks them, and refuses item by item what B refuses', async () => {
    const birth = b.data.births[0]!;
    const res = await a.query(a.tokens.zw, `query ($id: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-KY-4", operator: "op-7") {
      person(idNumber: $id) { remoteBirthCertificate { certificateNo childName motherName fatherName } } } }`, { id: birth.child });
    const record = (res.body.data as { access: { person: { remoteBirthCertificate: Record<string, unknown> } } }).access.person.remoteBirthCertificate;
    const child = b.data.persons.find((p) => p.idNumber === birth.child)!;
    expect(record['childName']).toBe(child.name);
    expect(record['motherName']).toMatch(/^\p{Script=Han}\*+$/u);
    expect(record['fatherName']).toBeNull();
    const [refused] = errorsAt(res.body, 'access', 'person', 'remoteBirthCertificate', 'fatherName');
    const direct = await b.query(await issueToken(b.hub.runtime.db, { kind: 'system', id: 'peer-hub-a', department: 'KY' }, 'test'),
      `query ($id: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-KY-4", operator: "op-7") { person(idNumber: $id) { birthCertificate { fatherName } } } }`, { id: birth.child });
    expect(direct.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect(refused?.extensions?.['code']).toBe('FORBIDDEN');
    const [atA] = await auditOf(a, res.headers.get('x-request-id')!);
    expect(atA).toMatchObject({ resource: 'YD-BIRTH-CERT', decision: 'partial', itemsReturned: ['certificateNo', 'childName', 'motherName'], itemsRefused: ['fatherName'], code: 'FORBIDDEN' });
  });

  it('asks for enterprises too: two in one request are one remote call', async () => {
    const [first, second] = b.data.enterprises;
    const before = callsToB;
    const res = await a.query(a.tokens.zw, `query ($x: String!, $y: String!) { access(purpose: "440000-QYKB-001", caseId: "QYKB-KY-1", operator: "op-9") {
      x: enterprise(creditCode: $x) { remoteLicence { name status } } y: enterprise(creditCode: $y) { remoteLicence { name status } } } }`, { x: first, y: second });
    expect(res.body.errors).toBeUndefined();
    expect(callsToB - before).toBe(1);
    const direct = await b.query(b.tokens.sj, `query ($x: String!, $y: String!) { access(purpose: "440000-QYKB-001", caseId: "QYKB-KY-1", operator: "op-9") {
      x: enterprise(creditCode: $x) { businessLicence { name status } } y: enterprise(creditCode: $y) { businessLicence { name status } } } }`, { x: first, y: second });
    const at = (body: typeof res.body) => (body.data as { access: Record<string, Record<string, unknown>> }).access;
    expect(at(res.body)['x']!['remoteLicence']).toEqual(at(direct.body)['x']!['businessLicence']);
    expect(at(res.body)['y']!['remoteLicence']).toEqual(at(direct.body)['y']!['businessLicence']);
    expect(at(res.body)['x']!['remoteLicence']).toMatchObject({ name: expect.any(String) });
  });

  it('refuses onBehalfOf from a system that is not a registered peer hub', async () => {
    const res = await b.query(b.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "c-1", operator: "op-1", onBehalfOf: { department: "GA", system: "x" }) { caseId } }`);
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('answers UPSTREAM_UNAVAILABLE when B cannot be reached, and serves A’s own resources beside it', async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    proxy.closeAllConnections();
    const person = a.data.persons[0]!;
    const res = await a.query(a.tokens.zw, `query ($id: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-KY-5", operator: "op-7") {
      person(idNumber: $id) { hukou { gender } remoteHukou { gender } } } }`, { id: person.idNumber });
    expect(errorsAt(res.body, 'access', 'person', 'remoteHukou').map((e) => e.extensions?.['code'])).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(res.body.data).toEqual({ access: { person: { hukou: { gender: person.gender }, remoteHukou: null } } });
  });
});

describe('the hub connector’s retries', () => {
  it('are none by default (a repeated call would be recorded and charged there again); the catalogue may set some', () => {
    const context = { baseDir: process.cwd(), env: { T: 'token' } };
    const plain = createConnector('x', { kind: 'hub', url: 'http://127.0.0.1:9/graphql', tokenEnv: 'T' }, context) as ResilientConnector;
    const retried = createConnector('y', { kind: 'hub', url: 'http://127.0.0.1:9/graphql', tokenEnv: 'T', retry: { retries: 2 } }, context) as ResilientConnector;
    const rest = createConnector('z', { kind: 'rest', baseUrl: 'http://127.0.0.1:9' }, context) as ResilientConnector;
    expect([plain.settings.retry.retries, retried.settings.retry.retries, rest.settings.retry.retries]).toEqual([0, 2, 2]);
    return Promise.all([plain.close(), retried.close(), rest.close()]);
  });
});
