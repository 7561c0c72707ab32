/**
 * Mutual TLS (issue 10): a department system is identified by its client certificate, bound to a
 * registered system in the catalogue, as X-Road security servers bind authentication certificates.
 * Certificates are made by the test (tests/support/pki.ts); requests go over real TLS on loopback.
 */
import { connect } from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAccess } from '../../audit/index.ts';
import { startHub, type RunningHub } from '../../gateway/hub.ts';
import { createLogger } from '../../gateway/logger.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { startTestHub, type TestHub } from '../support/hub.ts';
import { createPki, type Issued, type Pki } from '../support/pki.ts';

const CSYJS = '440000-CSYJS-001';
const HUKOU = `query ($child: String!) { access(purpose: "${CSYJS}", caseId: "CSYJS-TLS-1", operator: "op-tls") { person(idNumber: $child) { hukou { gender } } } }`;

let pki: Pki;
let ca: Issued;
let otherCa: Issued;
let server: Issued;
let zwCert: Issued;
let zwNext: Issued;
let unbound: Issued;
let strangerCert: Issued;
let catalogue: CatalogueCopy;
let t: TestHub;
const agents: Agent[] = [];

interface Answer { status: number; body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }; requestId: string | null }

/** POSTs a GraphQL request over TLS, with a client certificate and/or a bearer token. */
async function tlsQuery(url: string, options: { client?: Issued; token?: string; query?: string }): Promise<Answer> {
  const agent = new Agent({ connect: { ca: ca.cert, ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}) } });
  agents.push(agent);
  const res = await fetch(url, {
    method: 'POST',
    dispatcher: agent,
    signal: AbortSignal.timeout(10_000),
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: JSON.stringify({ query: options.query ?? HUKOU, variables: { child: t.data.births[0]!.child } }),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'], requestId: res.headers.get('x-request-id') };
}

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.ca('department-ca');
  otherCa = await pki.ca('unknown-ca');
  server = await pki.issue(ca, 'hub', 'server');
  zwCert = await pki.issue(ca, 'zw-yichuang', 'client');
  zwNext = await pki.issue(ca, 'zw-yichuang-next', 'client');
  unbound = await pki.issue(ca, 'nobody', 'client');
  strangerCert = await pki.issue(otherCa, 'stranger', 'client');
  catalogue = await copyDemoCatalogue();
  await catalogue.edit('systems.yaml', (text) => text.replace('department: ZW }', `department: ZW, certificates: ["${zwCert.fingerprint}"] }`));
  t = await startTestHub({
    catalogueDir: catalogue.dir,
    config: { server: { host: '127.0.0.1', port: 0, tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile } } },
  });
});

afterAll(async () => {
  await Promise.allSettled(agents.map((a) => a.close()));
  await t?.close();
  await catalogue?.remove();
  await pki?.remove();
});

describe('a system identified by its client certificate', () => {
  it('serves over HTTPS', () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
  });

  it('serves a bound certificate without any token, and records the access as that system', async () => {
    const answer = await tlsQuery(t.url, { client: zwCert });
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({ access: { person: { hukou: { gender: expect.any(String) } } } });
    await t.hub.runtime.audit.flush();
    const records = await searchAccess(t.hubDb.db, { requestId: answer.requestId!, limit: 10 });
    expect(records.map((r) => [r.system, r.decision, r.credential])).toEqual([['zw-yichuang', 'allow', 'certificate']]);
  });

  it('refuses a certificate of the trusted CA that no system is bound to', async () => {
    const answer = await tlsQuery(t.url, { client: unbound });
    expect(answer.status).toBe(401);
    expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(answer.body.errors?.[0]?.message).toContain(`(SHA-256 ${unbound.fingerprint}) is not bound to a registered system`);
  });

  it('refuses a certificate from a CA it does not trust', async () => {
    const answer = await tlsQuery(t.url, { client: strangerCert });
    expect(answer.status).toBe(401);
    expect(answer.body.errors?.[0]?.message).toContain('the client certificate was not accepted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
  });

  it('no longer accepts the token alone of a system bound to a certificate', async () => {
    const answer = await tlsQuery(t.url, { token: t.tokens.zw });
    expect(answer.status).toBe(401);
    expect(answer.body.errors?.[0]?.message).toContain('system "zw-yichuang" is bound to a client certificate: connect with it');
  });

  it('still serves systems without a bound certificate by their token over the same port', async () => {
    const answer = await tlsQuery(t.url, {
      token: t.tokens.mz,
      query: `{ access(purpose: "440000-DIBAO-001", caseId: "DB-TLS-1", operator: "op") { person(idNumber: "${t.data.dibaoApplicants[0]!}") { hukou { gender } } } }`,
    });
    expect(answer.body.errors).toBeUndefined();
    expect(answer.status).toBe(200);
    await t.hub.runtime.audit.flush();
    const records = await searchAccess(t.hubDb.db, { requestId: answer.requestId!, limit: 10 });
    // A hub token is the default credential: not stored, shown to auditors as `token`.
    expect(records.map((r) => [r.system, r.credential])).toEqual([['mz-dibao', undefined]]);
    const shown = await tlsQuery(t.url, { token: t.people['auditor']!, query: '{ auditRecords(filter: { caseId: "DB-TLS-1" }) { nodes { credential } } }' });
    expect(shown.body.data).toEqual({ auditRecords: { nodes: [{ credential: 'token' }] } });
  });
});

describe('rotation without downtime', () => {
  it('accepts the next certificate once added to the catalogue, and only it once the old one is removed', async () => {
    expect((await tlsQuery(t.url, { client: zwNext })).status).toBe(401);
    await catalogue.edit('systems.yaml', (text) => text.replace(`certificates: ["${zwCert.fingerprint}"]`, `certificates: ["${zwCert.fingerprint}", "${zwNext.fingerprint}"]`));
    await t.hub.runtime.reloadCatalogue();
    const [old, next] = await Promise.all([tlsQuery(t.url, { client: zwCert }), tlsQuery(t.url, { client: zwNext })]);
    expect([old.status, old.body.errors, next.status, next.body.errors]).toEqual([200, undefined, 200, undefined]);

    await catalogue.edit('systems.yaml', (text) => text.replace(`"${zwCert.fingerprint}", `, ''));
    await t.hub.runtime.reloadCatalogue();
    expect((await tlsQuery(t.url, { client: zwCert })).status).toBe(401);
    expect((await tlsQuery(t.url, { client: zwNext })).status).toBe(200);
  });

  it("re-reads the server's certificate on reload: new connections get the new one, the one open meanwhile keeps working", async () => {
    const peerFingerprint = () => new Promise<string>((resolve, reject) => {
      const { port } = new URL(t.url);
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: ca.cert, cert: zwNext.cert, key: zwNext.key, timeout: 5000 }, () => {
        resolve(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
      socket.on('timeout', () => reject(new Error('TLS connect timed out')));
    });
    expect(await peerFingerprint()).toBe(server.fingerprint);
    const open = new Agent({ connect: { ca: ca.cert, cert: zwNext.cert, key: zwNext.key } });
    agents.push(open);
    const ask = async () => (await fetch(t.url, { method: 'POST', dispatcher: open, signal: AbortSignal.timeout(10_000), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: HUKOU, variables: { child: t.data.births[0]!.child } }) })).status;
    expect(await ask()).toBe(200);

    const renewed = await pki.issue(ca, `hub-renewed-${randomBytes(3).toString('hex')}`, 'server');
    await writeFile(server.certFile, renewed.cert);
    await writeFile(server.keyFile, renewed.key);
    await t.hub.server.reloadCredentials();
    expect(await peerFingerprint()).toBe(renewed.fingerprint);
    expect(await ask()).toBe(200);
  });

  it('keeps the previous certificate when the new files are unusable, and says which field', async () => {
    await writeFile(server.keyFile, 'not a key');
    await expect(t.hub.server.reloadCredentials()).rejects.toThrow(/config: \/server\/tls the certificate, key or client CA is not usable/);
    expect((await tlsQuery(t.url, { client: zwNext })).status).toBe(200);
  });
});

describe('stricter settings', () => {
  const hubs: RunningHub[] = [];
  afterAll(async () => { await Promise.allSettled(hubs.map((h) => h.close())); });
  const another = async (server: Record<string, unknown>, auth: Record<string, unknown> = {}) => {
    const hub = await startHub({
      config: { ...t.config, server: { ...t.config.server, ...server }, auth: { ...t.config.auth, ...auth } },
      logger: createLogger('silent'), subjectKey: t.subjectKey, catalogue: t.hub.runtime.catalogue, env: t.env,
    });
    hubs.push(hub);
    return hub;
  };

  it('with clientCertificates: required, a client without a certificate fails the TLS handshake', async () => {
    const renewed = await pki.issue(ca, 'hub-strict', 'server');
    const hub = await another({ tls: { certFile: renewed.certFile, keyFile: renewed.keyFile, clientCaFile: ca.certFile, clientCertificates: 'required' } });
    await expect(tlsQuery(hub.url, { token: t.tokens.mz })).rejects.toThrow(/fetch failed/);
    expect((await tlsQuery(hub.url, { client: zwNext })).status).toBe(200);
  });

  it('with alsoRequireToken, the certificate needs its own system\'s token as well', async () => {
    const renewed = await pki.issue(ca, 'hub-both', 'server');
    const hub = await another(
      { tls: { certFile: renewed.certFile, keyFile: renewed.keyFile, clientCaFile: ca.certFile } },
      { certificates: { alsoRequireToken: true } },
    );
    const without = await tlsQuery(hub.url, { client: zwNext });
    expect(without.body.errors?.[0]?.message).toContain('system "zw-yichuang" must also send its bearer token');
    const wrong = await tlsQuery(hub.url, { client: zwNext, token: t.tokens.mz });
    expect(wrong.body.errors?.[0]?.message).toContain('the bearer token belongs to another principal than the client certificate');
    const both = await tlsQuery(hub.url, { client: zwNext, token: t.tokens.zw });
    expect([both.status, both.body.errors]).toEqual([200, undefined]);
  });
});
