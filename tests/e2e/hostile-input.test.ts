/**
 * Hostile input (issue 10), GraphQL level: generated documents (random, broken, deep, huge, wide,
 * cyclic) and variables (wrong types, NoSQL-operator-shaped values, SQL-injection strings) against
 * a real hub with the demo catalogue, property-based with fast-check (fixed seed: a failure prints
 * the seed and the shrunk counterexample). Raw-HTTP hostility is in hostile-http.test.ts.
 *
 * After every class: no 5xx, no internals in any body, every response that served data has its
 * access record, and a valid query is still served.
 */
import fc from 'fast-check';
import { getOperationAST, GraphQLError, Lexer, parse, Source, TokenKind, validate, type GraphQLSchema } from 'graphql';
import { searchAccess } from '../../audit/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaFor } from '../../gateway/schema.ts';
import { codesOf, internalsIn, send, servedData, servedWithoutRecord, type Sent } from '../support/hostile.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';

// HOSTILE_SEED=<n> explores other inputs; failures print the seed and the counterexample to reproduce.
const SEED = Number(process.env['HOSTILE_SEED'] ?? 20_261_110);
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

const NEWBORN = '440000-CSYJS-001';
const MAX_TOKENS = 5000; // the hub's default limits.maxTokens
const MAX_DEPTH = 8; // limits.maxDepth
const MAX_ALIASES = 30; // limits.maxAliases

let t: TestHub;
let schema: GraphQLSchema;
let child: string;
let mother: string;
/** Every response of the current class (checked and emptied by `afterwards`). */
let responses: Sent[] = [];

beforeAll(async () => {
  t = await startTestHub();
  schema = schemaFor(t.hub.runtime.catalogue);
  ({ child, mother } = t.data.births[0]!);
});
afterAll(async () => {
  await t?.close();
});

/** Sends, keeps the response for `afterwards`, and checks what holds for every hostile request. */
async function hit(body: unknown, options: { token?: string; echoed?: readonly string[] } = {}): Promise<Sent> {
  const r = await send(t.url, options.token ?? t.tokens.zw, body);
  responses.push(r);
  expect(r.status).toBeLessThan(500);
  expect(internalsIn(r.text, options.echoed)).toEqual([]);
  expect(r.body?.errors?.every((e) => typeof e.extensions?.['code'] === 'string') ?? true).toBe(true);
  return r;
}

const NEWBORN_QUERY = `query Newborn($child: String!, $mother: String!) {
  access(purpose: "${NEWBORN}", caseId: "CSYJS-2026-1", operator: "op-1") {
    child: person(idNumber: $child) { idNumber hukou { name gender } birthCertificate { certificateNo childName } }
    mother: person(idNumber: $mother) { socialInsurance { status } }
  }
}`;

/** The end of every class: all responses recorded where they served data, and the hub still serves. */
function afterwards(): void {
  it('afterwards: every response that served data has its access record, and a valid query is served', async () => {
    expect(await servedWithoutRecord(t, responses)).toEqual([]);
    responses = [];
    const r = await hit({ query: NEWBORN_QUERY, variables: { child, mother } });
    expect(r.status).toBe(200);
    expect(r.body?.errors).toBeUndefined();
    expect(servedData(r)).toBe(true);
    expect(await servedWithoutRecord(t, [r])).toEqual([]);
    responses = [];
  });
}

/** What graphql-js alone makes of a document against the hub's schema: the code the hub must answer. */
function expectedCode(query: string): 'GRAPHQL_PARSE_FAILED' | 'OPERATION_RESOLUTION_FAILURE' | 'GRAPHQL_VALIDATION_FAILED' | null {
  let document;
  try {
    document = parse(query, { maxTokens: MAX_TOKENS });
  } catch (error) {
    if (error instanceof GraphQLError) return 'GRAPHQL_PARSE_FAILED';
    throw error;
  }
  // yoga picks the operation before validating: none, or several and no operationName.
  if (!getOperationAST(document)) return 'OPERATION_RESOLUTION_FAILURE';
  return validate(schema, document).length > 0 ? 'GRAPHQL_VALIDATION_FAILED' : null;
}

/** The source text of each token of a document. */
function tokensOf(query: string): string[] {
  const lexer = new Lexer(new Source(query));
  const out: string[] = [];
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) out.push(query.slice(token.start, token.end));
  return out;
}

/** A valid document (`expected` null) is served without errors; an invalid one gets 400, that one code and no data. */
function answersAsGraphqlJs(r: Sent, expected: string | null): void {
  if (expected === null) {
    expect(r.status).toBe(200);
    expect(r.body?.errors).toBeUndefined();
    return;
  }
  expect(r.status).toBe(400);
  expect(new Set(codesOf(r))).toEqual(new Set([expected]));
  expect(r.body?.data ?? null).toBeNull();
}

describe('generated documents', () => {
  it('answers random text with GRAPHQL_PARSE_FAILED (400), or what graphql-js makes of it when it parses', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
      fc.array(fc.constantFrom(...'{}()[]:!$@.=|&"#\\ \n\tquery fragment on access person hukou __typename 1 -0.5e3 """'.split(/(?=[^a-z_])|(?<=[^a-z_])/)), { minLength: 1, maxLength: 60 }).map((a) => a.join('')),
    );
    await fc.assert(fc.asyncProperty(text, async (query) => {
      const expected = expectedCode(query);
      // Rare: the text happens to be a valid document (e.g. `{__typename}`).
      answersAsGraphqlJs(await hit({ query }, { echoed: [query] }), expected);
    }), runs(150));
  });

  it('answers an access query broken by deleting, duplicating or inserting tokens with the code graphql-js gives it', async () => {
    const tokens = tokensOf(NEWBORN_QUERY);
    const extra = ['{', '}', '(', ')', ':', '!', '$', '@', '...', '[', ']', '=', '|', '"x"', 'query', 'fragment', 'on', 'null', '1', '$x', '@skip', 'zz', '__typename', '#', '"""'];
    const mutation = fc.array(fc.oneof(
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), token: fc.constant('') }),
      fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), token: fc.constant('') }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), token: fc.constantFrom(...tokens, ...extra) }),
    ), { minLength: 1, maxLength: 3 });
    await fc.assert(fc.asyncProperty(mutation, async (ops) => {
      const mutated = [...tokens];
      for (const { op, at, token } of ops) {
        const i = at % (mutated.length + (op === 'insert' ? 1 : 0));
        if (op === 'delete') mutated.splice(i, 1);
        else if (op === 'duplicate') mutated.splice(i, 0, mutated[i]!);
        else mutated.splice(i, 0, token);
      }
      const query = mutated.join(' ');
      const expected = expectedCode(query);
      answersAsGraphqlJs(await hit({ query, variables: { child, mother } }), expected);
    }), runs(150));
  });

  it('refuses selections nested deeper than maxDepth with QUERY_TOO_COMPLEX alone', async () => {
    // Introspection (served to admin tokens here) is the schema's one unbounded nesting of valid fields.
    await fc.assert(fc.asyncProperty(fc.integer({ min: MAX_DEPTH - 3, max: 200 }), async (n) => {
      const query = `{ __schema { types { fields { type ${'{ ofType '.repeat(n)}{ name }${' }'.repeat(n)} } } } }`;
      const r = await hit({ query }, { token: t.people['admin']! });
      expect(r.status).toBe(400);
      expect(codesOf(r)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(r.body?.errors?.[0]?.message).toContain(`at most ${MAX_DEPTH}`);
    }), runs(40));
  });

  it('refuses a document beyond the token limit with GRAPHQL_PARSE_FAILED, however it is nested', async () => {
    const shape = fc.constantFrom(
      (n: number) => `${'{ a '.repeat(n)}${'}'.repeat(n)}`,
      (n: number) => `{ purposes { ${'code '.repeat(n)} } }`,
      (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    );
    await fc.assert(fc.asyncProperty(shape, fc.integer({ min: MAX_TOKENS, max: 40_000 }), async (make, n) => {
      const r = await hit({ query: make(n) });
      expect(r.status).toBe(400);
      expect(codesOf(r)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(r.body?.errors?.[0]?.message).toContain(`more than ${MAX_TOKENS} tokens`);
    }), runs(30));
  });

  it('refuses a body beyond maxBodyBytes with 413 PAYLOAD_TOO_LARGE before reading it', async () => {
    const max = t.config.limits.maxBodyBytes;
    await fc.assert(fc.asyncProperty(fc.integer({ min: max + 1, max: max * 3 }), async (size) => {
      const head = `{"query": "{ __typename } #`;
      const r = await hit(`${head}${'x'.repeat(size - head.length - 2)}"}`);
      expect(r.status).toBe(413);
      expect(codesOf(r)).toEqual(['PAYLOAD_TOO_LARGE']);
    }), runs(8));
  });

  it('refuses more aliases than maxAliases with QUERY_TOO_COMPLEX, before any department is asked', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: MAX_ALIASES + 1, max: 300 }), fc.boolean(), async (n, underAccess) => {
      const fields = Array.from({ length: n }, (_, i) => (underAccess ? `p${i}: person(idNumber: $child) { hukou { name } }` : `p${i}: __typename`)).join(' ');
      const query = underAccess ? `query ($child: String!) { access(purpose: "${NEWBORN}", caseId: "c-1", operator: "o") { ${fields} } }` : `{ ${fields} }`;
      const r = await hit({ query, variables: underAccess ? { child } : undefined });
      expect(r.status).toBe(400);
      expect(codesOf(r)).toEqual(['QUERY_TOO_COMPLEX']);
      expect(r.body?.errors?.[0]?.message).toContain(`${n} aliases`);
    }), runs(40));
  });

  it('refuses fragment cycles with GRAPHQL_VALIDATION_FAILED', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.boolean(), async (k, underAccess) => {
      const on = underAccess ? 'Access' : 'Query';
      const fragments = Array.from({ length: k }, (_, i) => `fragment F${i} on ${on} { __typename ...F${(i + 1) % k} }`).join('\n');
      const query = underAccess
        ? `{ access(purpose: "${NEWBORN}", caseId: "c-1", operator: "o") { ...F0 } }\n${fragments}`
        : `{ ...F0 }\n${fragments}`;
      const r = await hit({ query });
      expect(r.status).toBe(400);
      expect(new Set(codesOf(r))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
      expect(r.body?.errors?.[0]?.message).toMatch(/Cannot spread fragment "F\d+" within itself/);
    }), runs(40));
  });

  // Failed before the fix in useLimits.ts (depthAndAliasRule walked every spread: k = 22 took 5 s
  // of the event loop, k = 30 minutes, so the request never came back).
  it('refuses fragments that fan out exponentially (each spreading the next twice) with QUERY_TOO_COMPLEX, without expanding them', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 20, max: 60 }), fc.boolean(), async (k, aliased) => {
      // F0 holds F1 twice, F1 holds F2 twice …: 2^(k-1) copies of the leaf once expanded.
      const leaf = aliased ? 'leaf: __typename' : '__typename';
      const fragments = Array.from({ length: k }, (_, i) => `fragment F${i} on Query { ${i + 1 < k ? `...F${i + 1} ...F${i + 1}` : leaf} }`).join('\n');
      const r = await hit({ query: `{ ...F0 }\n${fragments}` });
      expect(r.status).toBe(400);
      expect(codesOf(r)).toEqual(['QUERY_TOO_COMPLEX']);
      // Aliased: the alias limit counts every copy. Not aliased: the copies would merge into one
      // field, but the cost estimate stops counting at its node limit.
      expect(r.body?.errors?.[0]?.message).toContain(aliased ? `uses ${2 ** (k - 1)} aliases` : 'too high to count');
    }), runs(20));
  });

  it('answers several anonymous operations with OPERATION_RESOLUTION_FAILURE', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 50 }), async (n) => {
      const r = await hit({ query: Array.from({ length: n }, () => '{ me { id } }').join(' ') });
      expect(r.status).toBe(400);
      expect(codesOf(r)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    }), runs(10));
  });

  it('answers unknown fields and directives in odd places with GRAPHQL_VALIDATION_FAILED', async () => {
    const odd = fc.constantFrom(
      `{ access(purpose: "${NEWBORN}", caseId: "c", operator: "o") { person(idNumber: "x") { passport { number } } } }`,
      '{ purposes @nope { code } }',
      'query @skip(if: true) { purposes { code } }',
      '{ purposes { code @include } }',
      '{ purposes { code @skip(if: "yes") } }',
      'fragment F on Query @deprecated { purposes { code } } { ...F }',
      '{ purposes { code @skip(if: true) @skip(if: false) } }',
      '{ __typename @specifiedBy(url: "x") }',
      'query ($v: String @skip(if: true)) { purposes { code } }',
      'subscription { purposes { code } }',
      'mutation { purposes { code } }',
      '{ catalogue(subject: martian) { code } }',
      '{ catalogue(subject: "person") { code } }',
      '{ purposes }',
      '{ me { id { deeper } } }',
    );
    await fc.assert(fc.asyncProperty(odd, fc.constantFrom(t.tokens.zw, t.tokens.mz, t.people['officer-mz']!), async (query, token) => {
      const r = await hit({ query }, { token });
      expect(r.status).toBe(400);
      expect(new Set(codesOf(r))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    }), runs(48));
  });

  afterwards();
});

/** Values of a JSON type other than string, never a string or a list of strings. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 })), { minLength: 1, maxLength: 4 }),
  fc.object({ maxDepth: 2, maxKeys: 4 }),
);
/** NoSQL-operator-shaped values where strings are expected. */
const operatorShaped = fc.oneof(
  fc.constantFrom<unknown>({ $gt: '' }, { $ne: null }, { $where: 'sleep(1000) || true' }, { $regex: '.*' }, { $in: ['a', 'b'] }, { $exists: true }, { $expr: { $eq: [1, 1] } }, { $or: [{ a: 1 }, { b: { $gt: '' } }] }),
  fc.dictionary(fc.string({ maxLength: 8 }).map((s) => `$${s}`), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }),
);
/** SQL-injection and other classic attack strings: strings, so they pass GraphQL's coercion. */
const attackString = fc.oneof(
  fc.constantFrom("' OR 1=1 --", '" OR ""="', "1'; DROP TABLE hukou; --", '\u0000', "' UNION SELECT name, id_number FROM hukou --", "admin'--", "1' OR '1'='1' /*", "' OR sleep(5)#",
    '${jndi:ldap://127.0.0.1/a}', '../../etc/passwd', '<script>alert(1)</script>', '{"$gt": ""}', '\uFEFF\u202E', '1 OR 1', '4401061980010100\u0000X'),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom("'", '"', ';', '/*', '\u0000', '\\', '%', '`'), fc.string({ maxLength: 20 })).map(([a, b, c]) => `${a}${b}${c}`),
);
const hugeString = fc.integer({ min: 10_000, max: 300_000 }).map((n) => '9'.repeat(n));

const statement = { purpose: NEWBORN, caseId: 'CSYJS-2026-9', operator: 'op-9' };
const ACCESS = (args = 'purpose: $purpose, caseId: $caseId, operator: $operator') => `access(${args})`;
const PERSON_QUERY = `query ($purpose: String, $caseId: String, $operator: String, $consentRef: String, $id: String!) {
  ${ACCESS('purpose: $purpose, caseId: $caseId, operator: $operator, consentRef: $consentRef')} { person(idNumber: $id) { hukou { name } } } }`;
const PERSONS_QUERY = `query ($purpose: String, $caseId: String, $operator: String, $ids: [String!]!) { ${ACCESS()} { persons(idNumbers: $ids) { hukou { name } } } }`;
const VERIFY_QUERY = `query ($purpose: String, $caseId: String, $operator: String, $resource: String!, $key: String!, $claims: Claims!) {
  ${ACCESS()} { verify(resource: $resource, key: $key, claims: $claims) { match mismatched } } }`;

describe('hostile variables', () => {
  const good = () => ({ ...statement, id: child, ids: [child, mother], resource: 'WJ-BIRTH-CERT', key: child, claims: { childName: '张三' } });
  const queryFor = (name: string) => (name === 'ids' ? PERSONS_QUERY : ['resource', 'key', 'claims'].includes(name) ? VERIFY_QUERY : PERSON_QUERY);
  const variablesFor = (query: string, name: string, value: unknown) => {
    const all: Record<string, unknown> = { ...good(), [name]: value };
    // Only the variables the query declares: an undeclared one is ignored, not hostile.
    return Object.fromEntries(Object.entries(all).filter(([k]) => query.includes(`$${k}:`)));
  };
  const coerced = (r: Sent) => {
    // A variable that does not coerce: refused before execution, no data, no path.
    // One error per value that does not coerce (each element of a list).
    expect(new Set(codesOf(r))).toEqual(new Set(['BAD_USER_INPUT']));
    expect(r.body?.errors?.[0]?.message).toMatch(/^Variable "\$\w+" (?:got invalid value|of non-null type "[\w![\]]+" must not be null)/);
    expect(r.body?.data).toBeUndefined();
  };

  it('refuses a value of the wrong type for every variable with BAD_USER_INPUT before execution', async () => {
    const names = fc.constantFrom('purpose', 'caseId', 'operator', 'consentRef', 'id', 'resource', 'key', 'claims', 'ids');
    await fc.assert(fc.asyncProperty(names, fc.oneof(notAString, operatorShaped), async (name, value) => {
      // A Claims object of scalars is a valid value; a non-object or an object holding objects is not.
      fc.pre(!(name === 'claims' && typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => v === null || typeof v !== 'object')));
      const query = queryFor(name);
      coerced(await hit({ query, variables: variablesFor(query, name, value) }));
    }), runs(150));
  });

  it('refuses null for a non-null variable with BAD_USER_INPUT, and a missing purpose statement with PURPOSE_REQUIRED', async () => {
    for (const name of ['id', 'ids', 'resource', 'key', 'claims']) {
      const query = queryFor(name);
      coerced(await hit({ query, variables: variablesFor(query, name, null) }));
    }
    await fc.assert(fc.asyncProperty(fc.constantFrom('purpose', 'caseId', 'operator'), fc.constantFrom(null, '', '   ', '\t\n'), async (name, value) => {
      const r = await hit({ query: PERSON_QUERY, variables: variablesFor(PERSON_QUERY, name, value) });
      expect(codesOf(r)).toEqual(['PURPOSE_REQUIRED']);
      expect(r.body?.data).toEqual({ access: null });
    }), runs(24));
  });

  it('refuses attack strings and huge strings as purpose with PURPOSE_INVALID', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(attackString, hugeString).filter((s) => s.trim() !== '' && !t.hub.runtime.purposes.has(s.trim())), async (purpose) => {
      const r = await hit({ query: PERSON_QUERY, variables: { ...good(), purpose } }, { echoed: [purpose, purpose.trim()] });
      expect(codesOf(r)).toEqual(['PURPOSE_INVALID']);
      expect(r.body?.data).toEqual({ access: null });
    }), runs(60));
  });

  it('records a refused statement bounded: a 300 000-character purpose or case number is neither echoed nor stored whole', async () => {
    const purpose = '9'.repeat(300_000);
    const r = await hit({ query: PERSON_QUERY, variables: { ...good(), purpose } });
    expect(codesOf(r)).toEqual(['PURPOSE_INVALID']);
    expect(r.text.length).toBeLessThan(2_000);
    // A character cut in two at the bound is left out whole.
    const caseId = `${'c'.repeat(127)}\u{1F600}${'c'.repeat(299_000)}`;
    const c = await hit({ query: PERSON_QUERY, variables: { ...good(), caseId } });
    expect(codesOf(c)).toEqual(['BAD_USER_INPUT']);
    await t.hub.runtime.audit.flush();
    const [byPurpose] = await searchAccess(t.hubDb.db, { requestId: r.requestId, limit: 10 });
    const [byCase] = await searchAccess(t.hubDb.db, { requestId: c.requestId, limit: 10 });
    expect([byPurpose!.code, byPurpose!.purpose, byCase!.code, byCase!.caseId]).toEqual([
      'PURPOSE_INVALID', `${'9'.repeat(128)}…(300000 characters)`, 'BAD_USER_INPUT', `${'c'.repeat(127)}…(299129 characters)`,
    ]);
  });

  // Failed before the fix (gateway/consumer/access.ts, gateway/evidence.ts, audit/writer.ts): the
  // refusal's record held the lone surrogate, which has no canonical JSON; the audit writer threw
  // outside any request and the hub process died.
  it('refuses a lone surrogate in purpose, case number or operator with BAD_USER_INPUT, and records the refusal', async () => {
    for (const name of ['purpose', 'caseId', 'operator'] as const) {
      const value = `${statement[name]}\ud800`;
      const r = await hit({ query: PERSON_QUERY, variables: { ...good(), [name]: value } }, { echoed: [value] });
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.body?.errors?.[0]?.path).toEqual(['access']);
      expect(r.body?.data).toEqual({ access: null });
      await t.hub.runtime.audit.flush();
      const [recorded] = await searchAccess(t.hubDb.db, { requestId: r.requestId, limit: 10 });
      expect([recorded!.code, recorded![name]]).toEqual(['BAD_USER_INPUT', `${statement[name]}\ufffd`]);
    }
    // Where a lone surrogate is compared or hashed, not recorded, it is a value like any other.
    const key = t.data.persons[60]!.idNumber;
    const claimed = await hit({ query: VERIFY_QUERY, variables: { ...good(), key, claims: { childName: '张\ud800' } } });
    expect(claimed.body).toEqual({ data: { access: { verify: { match: false, mismatched: ['childName'] } } } });
    const id = await hit({ query: PERSON_QUERY, variables: { ...good(), id: `${child.slice(0, -1)}\ud800` } });
    expect(codesOf(id)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses attack strings as case number, operator or consent reference with BAD_USER_INPUT at access', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('caseId', 'operator', 'consentRef'), attackString.filter((s) => s.trim() !== ''), async (name, value) => {
      const r = await hit({ query: PERSON_QUERY, variables: { ...good(), [name]: value } });
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      expect(r.body?.errors?.[0]?.path).toEqual(['access']);
      expect(r.body?.data).toEqual({ access: null });
    }), runs(60));
  });

  it('refuses attack strings and huge strings as ID numbers, subject keys and resource codes with BAD_USER_INPUT', async () => {
    const target = fc.constantFrom('id', 'ids', 'key', 'resource');
    await fc.assert(fc.asyncProperty(target, fc.oneof(attackString, hugeString), async (name, value) => {
      const query = queryFor(name);
      const r = await hit({ query, variables: variablesFor(query, name, name === 'ids' ? [child, value] : value) }, { echoed: [value] });
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
      const field = name === 'id' ? 'person' : name === 'ids' ? 'persons' : 'verify';
      expect(r.body?.errors?.[0]?.path).toEqual(['access', field]);
      expect(r.body?.data).toEqual({ access: { [field]: null } });
    }), runs(60));
  });

  it('refuses claims naming operators or prototype properties with BAD_USER_INPUT', async () => {
    const key = fc.oneof(fc.string({ maxLength: 10 }).map((s) => `$${s}`), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '$where'));
    await fc.assert(fc.asyncProperty(key, fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()), async (name, value) => {
      const claims = JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`) as Record<string, unknown>;
      const r = await hit({ query: VERIFY_QUERY, variables: { ...good(), claims } });
      expect(codesOf(r)).toEqual(['BAD_USER_INPUT']);
    }), runs(40));
  });

  it('compares attack strings as claimed values like any other value: no match, recorded', async () => {
    // A subject of its own each time: verification attempts are limited per subject and day.
    let next = 10;
    await fc.assert(fc.asyncProperty(attackString, async (value) => {
      const key = t.data.persons[next++]!.idNumber;
      const r = await hit({ query: VERIFY_QUERY, variables: { ...good(), key, claims: { childName: value } } });
      expect(r.body).toEqual({ data: { access: { verify: { match: false, mismatched: ['childName'] } } } });
    }), runs(30));
  });

  it('refuses variables nested thousands deep with BAD_USER_INPUT', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom('id', 'ids', 'claims', 'purpose'), fc.integer({ min: 1000, max: 50_000 }), async (name, depth) => {
      // Written out by hand: JSON.stringify itself overflows the stack on such values.
      const [open, close] = name === 'claims' ? ['{"childName":', '}'] : ['[', ']'];
      const value = `${open.repeat(depth)}"x"${close.repeat(depth)}`;
      const query = queryFor(name);
      const variables = JSON.stringify(variablesFor(query, name, 'PLACEHOLDER')).replace('"PLACEHOLDER"', value);
      coerced(await hit(`{"query": ${JSON.stringify(query)}, "variables": ${variables}}`));
    }), runs(12));
  });

  afterwards();
});

describe('a hub that accepts long documents (limits.maxTokens 100000, the most the config allows)', () => {
  let big: TestHub;
  beforeAll(async () => {
    big = await startTestHub({ config: { limits: { maxTokens: 100_000 } } });
  });
  afterAll(async () => {
    await big?.close();
  });

  // Failed before the fix in useLimits.ts (parseWithin): graphql-js's recursive parser overflowed
  // the stack, and yoga answered 500 INTERNAL_SERVER_ERROR "Unexpected error.".
  it('refuses values and selections nested too deeply to parse with GRAPHQL_PARSE_FAILED (400), not a 500', async () => {
    const shape = fc.constantFrom(
      (n: number) => `{ purposes(x: ${'['.repeat(n)}1${']'.repeat(n)}) { code } }`,
      (n: number) => `{ purposes(x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}) { code } }`,
      (n: number) => `${'{ a '.repeat(n)}${'}'.repeat(n)}`,
    );
    await fc.assert(fc.asyncProperty(shape, fc.integer({ min: 20_000, max: 24_000 }), async (make, n) => {
      const r = await send(big.url, big.tokens.zw, { query: make(n) });
      expect(r.status).toBe(400);
      expect(internalsIn(r.text)).toEqual([]);
      expect(codesOf(r)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(r.body?.errors?.[0]?.message).toBe('The document is nested too deeply to parse.');
    }), runs(12));
    const after = await send(big.url, big.tokens.zw, { query: NEWBORN_QUERY, variables: { child, mother } });
    expect(after.body?.errors).toBeUndefined();
    expect(await servedWithoutRecord(big, [after])).toEqual([]);
  });
});
