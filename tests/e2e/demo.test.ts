/**
 * `npm start` (hub demo): starts everything, writes credentials and an example query that works,
 * stops cleanly on SIGTERM, and keeps its tokens across restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateDemoData } from '../../demo/data.ts';
import { demoPostgresUrl } from '../../demo/environment.ts';
import { postGraphQL, ROOT } from '../support/hub.ts';

let dir: string;
const database = `demo_${randomBytes(4).toString('hex')}`;
/** 自然资源's PostgreSQL database, which the demo makes when PostgreSQL answers. */
const postgresDatabase = `${database}_dept_ziranziyuan`;

/** Runs `work` on an admin connection to the PostgreSQL the demo tries, or returns undefined when there is none. */
async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: demoPostgresUrl(), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
let postgresReachable = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-demo-'));
  postgresReachable = (await withPostgres(async () => true)) === true;
});

afterAll(async () => {
  const client = new MongoClient(inject('mongoUri'));
  try {
    for (const db of [database, `${database}_dept_renshe`, `${database}_dept_yibao`]) await client.db(db).dropDatabase();
  } finally {
    await client.close();
  }
  await withPostgres((admin) => admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(postgresDatabase)} WITH (FORCE)`));
  await rm(dir, { recursive: true, force: true });
});

async function startDemo(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'gateway/cli.ts'), 'demo', '--port', '0', '--data-dir', dir], {
    cwd: ROOT, env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DATABASE: database, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 60_000);
    const poll = setInterval(() => {
      const m = /hub is serving (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(out);
      if (m && out.includes('Ctrl-C')) { clearInterval(poll); clearTimeout(timer); resolve(m[1]!); }
    }, 50);
    child.on('exit', (code) => { clearInterval(poll); clearTimeout(timer); reject(new Error(`demo exited ${code}:\n${out}`)); });
  });
  return { child, url, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

it('serves the example query with records from several departments, and keeps its tokens across restarts', async () => {
  const first = await startDemo();
  let credentials: Record<string, string>;
  try {
    credentials = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(credentials).sort()).toEqual([
      'admin', 'auditor', 'ga-huji', 'mz-dibao', 'officer-ga', 'officer-mz', 'officer-rs', 'officer-wj', 'officer-zr', 'officer-zw', 'portal', 'sj-kaiban', 'zw-yichuang',
    ]);
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o077).toBe(0);
    const example = await readFile(join(dir, 'example.graphql'), 'utf8');
    expect(first.output()).toContain('curl -s');
    expect(first.output()).toContain(example.split('\n')[0]!);

    const res = await postGraphQL(first.url, credentials['zw-yichuang']!, example);
    expect(res.body.errors).toBeUndefined();
    const access = res.body.data!['access'] as Record<string, Record<string, unknown>>;
    const departments = ['hukou', 'birthCertificate', 'medicalInsurance'].filter((f) => access['child']![f]);
    expect(departments).toHaveLength(3);
    expect(access['mother']!['socialInsurance']).toBeTruthy();
    expect(access['motherCheck']).toEqual({ match: true, mismatched: [] });

    // 不动产登记 comes from PostgreSQL when one answers, else from the CSV file; the demo says which.
    expect(first.output()).toContain(postgresReachable
      ? `自然资源 (不动产登记): PostgreSQL database ${postgresDatabase}`
      : '自然资源 (不动产登记): CSV file real_estate.csv');
    const estate = generateDemoData().sql.ziranziyuan.realEstate.find((r) => r.propertyCount > 0)!;
    const realEstate = await postGraphQL(first.url, credentials['mz-dibao']!,
      `{ access(purpose: "440000-DIBAO-001", caseId: "DIBAO-2026-1", operator: "mz-operator-01") { person(idNumber: "${estate.idNumber}") { realEstate { propertyCount totalArea } } } }`);
    expect(realEstate.body.errors).toBeUndefined();
    expect(realEstate.body.data).toEqual({ access: { person: { realEstate: { propertyCount: estate.propertyCount, totalArea: Number(estate.totalArea.toFixed(2)) } } } });

    // The mother's face photo: served under her consent, CONSENT_REQUIRED without it.
    const face = await readFile(join(dir, 'face.graphql'), 'utf8');
    const withConsent = await postGraphQL(first.url, credentials['zw-yichuang']!, face);
    expect(withConsent.body.errors).toBeUndefined();
    expect((withConsent.body.data as { access: { mother: { facePhoto: { photo: string } } } }).access.mother.facePhoto.photo).toMatch(/^SYNTHETIC-FACE-/);
    const withoutConsent = await postGraphQL(first.url, credentials['zw-yichuang']!, face.replace(/, consentRef: "[^"]+"/, ''));
    expect(withoutConsent.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['CONSENT_REQUIRED']);

    // Applications in every state, visible to the platform operator.
    const listed = await postGraphQL(first.url, credentials['admin']!, '{ applications(first: 50) { nodes { status overdue } } }');
    const states = (listed.body.data!['applications'] as { nodes: Array<{ status: string; overdue: boolean }> }).nodes.map((n) => (n.overdue ? 'overdue' : n.status)).sort();
    expect(states).toEqual(['approved', 'escalated', 'overdue', 'pending', 'rejected']);

    // The web console: one-click log-ins for an officer, the auditor and the admin.
    const consoleUrl = first.url.replace(/\/graphql$/, '/console/');
    expect(first.output()).toContain(`Web console: ${consoleUrl}`);
    const session = await fetch(`${consoleUrl}session`, { signal: AbortSignal.timeout(10_000) });
    expect(await session.json()).toEqual({ authenticated: false, demo: ['officer', 'auditor', 'admin'] });
    const login = await fetch(`${consoleUrl}session/demo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'auditor' }), signal: AbortSignal.timeout(10_000) });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/i);
  } finally {
    expect(await stop(first.child)).toBe(0);
  }

  const second = await startDemo();
  try {
    const again = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')) as Record<string, string>;
    expect(again).toEqual(credentials);
    const res = await postGraphQL(second.url, again['mz-dibao']!, '{ me { id department } }');
    expect(res.body.data).toEqual({ me: { id: 'mz-dibao', department: 'MZ' } });
    // Seeded once: a restart keeps the applications and reuses the consent.
    const listed = await postGraphQL(second.url, again['admin']!, '{ applications { totalCount } }');
    expect(listed.body.data).toEqual({ applications: { totalCount: 5 } });
    expect(second.output()).toContain('Sharing applications: kept from the previous run');
  } finally {
    expect(await stop(second.child)).toBe(0);
  }
}, 120_000);
