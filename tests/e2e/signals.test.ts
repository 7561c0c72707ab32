/**
 * The life of a real `hub serve` process under load (tests/support/processes.ts):
 * - SIGTERM: no new connection is accepted, in-flight requests finish, the audit trail is flushed
 *   (every response sent with data has its record; the log verifies with nothing left unsigned),
 *   and the process exits 0 within `server.drainSeconds`;
 * - SIGHUP: the catalogue files are re-read and a connector moved to another department server
 *   without a failed request; calls in flight on the old connector finish, later ones go to the new.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_COLLECTION, accessRecordsOf, adminRecordsFor, noteSigner, parseVerifierKey, verifyTrail, type EvidenceBlock } from '../../audit/index.ts';
import { generateDemoData } from '../../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../../demo/environment.ts';
import { issueToken } from '../../gateway/credentials.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { DEMO_CATALOGUE, errorsAt, startTestHub } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';
import { killHubProcesses, personReads, sleep, startHubProcess } from '../support/processes.ts';

const DIBAO = '440000-DIBAO-001';
/** One subject × one resource (公安 REST): one access record per request. */
const READ = `query ($id: String!) { access(purpose: "${DIBAO}", caseId: "DB-SIGNALS", operator: "op-signals") { person(idNumber: $id) { hukou { gender } } } }`;
const KEY_NAME = 'yiwang-hub';

const data = generateDemoData({ households: 12 });
const subjects = data.dibaoApplicants;
let departments: DepartmentSystems;
let dir: string;
let departmentDb: TestDatabase;
const databases: TestDatabase[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-signals-'));
  departmentDb = await testDatabase('signals_dept');
  departments = await startDepartments({ data, mongoUri: departmentDb.uri, filesDir: join(dir, 'files'), databasePrefix: `${departmentDb.name}_` });
  await writeFile(join(dir, 'subject.key'), randomBytes(32).toString('hex'));
});

afterAll(async () => {
  await killHubProcesses();
  await Promise.allSettled(cleanups.map((c) => c()));
  await departments?.close();
  for (const d of Object.values(departments?.databases ?? {})) await departmentDb.client.db(d).dropDatabase();
  await departmentDb?.drop();
  await Promise.allSettled(databases.map((d) => d.drop()));
  await rm(dir, { recursive: true, force: true });
});

async function setup(name: string, options: { catalogue?: string; server?: Record<string, unknown> } = {}) {
  const db = await testDatabase(name);
  databases.push(db);
  const signingKey = randomBytes(32).toString('hex');
  await writeFile(join(dir, `${name}.signing.key`), signingKey);
  const configPath = join(dir, `${name}.config.yaml`);
  await writeFile(configPath, [
    `server: ${JSON.stringify({ host: '127.0.0.1', port: 0, graphiql: false, ...options.server })}`,
    `mongodb: { uri: "${db.uri}", database: ${db.name} }`,
    `catalogue: ${options.catalogue ?? DEMO_CATALOGUE}`,
    'subjectKey: { file: subject.key }',
    'log: { level: info }',
    `audit: ${JSON.stringify({ signingKey: { file: `${name}.signing.key` }, keyName: KEY_NAME, checkpointSeconds: 0.5, deadlineMs: 15_000 })}`,
    '',
  ].join('\n'));
  return {
    db,
    verifier: parseVerifierKey(noteSigner(KEY_NAME, signingKey).verifierKey),
    start: () => startHubProcess(configPath, departments.env),
    token: () => issueToken(db.db, { kind: 'system', id: 'mz-dibao', department: 'MZ' }, 'signals test'),
  };
}

const { read, load } = personReads(READ, subjects);

async function requestIds(db: TestDatabase): Promise<Set<string>> {
  const blocks = await db.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({}, { projection: { _id: 0, records: 1, lines: 1, deflated: 1 } }).toArray();
  return new Set(blocks.flatMap((b) => accessRecordsOf(b).map((r) => r.requestId!)));
}

/** Whether a new TCP connection to the URL's port is refused. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM under load', () => {
  it('refuses new connections, finishes in-flight requests with their records, and exits 0 within the drain deadline', async () => {
    const DRAIN_SECONDS = 5;
    const s = await setup('signals_term', { server: { drainSeconds: DRAIN_SECONDS } });
    const hub = await s.start();
    const token = await s.token();
    let stop = false;
    const loading = load([hub.url], token, 'term', 16, () => stop);
    await sleep(1500);
    const signalled = performance.now();
    hub.child.kill('SIGTERM');
    // The listening socket closes at once: a new connection is refused (checked while requests may still drain).
    let refusedAfter: number | undefined;
    for (let i = 0; i < 100 && refusedAfter === undefined; i++) {
      if (await refused(hub.url)) refusedAfter = performance.now() - signalled;
      else await sleep(10);
    }
    // Waited for, not signalled again: a second SIGTERM may reach a process in its last instant,
    // after Node has put the default signal actions back.
    const exit = await Promise.race([hub.exited, sleep((DRAIN_SECONDS + 10) * 1000).then(() => ({ code: null, signal: 'timeout' }))]);
    const exitedAfter = performance.now() - signalled;
    stop = true;
    const outcomes = await loading;
    expect(exit, hub.output().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n').slice(-3000)).toEqual({ code: 0, signal: null });
    expect(refusedAfter, 'a new connection is refused within 1 s of SIGTERM').toBeLessThan(1000);
    expect(exitedAfter, 'exit within the drain deadline plus closing').toBeLessThan((DRAIN_SECONDS + 5) * 1000);
    expect(hub.output()).toContain('shutting down');
    expect(hub.output()).toContain('hub stopped');

    const withData = outcomes.filter((o) => o.data);
    console.log(`SIGTERM: ${outcomes.length} requests, ${withData.length} with data, ${outcomes.filter((o) => o.status === 'failed').length} failed (sent after the signal), refused after ${refusedAfter?.toFixed(0)} ms, exit after ${exitedAfter.toFixed(0)} ms`);
    expect(withData.length).toBeGreaterThan(0);
    const recorded = await requestIds(s.db);
    expect(withData.filter((o) => !recorded.has(o.id)).map((o) => o.id), 'responses with data but no access record').toEqual([]);
    // Every answer is a full one, and every request sent well before the signal was answered (drained, not cut).
    expect(outcomes.filter((o) => o.status !== 'failed' && !o.data).map((o) => `${o.id}: ${o.status} ${o.codes.join(',')}`)).toEqual([]);
    expect(outcomes.filter((o) => o.sent < signalled - 100 && !o.data).map((o) => o.id), 'requests in flight at the signal that were not served').toEqual([]);

    const report = await verifyTrail(s.db.db, s.verifier);
    expect(report.ok).toBe(true);
    // Flushed and signed at shutdown: nothing left after the last checkpoint, in the access log
    // and in the administrative log.
    expect(report.logs.map((l) => [l.log === 'admin', l.uncheckpointed])).toEqual([[false, 0], [true, 0]]);
  }, 90_000);
});

describe('SIGTERM with a request slower than the drain deadline', () => {
  let copy: CatalogueCopy;
  afterAll(async () => copy?.remove());

  it('cuts it off at server.drainSeconds and still exits 0', async () => {
    const slow = await countingProxy(departments.env['DEMO_GONGAN_URL']!, 20_000);
    copy = await copyDemoCatalogue();
    await copy.edit('connectors.yaml', (t) => t.replace(/(gongan-rest:\n {2}kind: rest\n {2}baseUrl: )\S+\n {2}timeoutMs: 3000/, `$1${slow.url}\n  timeoutMs: 30000`));
    const s = await setup('signals_slow', { catalogue: copy.dir, server: { drainSeconds: 1 } });
    const hub = await s.start();
    const token = await s.token();
    const pending = read(hub.url, token, 'slow-0001');
    while (slow.count() === 0) await sleep(20);
    const signalled = performance.now();
    const exit = await hub.stop('SIGTERM', 15_000);
    const exitedAfter = performance.now() - signalled;
    expect(exit.code).toBe(0);
    expect(exitedAfter).toBeGreaterThanOrEqual(900);
    expect(exitedAfter).toBeLessThan(6000);
    expect(await pending).toMatchObject({ status: 'failed', data: false });
    expect(hub.output()).toContain('requests still running at the drain deadline were cut off');
  }, 60_000);
});

/** An HTTP proxy in front of a department server that counts (and delays) what it forwards. */
async function countingProxy(target: string, delayMs: number): Promise<{ url: string; count: () => number; server: Server }> {
  const to = new URL(target);
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    setTimeout(() => {
      const upstream = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => count, server };
}

describe('SIGHUP under load', () => {
  let copy: CatalogueCopy;
  afterAll(async () => copy?.remove());

  it('moves a connector to another department server without a failed request', async () => {
    const gongan = departments.env['DEMO_GONGAN_URL']!;
    // Two "department servers" for 公安: the old one slow, so calls are in flight at the reload.
    const oldServer = await countingProxy(gongan, 150);
    const newServer = await countingProxy(gongan, 0);
    copy = await copyDemoCatalogue();
    const baseUrl = (url: string) => (t: string) => t.replace(/(gongan-rest:\n {2}kind: rest\n {2}baseUrl: )\S+/, `$1${url}`);
    await copy.edit('connectors.yaml', baseUrl(oldServer.url));
    const s = await setup('signals_hup', { catalogue: copy.dir });
    const hub = await s.start();
    const token = await s.token();
    let stop = false;
    const loading = load([hub.url], token, 'hup', 6, () => stop);
    await sleep(1000);
    const oldBefore = oldServer.count();
    expect(oldBefore).toBeGreaterThan(0);
    expect(newServer.count()).toBe(0);

    await copy.edit('connectors.yaml', baseUrl(newServer.url));
    hub.child.kill('SIGHUP');
    const reloaded = Date.now();
    while (!hub.output().includes('catalogue files reloaded') && Date.now() - reloaded < 10_000) await sleep(20);
    expect(hub.output()).toContain('catalogue files reloaded');
    const oldAtReload = oldServer.count();
    await sleep(1500);
    stop = true;
    const outcomes = await loading;
    const newAfter = newServer.count();
    // The same process throughout: a reload is not a restart.
    expect(hub.child.exitCode).toBeNull();
    expect((await hub.stop('SIGTERM')).code).toBe(0);

    console.log(`SIGHUP: ${outcomes.length} requests; old server ${oldAtReload} calls, new server ${newAfter}`);
    expect(outcomes.filter((o) => !o.data).map((o) => `${o.id}: ${o.status} ${o.codes.join(',')}`), 'every request across the reload served').toEqual([]);
    expect(newAfter, 'requests after the reload go to the new server').toBeGreaterThan(0);
    // At most the calls already sent when the reload took effect reach the old server afterwards.
    expect(oldServer.count() - oldAtReload).toBeLessThanOrEqual(6);
  }, 90_000);

  it('keeps serving the previous catalogue when the files are invalid', async () => {
    const broken = await copyDemoCatalogue();
    cleanups.push(() => broken.remove());
    const s = await setup('signals_bad', { catalogue: broken.dir });
    const hub = await s.start();
    const token = await s.token();
    await broken.edit('connectors.yaml', (t) => t.replace('kind: rest', 'kind: carrier-pigeon'));
    hub.child.kill('SIGHUP');
    const sent = Date.now();
    while (!hub.output().includes('catalogue reload failed') && Date.now() - sent < 10_000) await sleep(20);
    expect(hub.output()).toContain('catalogue reload failed');
    expect(await read(hub.url, token, 'bad-reload-0001')).toMatchObject({ status: 200, data: true });
    expect((await hub.stop('SIGTERM')).code).toBe(0);
  }, 60_000);
});

describe('the admin reloadCatalogue mutation', () => {
  it('reloads the files on the instance asked, is recorded, and is the admin\'s alone', async () => {
    const t = await startTestHub();
    cleanups.push(() => t.close());
    const before = t.hub.runtime.connectors.get('gongan-rest');
    const MUTATION = 'mutation ($reason: String!) { reloadCatalogue(reason: $reason) { connectors resources } }';
    const refused = await t.query(t.tokens.mz, MUTATION, { reason: 'connector moved' });
    expect(errorsAt(refused.body, 'reloadCatalogue')[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const officer = await t.query(t.people['officer-ga']!, MUTATION, { reason: 'connector moved' });
    expect(errorsAt(officer.body, 'reloadCatalogue')[0]?.extensions?.['code']).toBe('FORBIDDEN');

    const done = await t.query(t.people['admin']!, MUTATION, { reason: '公安 前置机 moved' });
    expect(done.body.errors).toBeUndefined();
    expect(done.body.data).toEqual({ reloadCatalogue: { connectors: t.catalogue.connectors.length, resources: t.catalogue.resources.length } });
    expect(t.hub.runtime.connectors.get('gongan-rest')).not.toBe(before);
    const records = await adminRecordsFor(t.hubDb.db, t.config.catalogue);
    expect(records.at(-1)).toMatchObject({ action: 'catalogue.reload', role: 'admin', reason: '公安 前置机 moved' });
    // Still serving, through the new connectors.
    const served = await t.query(t.tokens.mz, READ, { id: t.data.dibaoApplicants[0] });
    expect(served.body.errors).toBeUndefined();
  }, 60_000);
});
