/**
 * Observability over HTTP: exact Prometheus counts after a known sequence of requests, one OTLP
 * span tree per request sent to a loopback collector, and one log line per request that holds no
 * ID number, credit code or token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess, type AccessRecord } from '../../audit/index.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

const CSYJS = '440000-CSYJS-001';
const DIBAO = '440000-DIBAO-001';
const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdef';

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Array<{ key: string; value: Record<string, unknown> }> }

let t: TestHub;
const lines: string[] = [];
const spans: OtlpSpan[] = [];
let collector: Server;

beforeAll(async () => {
  // A loopback OTLP/HTTP collector (JSON encoding, as @opentelemetry/exporter-trace-otlp-http sends).
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  t = await startTestHub({
    config: { tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}/v1/traces` } },
    env: { HUB_METRICS_TOKEN: METRICS_TOKEN },
    logger: createLogger('debug', sink),
  });
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => collector?.close(resolve));
});

const metricsUrl = () => t.url.replace(/\/graphql$/, '/metrics');
async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample (`name{labels} value`), 0 when absent. Labels must be given in registry order. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const prefix = wanted ? `${name}{${wanted}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(prefix.length)) : 0;
}

/** Every sample of a metric, as label sets and values. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

const requestIds: string[] = [];
const idOf = (res: GraphQLResponse) => {
  const id = res.headers.get('x-request-id')!;
  requestIds.push(id);
  return id;
};

describe('a known sequence of requests', () => {
  let before: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    before = await scrape();
    const { child, mother } = t.data.births[0]!;
    const applicant = t.data.dibaoApplicants.find((id) => t.data.mongo.renshe['social_insurance']!.some((r) => r['idNumber'] === id))!;
    // 1. a combined read, all served (operation Births)
    const births = await t.query(t.tokens.zw, `query Births($child: String!, $mother: String!) {
      access(purpose: "${CSYJS}", caseId: "OBS-1", operator: "op-1") {
        child: person(idNumber: $child) { hukou { gender } medicalInsurance { status } }
        mother: person(idNumber: $mother) { socialInsurance { status } }
      } }`, { child, mother });
    expect(births.body.errors).toBeUndefined();
    ids['births'] = idOf(births);
    // 2. an unknown token (operation Refused)
    const refused = await t.query('ywgx_this-token-was-never-issued-by-the-hub', `query Refused { access(purpose: "${CSYJS}", caseId: "c", operator: "o") { person(idNumber: "${child}") { hukou { name } } } }`);
    expect(refused.status).toBe(401);
    ids['refused'] = idOf(refused);
    // 3. a verification (operation Verify)
    const verify = await t.query(t.tokens.zw, `query Verify { access(purpose: "${CSYJS}", caseId: "OBS-3", operator: "op-1") {
      verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "${mother}" }) { match } } }`);
    expect(verify.body.data).toEqual({ access: { verify: { match: true } } });
    ids['verify'] = idOf(verify);
    // 4. an anonymous read with one item refused (partial)
    const partial = await t.query(t.tokens.mz, `{ access(purpose: "${DIBAO}", caseId: "OBS-4", operator: "mz-op") {
      person(idNumber: "${applicant}") { socialInsurance { status employer } } } }`);
    expect(partial.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    ids['partial'] = idOf(partial);
    // 5. an operation by GET, rejected before GraphQL runs
    const rejected = await fetch(`${t.url}?query=${encodeURIComponent('{ catalogue { code } }')}`);
    expect(rejected.status).toBe(405);
    ids['rejected'] = rejected.headers.get('x-request-id')!;
    requestIds.push(ids['rejected']);
    await t.hub.runtime.audit.flush();
  });

  it('refuses scrapes without the metrics token', async () => {
    expect((await fetch(metricsUrl())).status).toBe(401);
    expect((await fetch(metricsUrl(), { headers: { authorization: 'Bearer not-the-token-at-all-000' } })).status).toBe(401);
    expect((await fetch(metricsUrl(), { method: 'POST', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(405);
  });

  it('counts GraphQL requests by operation and outcome, exactly', async () => {
    const text = await scrape();
    const delta = (labels: Record<string, string>) => sample(text, 'hub_graphql_requests_total', labels) - sample(before, 'hub_graphql_requests_total', labels);
    expect(delta({ operation: 'Births', outcome: 'ok' })).toBe(1);
    expect(delta({ operation: 'Refused', outcome: 'refused' })).toBe(1);
    expect(delta({ operation: 'Verify', outcome: 'ok' })).toBe(1);
    expect(delta({ operation: 'anonymous', outcome: 'partial' })).toBe(1);
    expect(delta({ operation: 'anonymous', outcome: 'rejected' })).toBe(1);
    const total = (s: string) => samples(s, 'hub_graphql_requests_total').reduce((n, x) => n + x.value, 0);
    expect(total(text) - total(before)).toBe(5);
    expect(sample(text, 'hub_graphql_request_duration_seconds_count', { operation: 'Births', outcome: 'ok' })).toBe(1);
  });

  it('counts access decisions exactly as the evidence records them', async () => {
    const text = await scrape();
    const records: AccessRecord[] = [];
    for (const id of Object.values(ids)) records.push(...await searchAccess(t.hubDb.db, { requestId: id, limit: 1000 }));
    expect(records.length).toBeGreaterThanOrEqual(4);
    const expected = new Map<string, number>();
    for (const r of records) {
      const key = JSON.stringify({ action: r.action, decision: r.decision, code: r.code ?? 'none', resource: r.resource ?? 'none' });
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    for (const [key, count] of expected) {
      const labels = JSON.parse(key) as Record<string, string>;
      expect(sample(text, 'hub_access_decisions_total', labels) - sample(before, 'hub_access_decisions_total', labels), key).toBe(count);
    }
    // Records written: the block histogram and the counter agree with the writer.
    expect(sample(text, 'hub_audit_records_written_total')).toBe(t.hub.runtime.audit.written);
    expect(sample(text, 'hub_audit_block_records_sum')).toBe(t.hub.runtime.audit.written);
    expect(sample(text, 'hub_audit_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'hub_audit_queue_depth')).toBe(0);
    expect(sample(text, 'hub_audit_failures_total')).toBe(0);
  });

  it('counts department calls per connector, with circuit state and cache ages', async () => {
    const text = await scrape();
    const connectorOf = new Map(t.catalogue.resources.map((r) => [r.code, r.binding.connector]));
    // One batched call per (request, resource) that was served or verified.
    const calls = new Map<string, Set<string>>();
    for (const id of Object.values(ids)) {
      for (const r of await searchAccess(t.hubDb.db, { requestId: id, limit: 1000 })) {
        if (r.decision === 'deny' || !r.resource) continue;
        const connector = connectorOf.get(r.resource)!;
        calls.set(connector, (calls.get(connector) ?? new Set()).add(`${id}|${r.resource}`));
      }
    }
    expect(calls.size).toBeGreaterThanOrEqual(3);
    for (const [connector, set] of calls) {
      const count = (s: string) => sample(s, 'hub_upstream_request_duration_seconds_count', { connector, outcome: 'ok' });
      expect(count(text) - count(before), connector).toBe(set.size);
    }
    for (const entry of t.catalogue.connectors) expect(sample(text, 'hub_upstream_circuit_state', { connector: entry.name })).toBe(0);
    expect(samples(text, 'hub_upstream_errors_total')).toEqual([]);
    expect(sample(text, 'hub_grants_cache_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'hub_grants_cache_age_seconds')).toBeLessThan(120);
    expect(text).toContain('hub_token_cache_age_seconds ');
    expect(sample(text, 'hub_token_cache_entries')).toBeGreaterThan(0);
    // Quota units of this process: the DIBAO read is charged to its grant.
    expect(samples(text, 'hub_quota_units_total').some((s) => s.labels['result'] === 'granted' && s.value > 0)).toBe(true);
    // Labels never carry a subject.
    for (const p of t.data.persons) expect(text).not.toContain(p.idNumber);
  });

  it('sends one span tree per request: request → policy, connector calls, audit commits', async () => {
    await t.hub.runtime.tracing.flush();
    const root = spans.find((s) => s.name === 'hub.request' && s.attributes?.some((a) => a.key === 'hub.request_id' && a.value['stringValue'] === ids['births']));
    expect(root).toBeDefined();
    const tree = spans.filter((s) => s.traceId === root!.traceId);
    const children = tree.filter((s) => s.parentSpanId === root!.spanId);
    expect(new Set(children.map((s) => s.name))).toEqual(new Set(['hub.policy.decide', 'hub.connector.fetch', 'hub.audit.commit']));
    expect(children.filter((s) => s.name === 'hub.policy.decide')).toHaveLength(1);
    // hukou, medical insurance, social insurance: three resources, three department calls.
    expect(children.filter((s) => s.name === 'hub.connector.fetch')).toHaveLength(3);
    expect(children.filter((s) => s.name === 'hub.audit.commit').length).toBeGreaterThanOrEqual(3);
    expect(tree.every((s) => s === root || s.parentSpanId === root!.spanId)).toBe(true);
    // No subject key in any attribute of any span.
    const all = JSON.stringify(spans);
    for (const p of t.data.persons) expect(all).not.toContain(p.idNumber);
  });
});

describe('logs', () => {
  it('writes one line per request, and no ID number, credit code or token in any line', async () => {
    const { child, mother } = t.data.births[1]!;
    const enterprise = t.data.enterprises[0]!;
    // Officer actions: an application and its approval.
    const today = t.hub.runtime.today();
    const until = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`;
    const applied = await t.query(t.people['officer-ga']!, 'mutation Apply($input: ApplyInput!) { applyForAccess(input: $input) { id } }', {
      input: {
        resource: 'RS-SOCIAL-INSURANCE', items: [{ name: 'status', access: 'clear' }], purposes: [CSYJS], systems: ['ga-huji'],
        validFrom: today, validUntil: until, expectedDailyVolume: 10, maxBatch: 10, reason: '新生儿落户核对父母参保状态',
      },
    });
    expect(applied.body.errors).toBeUndefined();
    idOf(applied);
    const approved = await t.query(t.people['officer-rs']!, 'mutation Approve($id: ID!) { approveApplication(id: $id, terms: { perDay: 50 }) { grant { id } } }', {
      id: (applied.body.data!['applyForAccess'] as { id: string }).id,
    });
    expect(approved.body.errors).toBeUndefined();
    idOf(approved);
    // Consumer reads with identifiers inline and in variables, an enterprise, a refusal, a failed verification.
    idOf(await t.query(t.tokens.ga, `{ access(purpose: "${CSYJS}", caseId: "OBS-L1", operator: "op") { person(idNumber: "${mother}") { socialInsurance { status } } } }`));
    idOf(await t.query(t.tokens.zw, 'query Q($c: String!) { access(purpose: "440000-CSYJS-001", caseId: "OBS-L2", operator: "op") { person(idNumber: $c) { hukou { name } vehicles { vehicleCount } } } }', { c: child }));
    idOf(await t.query(t.tokens.sj, `{ access(purpose: "440000-QYKB-001", caseId: "OBS-L3", operator: "o") { enterprise(creditCode: "${enterprise}") { businessLicence { name } } } }`));
    idOf(await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "OBS-L4", operator: "op") { verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "110105194912310021" }) { match } } }`));
    idOf(await t.query(t.tokens.zw, `{ access(purpose: "${CSYJS}", caseId: "OBS-L5", operator: "op") { person(idNumber: "not-an-id-${child}") { hukou { name } } } }`));
    idOf(await t.query(t.people['auditor']!, '{ auditAnomalies(from: "2026-01-01", to: "2026-12-31") { recordCount } }'));
    await t.hub.runtime.audit.flush();

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const id of requestIds) {
      const mine = parsed.filter((l) => l['msg'] === 'request' && l['requestId'] === id);
      expect(mine, id).toHaveLength(1);
      expect(mine[0]).toMatchObject({ path: expect.any(String), status: expect.any(Number), durationMs: expect.any(Number) });
    }
    const births = parsed.find((l) => l['msg'] === 'request' && l['requestId'] === requestIds[0]);
    expect(births).toMatchObject({ operation: 'Births', outcome: 'ok', codes: [], status: 200, principal: 'system', system: 'zw-yichuang' });

    const secrets = [
      ...t.data.persons.map((p) => p.idNumber),
      ...t.data.enterprises,
      ...Object.values(t.tokens),
      ...Object.values(t.people),
      METRICS_TOKEN,
    ];
    const everything = lines.join('\n');
    for (const secret of secrets) expect(everything.includes(secret), `a log line holds ${secret.slice(0, 6)}…`).toBe(false);
  });
});
