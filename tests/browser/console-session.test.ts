/**
 * The console's server side over plain HTTP: session endpoints, cookie flags, CSRF and origin checks,
 * revocation, static files. (No browser here; tests/browser/console.test.ts drives the pages.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.ts';
import { ensureConsoleBuilt } from './support.ts';

let t: TestHub;
let base: string;

beforeAll(async () => {
  ensureConsoleBuilt();
  t = await startTestHub();
  base = t.url.replace(/\/graphql$/, '');
}, 300_000);
afterAll(async () => {
  await t?.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(10_000) });

async function login(token: string) {
  const res = await post('/console/session', JSON.stringify({ token }));
  const cookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: cookie.split(';')[0]!, setCookie: cookie, csrf: body.csrfToken };
}

const graphql = (headers: Record<string, string>) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ me { id kind } }' }), signal: AbortSignal.timeout(10_000) });

describe('session endpoints', () => {
  it('answer a body that is not JSON with a JSON error and its code', async () => {
    const res = await post('/console/session', '{token');
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  });

  it('refuse an unknown token with INVALID_TOKEN', async () => {
    const res = await post('/console/session', JSON.stringify({ token: 'ywgx_not-a-real-token-at-all' }));
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 401, body: { error: { code: 'INVALID_TOKEN' } } });
  });

  it('set an HttpOnly, SameSite=Strict session cookie (not Secure over plain HTTP)', async () => {
    const { setCookie } = await login(t.people['auditor']!);
    expect(setCookie).toMatch(/^ywgx_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  });

  it('offer no one-click log-in outside the demo', async () => {
    const res = await post('/console/session/demo', JSON.stringify({ role: 'officer' }));
    expect((await res.json()) as unknown).toMatchObject({ error: { code: 'NO_DEMO_LOGIN' } });
  });
});

describe('requests with the session cookie', () => {
  it('are served with the session\'s CSRF token', async () => {
    const { cookie, csrf } = await login(t.people['officer-rs']!);
    const res = await graphql({ cookie, 'x-csrf-token': csrf });
    expect(await res.json()).toEqual({ data: { me: { id: 'rs-officer-wang', kind: 'officer' } } });
  });

  it('are refused without the CSRF token', async () => {
    const { cookie } = await login(t.people['officer-rs']!);
    const res = await graphql({ cookie });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 403, body: { errors: [{ extensions: { code: 'CSRF_REJECTED' } }] } });
  });

  it('are refused from another origin', async () => {
    const { cookie, csrf } = await login(t.people['officer-rs']!);
    const res = await graphql({ cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' });
    expect(res.status).toBe(403);
  });

  it('are refused once the token the session was opened with is revoked', async () => {
    const issued = await t.query(t.people['admin']!, `mutation { createToken(role: auditor, principalId: "audit-temp-01", label: "console test") { token credential { id } } }`);
    const { token, credential } = issued.body.data!['createToken'] as { token: string; credential: { id: string } };
    const { cookie, csrf } = await login(token);
    await t.query(t.people['admin']!, `mutation ($id: String!) { revokeToken(id: $id, reason: "test") }`, { id: credential.id });
    const res = await graphql({ cookie, 'x-csrf-token': csrf });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 401, body: { errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] } });
  });

  it('end at log-out', async () => {
    const { cookie, csrf } = await login(t.people['auditor']!);
    await fetch(`${base}/console/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf }, signal: AbortSignal.timeout(10_000) });
    expect((await graphql({ cookie, 'x-csrf-token': csrf })).status).toBe(401);
  });

  it('export the trail for an auditor', async () => {
    const { cookie, csrf } = await login(t.people['auditor']!);
    const res = await fetch(`${base}/audit/export?format=jsonl`, { headers: { cookie, 'x-csrf-token': csrf }, signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 200, type: 'application/x-ndjson; charset=utf-8' });
  });
});

describe('static files', () => {
  it('serve the app as HTML that is never cached', async () => {
    const res = await fetch(`${base}/console/`, { signal: AbortSignal.timeout(10_000) });
    await res.text();
    expect({ type: res.headers.get('content-type'), cache: res.headers.get('cache-control') }).toEqual({ type: 'text/html; charset=utf-8', cache: 'no-cache' });
  });

  it('serve hashed assets as immutable, with their content type', async () => {
    const html = await (await fetch(`${base}/console/`, { signal: AbortSignal.timeout(10_000) })).text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await fetch(`${base}${script}`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    expect({ type: res.headers.get('content-type'), cache: res.headers.get('cache-control') }).toEqual({ type: 'text/javascript; charset=utf-8', cache: 'public, max-age=31536000, immutable' });
  });

  it('refuse paths that leave the build directory', async () => {
    const statuses = [];
    for (const path of ['/console/..%2f..%2fpackage.json', '/console/%2e%2e/package.json', '/console/assets/..%2F..%2F..%2Fpackage.json', '/console/.vite/manifest.json']) {
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      statuses.push(res.status === 404 || !text.includes('"name": "yiwang-hub"') ? 'safe' : `leaked ${path}`);
    }
    expect(statuses).toEqual(['safe', 'safe', 'safe', 'safe']);
  });
});
