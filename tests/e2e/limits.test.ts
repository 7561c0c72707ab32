/**
 * Bad input gets a clear error code and never a stack trace: malformed bodies and documents, wrong
 * variables, queries too deep or too wide, oversized bodies, invalid upstream data.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorsAt, startTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ config: { limits: { maxDepth: 6, maxAliases: 5, maxTokens: 400, maxBodyBytes: 4096 } } });
});
afterAll(async () => {
  await t?.close();
});

async function raw(body: string, contentType = 'application/json') {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${t.tokens.zw}` }, body });
  return { status: res.status, text: await res.text() };
}

const noStack = (text: string) => expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/);

describe('malformed requests', () => {
  it('answers malformed JSON with a 400 and no stack trace', async () => {
    const r = await raw('{"query": ');
    expect(r.status).toBe(400);
    noStack(r.text);
  });

  it('answers a GraphQL syntax error with GRAPHQL_PARSE_FAILED', async () => {
    const r = await t.query(t.tokens.zw, '{ access(purpose: "x" { person }');
    expect(r.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
    noStack(JSON.stringify(r.body));
  });

  it('answers an unknown field with GRAPHQL_VALIDATION_FAILED', async () => {
    const r = await t.query(t.tokens.zw, '{ access(purpose: "p", caseId: "c", operator: "o") { person(idNumber: "x") { passport { number } } } }');
    expect(r.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers variables of the wrong type with BAD_USER_INPUT', async () => {
    const r = await t.query(t.tokens.zw, 'query ($ids: [String!]!) { access(purpose: "p", caseId: "c", operator: "o") { persons(idNumbers: $ids) { idNumber } } }', { ids: 42 });
    expect(r.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('refuses claims that are not an object of scalars', async () => {
    const { child } = t.data.births[0]!;
    const r = await t.query(t.tokens.zw, `{ access(purpose: "440000-CSYJS-001", caseId: "c", operator: "o") { verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherName: ["a"] }) { match } } }`);
    expect(r.body.errors?.[0]?.extensions?.['code']).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect(r.body.errors?.[0]?.message).toMatch(/claims/);
  });

  it('refuses verification of an unknown resource', async () => {
    const { child } = t.data.births[0]!;
    const r = await t.query(t.tokens.zw, `{ access(purpose: "440000-CSYJS-001", caseId: "c", operator: "o") { verify(resource: "NOPE", key: "${child}", claims: { a: "b" }) { match } } }`);
    expect(r.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('not catalogued') });
  });
});

describe('limits', () => {
  it('refuses a query nested deeper than maxDepth', async () => {
    const deep = await t.query(t.tokens.zw, '{ __schema { types { fields { type { ofType { ofType { name } } } } } } }');
    expect(deep.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' }, message: expect.stringContaining('at most 6') });
  });

  it('refuses more aliases than maxAliases', async () => {
    const fields = Array.from({ length: 6 }, (_, i) => `p${i}: purposes { code }`).join(' ');
    const r = await t.query(t.tokens.zw, `{ ${fields} }`);
    expect(r.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX' }, message: expect.stringContaining('6 aliases') });
  });

  it('refuses a document with too many tokens', async () => {
    const r = await t.query(t.tokens.zw, `{ purposes { ${'code '.repeat(400)} } }`);
    expect(r.body.errors?.[0]?.message).toMatch(/tokens/);
  });

  it('refuses an oversized body with 413', async () => {
    const r = await raw(JSON.stringify({ query: `{ purposes { code } } # ${'x'.repeat(5000)}` }));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

it('refuses operations sent by GET, keeping identifiers out of URLs', async () => {
  const url = `${t.url}?query=${encodeURIComponent('{ purposes { code } }')}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${t.tokens.zw}` } });
  expect(res.status).toBe(405);
  expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('METHOD_NOT_ALLOWED');
});

it('serves GraphiQL to a browser when enabled', async () => {
  const other = await startTestHub({ config: { server: { host: '127.0.0.1', port: 0, graphiql: true } } });
  try {
    const res = await fetch(other.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('一网共享');
  } finally {
    await other.close();
  }
  const off = await fetch(t.url, { headers: { accept: 'text/html' } });
  expect(await off.text()).not.toContain('graphiql');
});

it('refuses a chunked body without Content-Length with 411', async () => {
  const { request } = await import('node:http');
  const url = new URL(t.url);
  const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.zw}`, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write('{"query": "{ purposes { code } }"');
    req.end('}');
  });
  expect(result.status).toBe(411);
  expect(JSON.parse(result.body).errors[0].extensions.code).toBe('LENGTH_REQUIRED');
});

describe('upstream data', () => {
  it('withholds an item whose upstream value breaks its type, reporting UPSTREAM_INVALID', async () => {
    const id = '44010619800101003X'.slice(0, 17);
    const check = (s: string) => '10X98765432'[[...s].reduce((a, c, i) => a + Number(c) * [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2][i]!, 0) % 11]!;
    const subject = id + check(id);
    await appendFile(join(t.departments.env['DEMO_FILES_DIR']!, 'real_estate.csv'), `${subject},many,88.5\n`);
    const r = await t.query(t.tokens.mz, `{ access(purpose: "440000-DIBAO-001", caseId: "c", operator: "o") { person(idNumber: "${subject}") { realEstate { propertyCount totalArea } } } }`);
    expect(r.body.data).toEqual({ access: { person: { realEstate: { propertyCount: null, totalArea: 88.5 } } } });
    const errors = errorsAt(r.body, 'access', 'person', 'realEstate', 'propertyCount');
    expect(errors[0]?.extensions).toMatchObject({ code: 'UPSTREAM_INVALID', item: 'propertyCount' });
    expect(JSON.stringify(r.body)).not.toContain('many');
  });

  it('answers verification of a subject without a record as no match', async () => {
    const r = await t.query(t.tokens.zw, '{ access(purpose: "440000-CSYJS-001", caseId: "c", operator: "o") { verify(resource: "WJ-BIRTH-CERT", key: "11010519491231002X", claims: { childName: "张三" }) { match mismatched } } }');
    expect(r.body.data).toEqual({ access: { verify: { match: false, mismatched: ['childName'] } } });
  });

  it('serves an enterprise by credit code', async () => {
    const code = t.data.enterprises[0]!;
    const r = await t.query(t.tokens.sj, `{ access(purpose: "440000-QYKB-001", caseId: "KB-1", operator: "o") { enterprise(creditCode: "${code}") { creditCode businessLicence { name status registeredCapital legalRepresentative } } } }`);
    expect(r.body.errors).toBeUndefined();
    const licence = (r.body.data!['access'] as { enterprise: { businessLicence: Record<string, unknown> } }).enterprise.businessLicence;
    expect(typeof licence['registeredCapital']).toBe('number');
    expect(licence['legalRepresentative']).toMatch(/^\p{Script=Han}\*+$/u);
    const bad = await t.query(t.tokens.sj, `{ access(purpose: "440000-QYKB-001", caseId: "KB-1", operator: "o") { enterprise(creditCode: "91350100M000100Y44") { creditCode } } }`);
    expect(bad.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('credit code') });
  });
});
