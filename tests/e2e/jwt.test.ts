/**
 * JWTs of department identity providers (issue 10), verified with jose against each issuer's JWKS:
 * audience, expiry, clock skew, lifetime, the issuer's own department, key rotation without a
 * restart, and a stalled key server answered within its deadline. The identity providers are real
 * HTTP servers on loopback serving key sets the test makes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess } from '../../audit/index.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';

const CSYJS = '440000-CSYJS-001';
const ISSUER = 'https://idp.zw.example.gov.cn';
const STALLED = 'https://idp.stalled.example.gov.cn';
const FILED = 'https://idp.file.example.gov.cn';
const AUDIENCE = 'yiwang-hub';

interface SigningKey { readonly kid: string; readonly privateKey: CryptoKey; readonly jwk: JWK }

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

let idp: Server;
let stalled: Server;
let published: SigningKey[] = [];
let jwksFetches = 0;
let first: SigningKey;
let filed: SigningKey;
let dir: string;
let jwksFile: string;
let t: TestHub;

const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

interface Claims { iss?: string; aud?: string; sub?: string; iat?: number; exp?: number; nbf?: number }

/** A JWT with the given claims (defaults: a valid 5-minute token for zw-yichuang). */
function jwt(key: SigningKey, claims: Claims = {}, alg = 'ES256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const all = { iss: ISSUER, aud: AUDIENCE, sub: 'zw-yichuang', iat: now, exp: now + 300, ...claims };
  const { iss, aud, sub, iat, exp, nbf } = all;
  const builder = new SignJWT({}).setProtectedHeader({ alg, kid: key.kid });
  if (iss) builder.setIssuer(iss);
  if (aud) builder.setAudience(aud);
  if (sub) builder.setSubject(sub);
  if (iat !== undefined) builder.setIssuedAt(iat);
  if (exp !== undefined) builder.setExpirationTime(exp);
  if (nbf !== undefined) builder.setNotBefore(nbf);
  return builder.sign(key.privateKey);
}

const ask = (token: string) => t.query(token, `query ($child: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-JWT-1", operator: "op-jwt") { person(idNumber: $child) { hukou { gender } } } }`, { child: t.data.births[0]!.child });

async function refusal(token: string): Promise<{ status: number; code: unknown; message: string | undefined }> {
  const res = await ask(token);
  return { status: res.status, code: res.body.errors?.[0]?.extensions?.['code'], message: res.body.errors?.[0]?.message };
}

beforeAll(async () => {
  first = await signingKey('zw-2026-1');
  filed = await signingKey('file-1');
  published = [first];
  idp = createServer((req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  // Accepts the connection and never answers.
  stalled = createServer(() => undefined);
  const [idpUrl, stalledUrl] = await Promise.all([listen(idp), listen(stalled)]);
  dir = await mkdtemp(join(tmpdir(), 'hub-jwks-'));
  jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [filed.jwk] }));
  t = await startTestHub({
    config: {
      auth: {
        jwt: {
          issuers: [
            { issuer: ISSUER, department: 'ZW', jwksUri: `${idpUrl}/jwks.json`, audience: AUDIENCE, clockToleranceSeconds: 30, maxLifetimeSeconds: 3600, jwksCooldownSeconds: 0 },
            { issuer: STALLED, department: 'MZ', jwksUri: `${stalledUrl}/jwks.json`, audience: AUDIENCE, jwksTimeoutMs: 300 },
            { issuer: FILED, department: 'MZ', jwksFile, audience: AUDIENCE, systemClaim: 'azp' },
          ],
        },
      },
    },
  });
});

afterAll(async () => {
  await t?.close();
  stalled?.closeAllConnections();
  await Promise.all([idp, stalled].map((s) => new Promise((resolve) => s?.close(resolve))));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a system identified by its department identity provider\'s JWT', () => {
  it('serves a valid token and records the access as the system it names', async () => {
    const res = await ask(await jwt(first));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ access: { person: { hukou: { gender: expect.any(String) } } } });
    await t.hub.runtime.audit.flush();
    const records = await searchAccess(t.hubDb.db, { requestId: res.headers.get('x-request-id')!, limit: 10 });
    expect(records.map((r) => [r.system, r.department, r.credential])).toEqual([['zw-yichuang', 'ZW', 'jwt']]);
    const shown = await t.query(t.people['auditor']!, '{ auditRecords(filter: { caseId: "CSYJS-JWT-1", system: "zw-yichuang" }) { nodes { credential } } }');
    expect(shown.body.data!['auditRecords']).toMatchObject({ nodes: expect.arrayContaining([{ credential: 'jwt' }]) });
  });

  it('refuses a token for another audience', async () => {
    expect(await refusal(await jwt(first, { aud: 'another-service' }))).toEqual({ status: 401, code: 'UNAUTHENTICATED', message: expect.stringContaining('the JWT is not meant for this hub (aud)') });
  });

  it('accepts a token expired by less than the clock tolerance, and refuses one expired by more', async () => {
    const now = Math.floor(Date.now() / 1000);
    const skewed = await ask(await jwt(first, { iat: now - 100, exp: now - 10 }));
    expect(skewed.body.errors).toBeUndefined();
    expect(await refusal(await jwt(first, { iat: now - 200, exp: now - 60 }))).toEqual({ status: 401, code: 'UNAUTHENTICATED', message: expect.stringContaining('the JWT has expired') });
  });

  it('refuses a token not valid yet beyond the tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await refusal(await jwt(first, { nbf: now + 120 }))).message).toContain('the JWT is not valid yet (nbf)');
  });

  it('refuses a token without an expiry, or living longer than allowed', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await refusal(await jwt(first, { exp: undefined }))).message).toContain('the JWT\'s "exp" claim is not acceptable');
    expect((await refusal(await jwt(first, { iat: now, exp: now + 7200 }))).message).toContain('the JWT lives longer than 3600 s');
  });

  it('refuses an issuer it does not trust, and a system of another department than the issuer\'s', async () => {
    expect((await refusal(await jwt(first, { iss: 'https://idp.elsewhere.example' }))).message).toContain('the JWT names an issuer this hub does not trust');
    expect((await refusal(await jwt(first, { sub: 'mz-dibao' }))).message).toContain(`issuer ${ISSUER} speaks for department ZW; system "mz-dibao" belongs to another`);
    expect((await refusal(await jwt(first, { sub: 'no-such-system' }))).message).toContain('the JWT names system "no-such-system", which is not registered');
  });

  it('refuses a token signed by a key the issuer never published', async () => {
    const rogue = await signingKey('zw-2026-1');
    expect((await refusal(await jwt(rogue))).message).toContain('the JWT signature does not verify');
  });

  it('refuses an algorithm outside the allowed ones (an HMAC token keyed with the public key)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(first.jwk));
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: first.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('zw-yichuang').setIssuedAt(now).setExpirationTime(now + 60).sign(secret);
    expect((await refusal(forged)).message).toContain("the JWT's algorithm is not allowed");
  });
});

describe('rotation and key servers', () => {
  it('picks up a new signing key the identity provider publishes, without a restart', async () => {
    const next = await signingKey('zw-2026-2');
    const before = jwksFetches;
    published = [first, next];
    const res = await ask(await jwt(next));
    expect(res.body.errors).toBeUndefined();
    expect(jwksFetches).toBe(before + 1);
    // The old key still works while it is published.
    expect((await ask(await jwt(first))).body.errors).toBeUndefined();
  });

  it('answers IDENTITY_PROVIDER_UNAVAILABLE (503) within the key server deadline when it stalls', async () => {
    const key = await signingKey('stalled-1');
    const res = await ask(await jwt(key, { iss: STALLED, sub: 'mz-dibao' }));
    expect(res.status).toBe(503);
    expect(res.body.errors?.[0]?.extensions?.['code']).toBe('IDENTITY_PROVIDER_UNAVAILABLE');
    expect(res.headers.get('retry-after')).toBe('5');
  });

  it('re-reads a JWKS file on reload (SIGHUP)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: FILED, sub: undefined, iat: now, exp: now + 300 };
    const withAzp = async (key: SigningKey) => new SignJWT({ azp: 'mz-dibao' }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(claims.iss).setAudience(AUDIENCE).setIssuedAt(claims.iat).setExpirationTime(claims.exp).sign(key.privateKey);
    const dibao = (token: string) => t.query(token, `{ access(purpose: "440000-DIBAO-001", caseId: "DB-JWT-1", operator: "op") { person(idNumber: "${t.data.dibaoApplicants[0]!}") { hukou { gender } } } }`);
    expect((await dibao(await withAzp(filed))).body.errors).toBeUndefined();
    const replacement = await signingKey('file-2');
    await writeFile(jwksFile, JSON.stringify({ keys: [replacement.jwk] }));
    expect((await dibao(await withAzp(replacement))).status).toBe(401);
    await t.hub.server.reloadCredentials();
    expect((await dibao(await withAzp(replacement))).body.errors).toBeUndefined();
    expect((await dibao(await withAzp(filed))).status).toBe(401);
  });
});
