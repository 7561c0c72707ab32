/**
 * Abuse and limits: rate limits shared by instances (Redis), failed-authentication throttling per
 * client address, the store failing, estimated cost, introspection and suggestions, trusted documents.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentHash } from '../../gateway/limits/trustedDocuments.ts';
import { issueToken } from '../../gateway/credentials.ts';
import { postGraphQL, startTestHub, type GraphQLResponse, type TestHub } from '../support/hub.ts';

const REDIS = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = () => `test-${randomBytes(6).toString('hex')}`;
const code = (r: GraphQLResponse) => r.body.errors?.[0]?.extensions?.['code'];
const PING = '{ __typename }';

describe('rate limits shared by two instances (store redis)', () => {
  let t: TestHub;
  let b: string;
  beforeAll(async () => {
    t = await startTestHub({ config: { limits: { rate: { store: 'redis', redisUrl: REDIS, keyPrefix: prefix(), perSystem: { points: 5, durationSeconds: 60 }, perToken: { points: 8, durationSeconds: 30 } } } } });
    b = (await t.startInstance()).url;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('counts a system\'s requests on both instances together: the 6th of 5 is RATE_LIMITED with Retry-After', async () => {
    for (const url of [t.url, t.url, t.url, b, b]) expect(code(await postGraphQL(url, t.tokens.zw, PING))).toBeUndefined();
    const refused = await postGraphQL(b, t.tokens.zw, PING);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'perSystem' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(58);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.errors?.[0]?.extensions?.['retryAfterSeconds']).toBe(retryAfter);
    expect(refused.body.errors?.[0]?.message).toMatch(/at most 5 per 60 s/);
    expect(code(await postGraphQL(t.url, t.tokens.zw, PING))).toBe('RATE_LIMITED');
    // Another system has its own count.
    expect(code(await postGraphQL(b, t.tokens.mz, PING))).toBeUndefined();
  });

  it('admits exactly the limit when requests race on both instances', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => postGraphQL(i % 2 ? b : t.url, t.tokens.sj, PING)));
    expect(results.filter((r) => r.status === 200).length).toBe(5);
    expect(results.filter((r) => r.status === 429).length).toBe(11);
  });

  it('limits each token: officers (not systems) are bound only by perToken', async () => {
    const officer = t.people['officer-mz']!;
    for (let i = 0; i < 8; i++) expect(code(await postGraphQL(i % 2 ? b : t.url, officer, PING))).toBeUndefined();
    const refused = await postGraphQL(t.url, officer, PING);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'perToken' });
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    // A second token of the same officer has its own count.
    const second = await issueToken(t.hub.runtime.db, { kind: 'officer', id: 'officer-mz', department: 'MZ' }, 'test');
    expect(code(await postGraphQL(b, second, PING))).toBeUndefined();
  });
});

describe('failed authentications per client address', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ config: { limits: { rate: { store: 'redis', redisUrl: REDIS, keyPrefix: prefix(), failedAuth: { points: 3, durationSeconds: 60 } } } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses the address after 3 failures, before any token lookup, even with a valid token', async () => {
    const lookups = vi.spyOn(t.hub.runtime.authenticator, 'authenticateTokenHash');
    const bad = `ywgx_${randomBytes(32).toString('base64url')}`;
    for (let i = 0; i < 3; i++) {
      const r = await t.query(bad, PING);
      expect(r.status).toBe(401);
      expect(code(r)).toBe('UNAUTHENTICATED');
    }
    expect(lookups).toHaveBeenCalledTimes(3);
    const refused = await t.query(t.tokens.zw, PING);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'failedAuth' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(lookups).toHaveBeenCalledTimes(3);
    lookups.mockRestore();
  });
});

describe('failed authentications behind a trusted proxy (server.trustedProxies)', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ config: {
      server: { host: '127.0.0.1', port: 0, introspection: 'admin', trustedProxies: ['127.0.0.0/8'] },
      limits: { rate: { store: 'redis', redisUrl: REDIS, keyPrefix: prefix(), failedAuth: { points: 3, durationSeconds: 60 } } },
    } });
  });
  afterAll(async () => {
    await t?.close();
  });
  const from = async (forwardedFor: string, token: string) => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ query: PING }),
    });
    return { status: res.status, code: ((await res.json()) as GraphQLResponse['body']).errors?.[0]?.extensions?.['code'] };
  };

  it('counts them per client address the proxy reports, the right-most untrusted one, whatever the client prepends', async () => {
    const bad = `ywgx_${randomBytes(32).toString('base64url')}`;
    // The client claims to be 198.51.100.1; the proxy (127.0.0.1, trusted) appended the real 203.0.113.7.
    for (let i = 0; i < 3; i++) expect(await from(`198.51.100.1, 203.0.113.7, 127.0.0.2`, bad)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await from('203.0.113.7', t.tokens.zw)).toEqual({ status: 429, code: 'RATE_LIMITED' });
    // Another client behind the same proxy, and the address the first one pretended to be, are not blocked.
    expect(await from('203.0.113.8', t.tokens.zw)).toEqual({ status: 200, code: undefined });
    expect(await from('198.51.100.1', t.tokens.zw)).toEqual({ status: 200, code: undefined });
  });
});

describe('a rate-limit store that does not answer', () => {
  let blackhole: Server;
  const sockets = new Set<Socket>();
  let url: string;
  beforeAll(async () => {
    // Accepts connections and never answers: a stalled Redis.
    blackhole = createServer((socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    url = `redis://127.0.0.1:${(blackhole.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  it('onStoreFailure local: answers within the deadline and keeps counting in memory', async () => {
    const t = await startTestHub({ config: { limits: { rate: { store: 'redis', redisUrl: url, deadlineMs: 100, perSystem: { points: 2, durationSeconds: 60 } } } } });
    try {
      const started = Date.now();
      expect(code(await t.query(t.tokens.zw, PING))).toBeUndefined();
      expect(code(await t.query(t.tokens.zw, PING))).toBeUndefined();
      expect(code(await t.query(t.tokens.zw, PING))).toBe('RATE_LIMITED');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await t.close();
    }
  });

  it('onStoreFailure refuse: RATE_LIMIT_UNAVAILABLE (503) within the deadline', async () => {
    const t = await startTestHub({ config: { limits: { rate: { store: 'redis', redisUrl: url, deadlineMs: 100, onStoreFailure: 'refuse', perSystem: { points: 2, durationSeconds: 60 } } } } });
    try {
      const started = Date.now();
      const r = await t.query(t.tokens.zw, PING);
      expect(r.status).toBe(503);
      expect(code(r)).toBe('RATE_LIMIT_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await t.close();
    }
  });
});

describe('cost, introspection, suggestions and trusted documents', () => {
  let t: TestHub;
  let dir: string;
  const registered = 'query Ping { __typename }';
  const introspection = '{ __schema { queryType { name } } }';
  const persons = (n: number) => `{ access(purpose: "440000-DIBAO-001", caseId: "c", operator: "o") { persons(idNumbers: [${Array.from({ length: n }, (_, i) => `"${i}"`).join(',')}]) { idNumber hukou { name address } } } }`;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-trusted-'));
    const docs = [registered, introspection, persons(10), persons(20), 'query ($ids: [String!]!) { access(purpose: "440000-DIBAO-001", caseId: "c", operator: "o") { persons(idNumbers: $ids) { idNumber } } }'];
    const file = join(dir, 'trusted.yaml');
    await writeFile(file, JSON.stringify({
      documents: Object.fromEntries(docs.map((d) => [documentHash(d), d])),
      systems: { 'mz-dibao': docs.map(documentHash), 'zw-yichuang': [documentHash(registered), documentHash(introspection)] },
    }));
    t = await startTestHub({ config: { limits: { maxCost: 50 }, trustedDocuments: { mode: 'enforce', file } } });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a query whose estimated cost is over maxCost before executing it (QUERY_TOO_COMPLEX)', async () => {
    // access 1 + persons (1 + 20 × (idNumber 1 + hukou 1 + name 1 + address 1)) = 82
    const over = await t.query(t.tokens.mz, persons(20));
    expect(over.body.data).toBeUndefined();
    expect(over.body.errors).toHaveLength(1);
    expect(over.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX', cost: { estimated: 82, max: 50 } } });
    // 1 + 1 + 10 × 4 = 42: within the limit, executed.
    const within = await t.query(t.tokens.mz, persons(10));
    expect(within.body.data).toBeDefined();
    expect(JSON.stringify(within.body.errors ?? [])).not.toContain('QUERY_TOO_COMPLEX');
  });

  it('counts list sizes given in variables', async () => {
    const query = 'query ($ids: [String!]!) { access(purpose: "440000-DIBAO-001", caseId: "c", operator: "o") { persons(idNumbers: $ids) { idNumber } } }';
    const ids = Array.from({ length: 60 }, (_, i) => String(i));
    const r = await t.query(t.tokens.mz, query, { ids });
    expect(r.body.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COMPLEX', cost: { estimated: 62, max: 50 } } });
  });

  it('refuses introspection to a system token; serves it to an admin (introspection: admin)', async () => {
    // Registered for the system, so only the introspection rule refuses it.
    const system = await t.query(t.tokens.zw, introspection);
    expect(system.body.data).toBeUndefined();
    expect(system.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' }, message: expect.stringContaining('Introspection is switched off') });
    const admin = await t.query(t.people['admin']!, introspection);
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    // Asked again by the system: the admin's verdict is not served from yoga's validation cache.
    expect(code(await t.query(t.tokens.mz, introspection))).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('gives no "Did you mean" suggestions to callers who may not introspect', async () => {
    const system = await t.query(t.people['officer-mz']!, '{ purpose { code } }');
    expect(code(system)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(system.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    const admin = await t.query(t.people['admin']!, '{ purpose { code } }');
    expect(admin.body.errors?.[0]?.message).toMatch(/Did you mean/);
  });

  describe('trusted documents (enforce)', () => {
    it('accepts a registered operation by full text or by hash alone', async () => {
      const full = await t.query(t.tokens.zw, registered);
      expect(full.body).toEqual({ data: { __typename: 'Query' } });
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.zw}` },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(registered) } } }),
      });
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    });

    it('refuses an operation not registered for the system with OPERATION_NOT_TRUSTED (403)', async () => {
      const other = await t.query(t.tokens.zw, 'query Other { __typename }');
      expect(other.status).toBe(403);
      expect(other.body.errors?.[0]).toMatchObject({ extensions: { code: 'OPERATION_NOT_TRUSTED', hash: documentHash('query Other { __typename }') } });
      // Registered, but for another system.
      expect(code(await t.query(t.tokens.zw, persons(10)))).toBe('OPERATION_NOT_TRUSTED');
      // A system with no registered operation at all.
      expect(code(await t.query(t.tokens.sj, registered))).toBe('OPERATION_NOT_TRUSTED');
    });

    it('answers an unknown hash with PERSISTED_QUERY_NOT_FOUND', async () => {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.tokens.zw}` },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as GraphQLResponse['body']).errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_FOUND');
    });

    it('does not bind officers and admins', async () => {
      expect(await t.query(t.people['admin']!, 'query Other { __typename }').then((r) => r.body)).toEqual({ data: { __typename: 'Query' } });
    });

    it('takes a changed registration on reload (SIGHUP), without a restart; an unreadable file keeps the previous one', async () => {
      const other = 'query Other { __typename }';
      const file = join(dir, 'trusted.yaml');
      const before = JSON.parse(await readFile(file, 'utf8')) as { documents: Record<string, string>; systems: Record<string, string[]> };
      expect(code(await t.query(t.tokens.sj, other))).toBe('OPERATION_NOT_TRUSTED');
      await writeFile(file, JSON.stringify({ documents: { ...before.documents, [documentHash(other)]: other }, systems: { ...before.systems, 'sj-kaiban': [documentHash(other)] } }));
      await t.hub.server.reloadCredentials();
      expect((await t.query(t.tokens.sj, other)).body).toEqual({ data: { __typename: 'Query' } });
      await writeFile(file, 'documents: [');
      await expect(t.hub.server.reloadCredentials()).rejects.toThrow(/trusted\.yaml/);
      expect((await t.query(t.tokens.sj, other)).body).toEqual({ data: { __typename: 'Query' } });
    });
  });
});

it('trusted documents in log mode: serves an unregistered operation and logs its hash', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-trusted-'));
  const file = join(dir, 'trusted.yaml');
  await writeFile(file, 'documents: {}\nsystems: {}\n');
  const t = await startTestHub({ config: { trustedDocuments: { mode: 'log', file } } });
  try {
    const warn = vi.spyOn(t.hub.runtime.logger, 'warn');
    const r = await t.query(t.tokens.zw, 'query Other { __typename }');
    expect(r.body).toEqual({ data: { __typename: 'Query' } });
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ system: 'zw-yichuang', hash: documentHash('query Other { __typename }'), mode: 'log' }),
      expect.stringContaining('not registered'),
    );
    warn.mockRestore();
  } finally {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  }
});
