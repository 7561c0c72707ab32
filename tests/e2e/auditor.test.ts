/**
 * Auditors search, read and verify the trail through the API; data subjects see who used their
 * data, when and why, through the citizen portal, with confidential purposes hidden until their
 * period ends or an auditor discloses them.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_COLLECTION, parseCheckpointText, storedTree, verifyInclusion } from '../../audit/index.ts';
import { goVerify } from '../support/go-verifier.ts';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

let t: TestHub;
const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';
const GAJC = '440000-GAJC-001';

beforeAll(async () => {
  t = await startTestHub();
  const { child, mother } = t.data.births[0]!;
  // The mother: read under 出生一件事 (served), refused once (no grant), and read under a confidential purpose.
  await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "CSYJS-A-1", operator: "zw-op-1") { person(idNumber: "${mother}") { socialInsurance { status } } } }`);
  await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "CSYJS-A-2", operator: "zw-op-1") { person(idNumber: "${mother}") { vehicles { vehicleCount } } } }`);
  await t.query(t.tokens.ga, `{ access(purpose: "${GAJC}", caseId: "GA-2026-001", operator: "ga-investigator-9") { person(idNumber: "${mother}") { hukou { gender } } } }`);
  await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "CSYJS-A-3", operator: "zw-op-2") { person(idNumber: "${child}") { hukou { gender } } } }`);
  await t.query(t.tokens.mz, `{ access(purpose: "${DIBAO}", caseId: "DB-A-1", operator: "mz-op-1") { persons(idNumbers: ${JSON.stringify(t.data.dibaoApplicants.slice(0, 3))}) { hukou { gender } } } }`);
  await t.hub.runtime.audit.flush();
  await t.hub.runtime.audit.log.checkpoint();
});
afterAll(async () => {
  await t?.close();
});

const SEARCH = `query ($f: AuditFilter, $first: Int, $after: String) {
  auditRecords(filter: $f, first: $first, after: $after) { nodes { id kind at system operator purpose caseId resource decision code denial subject action } pageInfo { endCursor hasNextPage } } }`;
type Node = { id: string; system: string; purpose: string; caseId: string; decision: string; code: string | null; resource: string };
const nodes = (res: GraphQLResponse): Node[] => {
  expect(res.body.errors).toBeUndefined();
  return (res.body.data!['auditRecords'] as { nodes: Node[] }).nodes;
};

describe('the auditor', () => {
  it('searches by system, purpose, decision and refusal code, newest first', async () => {
    const zw = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { system: 'zw-yichuang' } }));
    expect(zw.map((n) => n.caseId)).toEqual(['CSYJS-A-3', 'CSYJS-A-2', 'CSYJS-A-1']);
    const denied = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { decision: 'deny', code: 'FORBIDDEN' } }));
    expect(denied.map((n) => [n.caseId, n.resource])).toEqual([['CSYJS-A-2', 'GA-VEHICLE']]);
    const dibao = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { purpose: DIBAO, operator: 'mz-op-1' } }));
    expect(dibao).toHaveLength(3);
  });

  it('searches by data subject: the hub hashes the ID number, and records only the hash of what was searched', async () => {
    const { mother } = t.data.births[0]!;
    const found = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { idNumber: mother } }));
    expect(found.map((n) => n.caseId)).toEqual(['GA-2026-001', 'CSYJS-A-2', 'CSYJS-A-1']);
    const searches = await t.hubDb.db.collection(ADMIN_COLLECTION).find({ action: 'audit.search', actor: 'audit-office-01' }).toArray();
    expect(searches.length).toBeGreaterThan(0);
    expect(JSON.stringify(searches)).not.toContain(mother);
    const bad = await t.query(t.people['auditor']!, SEARCH, { f: { idNumber: '440106199001011230' } });
    expect(bad.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('pages with cursors', async () => {
    const all = nodes(await t.query(t.people['auditor']!, SEARCH, { first: 100 }));
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResponse = await t.query(t.people['auditor']!, SEARCH, { first: 2, after });
      const page = res.body.data!['auditRecords'] as { nodes: Node[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
      seen.push(...page.nodes.map((n) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((n) => n.id));
    const badCursor = await t.query(t.people['auditor']!, SEARCH, { after: 'nonsense' });
    expect(badCursor.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('reads one record with an inclusion proof that verifies against the signed checkpoint', async () => {
    const [first] = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { caseId: 'CSYJS-A-1' } }));
    const res = await t.query(t.people['auditor']!, 'query ($id: ID!) { auditRecord(id: $id) { record { id caseId } proof { checkpoint treeSize index leafHash path } } }', { id: first!.id });
    expect(res.body.errors).toBeUndefined();
    const { record, proof } = res.body.data!['auditRecord'] as { record: { id: string }; proof: { checkpoint: string; treeSize: number; index: number; leafHash: string; path: string[] } };
    expect(record.id).toBe(first!.id);
    const checkpoint = parseCheckpointText(proof.checkpoint.slice(0, proof.checkpoint.indexOf('\n\n') + 1));
    expect(checkpoint.size).toBe(proof.treeSize);
    expect(verifyInclusion(Buffer.from(proof.leafHash, 'base64'), proof.index, proof.treeSize, proof.path.map((p) => Buffer.from(p, 'base64')), checkpoint.root)).toBe(true);
  });

  it('gives an outside verifier all it needs: the record’s canonical JSON, its proof, the checkpoint and the public key (Go’s sumdb accepts them)', async () => {
    const [first] = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { caseId: 'CSYJS-A-1' } }));
    const res = await t.query(t.people['auditor']!, 'query ($id: ID!) { auditRecord(id: $id) { record { caseId } proof { checkpoint index leafHash canonicalRecord path } } }', { id: first!.id });
    const { record, proof } = res.body.data!['auditRecord'] as { record: { caseId: string }; proof: { checkpoint: string; index: number; leafHash: string; canonicalRecord: string; path: string[] } };
    expect(JSON.parse(proof.canonicalRecord)).toMatchObject({ caseId: record.caseId, seq: proof.index });
    expect(createHash('sha256').update(Buffer.of(0)).update(proof.canonicalRecord, 'utf8').digest('base64')).toBe(proof.leafHash);
    const key = await (await fetch(new URL('/audit/key', t.url))).text();
    expect(await goVerify({ key: key.trim(), checkpoint: proof.checkpoint, record: proof.canonicalRecord, index: proof.index, proof: proof.path })).toBe('ok');
  }, 240_000);

  it('verifies the trail, and lists administrative changes', async () => {
    const res = await t.query(t.people['auditor']!, '{ verifyAuditTrail { ok logs { log records problems { kind } } } }');
    // The access log of this hub, then the administrative log (every search above is in it).
    expect(res.body.data!['verifyAuditTrail']).toMatchObject({ ok: true, logs: [{ log: t.hub.runtime.audit.log.origin, problems: [] }, { log: 'admin', problems: [] }] });
    const admin = nodes(await t.query(t.people['auditor']!, `query { auditRecords(filter: { kind: admin, actor: "audit-office-01" }, first: 5) { nodes { id kind action } pageInfo { hasNextPage } } }`.replace('nodes { id kind action }', 'nodes { id kind action system operator purpose caseId resource decision code }')));
    expect(admin.length).toBeGreaterThan(0);
  });

  it('counts accesses per day by department and decision, computed in the database', async () => {
    const today = t.hub.runtime.today();
    const res = await t.query(t.people['auditor']!, 'query ($d: String!) { auditStatistics(from: $d, to: $d, by: [department, decision]) { day department decision count } }', { d: today });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!['auditStatistics']).toEqual([
      { day: today, department: 'GA', decision: 'allow', count: 1 },
      { day: today, department: 'MZ', decision: 'allow', count: 3 },
      { day: today, department: 'ZW', decision: 'allow', count: 2 },
      { day: today, department: 'ZW', decision: 'deny', count: 1 },
    ]);
    const byPurpose = await t.query(t.people['auditor']!, 'query ($d: String!) { auditStatistics(from: $d, to: $d, by: [purpose]) { purpose count } }', { d: today });
    expect(byPurpose.body.data!['auditStatistics']).toEqual([
      { purpose: '440000-CSYJS-001', count: 3 },
      { purpose: '440000-DIBAO-001', count: 3 },
      { purpose: '440000-GAJC-001', count: 1 },
    ]);
    const bad = await t.query(t.people['auditor']!, '{ auditStatistics(from: "2026-11-30", to: "2026-11-01") { count } }');
    expect(bad.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('is the only one (with the admin) who may read the trail', async () => {
    for (const token of [t.tokens.zw, t.people['officer-rs']!, t.people['portal']!]) {
      expect((await t.query(token, SEARCH, {})).body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    }
    expect((await t.query(t.people['admin']!, SEARCH, {})).body.errors).toBeUndefined();
  });
});

describe('the data subject, through the portal', () => {
  const LOG = `query ($id: String!) { subjectAccessLog(idNumber: $id) { nodes { at department departmentName purpose purposeName legalBasis resource resourceName action } pageInfo { hasNextPage } } }`;

  it('sees which department used which data, when and why; never refusals, operators, cases or systems', async () => {
    const { mother } = t.data.births[0]!;
    const res = await t.query(t.people['portal']!, LOG, { id: mother });
    expect(res.body.errors).toBeUndefined();
    const entries = (res.body.data!['subjectAccessLog'] as { nodes: Array<Record<string, string>> }).nodes;
    // The confidential GA read is hidden; the refused vehicle read is not an access.
    expect(entries.map((e) => [e.department, e.purpose, e.resource, e.action])).toEqual([['ZW', CSYJS, 'RS-SOCIAL-INSURANCE', 'read']]);
    expect(entries[0]).toMatchObject({ departmentName: '广东省政务服务和数据管理局', resourceName: expect.stringContaining('社会保险'), legalBasis: expect.stringContaining('国办发') });
    const text = JSON.stringify(entries);
    for (const hidden of ['zw-op-1', 'CSYJS-A-1', 'zw-yichuang']) expect(text).not.toContain(hidden);
    // The API itself offers no such fields.
    const probe = await t.query(t.people['portal']!, `query ($id: String!) { subjectAccessLog(idNumber: $id) { nodes { operator } } }`, { id: mother });
    expect(probe.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('sees a confidential access once an auditor discloses it, and the disclosure is recorded', async () => {
    const { mother } = t.data.births[0]!;
    const [ga] = nodes(await t.query(t.people['auditor']!, SEARCH, { f: { purpose: GAJC } }));
    expect((await t.query(t.people['officer-ga']!, 'mutation ($id: ID!) { discloseToSubject(id: $id, reason: "x") }', { id: ga!.id })).body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    expect((await t.query(t.people['auditor']!, 'mutation ($id: ID!) { discloseToSubject(id: $id, reason: " ") }', { id: ga!.id })).body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    const done = await t.query(t.people['auditor']!, 'mutation ($id: ID!) { discloseToSubject(id: $id, reason: "案件已撤销，依申请告知") }', { id: ga!.id });
    expect(done.body.data).toEqual({ discloseToSubject: true });
    const res = await t.query(t.people['portal']!, LOG, { id: mother });
    const entries = (res.body.data!['subjectAccessLog'] as { nodes: Array<Record<string, string>> }).nodes;
    expect(entries.map((e) => e.purpose)).toEqual([GAJC, CSYJS]);
    const records = await t.hubDb.db.collection(ADMIN_COLLECTION).find({ action: 'audit.disclose' }).toArray();
    expect(records.map((r) => [r['actor'], r['target'], r['reason']])).toEqual([['audit-office-01', ga!.id, '案件已撤销，依申请告知']]);
  });

  it('is for the portal only', async () => {
    const { mother } = t.data.births[0]!;
    for (const token of [t.tokens.zw, t.people['auditor']!, t.people['officer-ga']!]) {
      expect((await t.query(token, LOG, { id: mother })).body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    }
  });
});

describe('a hub keeping its log\'s stored tree filled (audit.treeFillSeconds)', () => {
  it('brings it up to the log\'s records on its timer, without a proof asking', async () => {
    const hub = await startTestHub({ config: { audit: { treeFillSeconds: 0.2 } } });
    try {
      const { mother } = hub.data.births[0]!;
      for (let i = 0; i < 3; i++) {
        const res = await hub.query(hub.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "CSYJS-F-${i}", operator: "zw-op-1") { person(idNumber: "${mother}") { socialInsurance { status } } } }`);
        expect(res.body.errors).toBeUndefined();
      }
      await hub.hub.runtime.audit.flush();
      const log = hub.hub.runtime.audit.log;
      const deadline = Date.now() + 10_000;
      let end = 0;
      while (end < log.nextSeq && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        end = (await storedTree(hub.hubDb.db, log.origin)).end;
      }
      expect(end).toBe(log.nextSeq);
    } finally {
      await hub.close();
    }
  });
});
