/**
 * No audit record, no data: when the hub's MongoDB stops answering, requests get
 * AUDIT_UNAVAILABLE and not one item of the record.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { provisionMongo, type MongoProvision } from '../../gateway/mongo/provision.ts';
import { ROOT, startTestHub, type TestHub } from '../support/hub.ts';

let mongo: MongoProvision;
let dataDir: string;
let t: TestHub;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hub-audit-down-'));
  // A server of its own, which this test stops (never the run's shared one).
  mongo = await provisionMongo({ dataDir, cacheDir: join(ROOT, '.cache'), env: { ...process.env, MONGODB_URI: '' } });
  t = await startTestHub({ hubMongoUri: mongo.uri, config: { audit: { writeConcern: 1, deadlineMs: 1000 }, auth: { cacheSeconds: 60 } } });
});

afterAll(async () => {
  await t?.close().catch(() => undefined);
  await mongo?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/**
 * Waits until every thread of the process is stopped (state T in /proc): SIGSTOP reaches a busy
 * multi-threaded server's threads one by one, and on a loaded machine one may still answer a
 * command a few milliseconds after the signal was sent.
 */
async function stoppedCompletely(pid: number): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const tasks = await readdir(`/proc/${pid}/task`);
    const states = await Promise.all(tasks.map(async (t) => (await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').catch(() => ') T')).split(') ')[1]?.[0]));
    if (states.every((s) => s === 'T' || s === 't')) return;
    if (performance.now() > deadline) throw new Error(`process ${pid} not stopped within 5 s: thread states ${states.join('')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** GET /ready: its status and how long it took to answer. */
async function ready(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(t.url.replace(/\/graphql$/, '/ready'), { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

it('fails closed within the deadline while the server is stalled, and recovers by itself', async () => {
  const { child } = t.data.births[2]!;
  const query = `{ access(purpose: "440000-CSYJS-001", caseId: "c-stall", operator: "op") { person(idNumber: "${child}") { hukou { gender } } } }`;
  expect((await t.query(t.tokens.zw, query)).body.errors).toBeUndefined();
  expect((await ready()).status).toBe(200);

  process.kill(mongo.pid!, 'SIGSTOP');
  try {
    await stoppedCompletely(mongo.pid!);
    const started = performance.now();
    const res = await t.query(t.tokens.zw, query);
    const ms = performance.now() - started;
    expect(res.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['AUDIT_UNAVAILABLE']);
    expect(JSON.stringify(res.body.data)).not.toMatch(/[男女]/);
    // The deadline is 1 s (audit.deadlineMs); the sweeper checks every 50 ms.
    expect(ms).toBeLessThan(2500);
    const probe = await ready();
    expect(probe.status).toBe(503);
    expect(probe.ms).toBeLessThan(1000);
  } finally {
    process.kill(mongo.pid!, 'SIGCONT');
  }
  // Back: served again, and ready again, without a restart.
  let served = false;
  for (let i = 0; i < 40 && !served; i++) {
    served = (await t.query(t.tokens.zw, query)).body.errors === undefined;
    if (!served) await new Promise((r) => setTimeout(r, 250));
  }
  expect(served).toBe(true);
  expect((await ready()).status).toBe(200);
}, 60_000);

it('refuses to serve data when the audit record cannot be written', async () => {
  const { child } = t.data.births[0]!;
  const query = `{ access(purpose: "440000-CSYJS-001", caseId: "c-audit", operator: "op") {
    person(idNumber: "${child}") { hukou { name gender } medicalInsurance { status } } } }`;
  const ok = await t.query(t.tokens.zw, query);
  expect(ok.body.errors).toBeUndefined();

  await mongo.stop();
  const res = await t.query(t.tokens.zw, query);
  expect(res.status).toBe(200);
  const person = (res.body.data?.['access'] as { person: Record<string, unknown> } | null)?.person;
  expect(person?.['hukou'] ?? null).toBeNull();
  expect(person?.['medicalInsurance'] ?? null).toBeNull();
  const codes = new Set((res.body.errors ?? []).map((e) => e.extensions?.['code']));
  expect(codes).toEqual(new Set(['AUDIT_UNAVAILABLE']));
  expect(res.body.errors?.[0]?.message).toMatch(/audit trail cannot be written/);
  const probe = await ready();
  expect(probe.status).toBe(503);
  expect(probe.ms).toBeLessThan(1000);

  // The counters and the consent look-up live in the same database: no answer there, no data either.
  const { mother } = t.data.births[1]!;
  const verify = await t.query(t.tokens.zw, `{ access(purpose: "440000-CSYJS-001", caseId: "c-audit", operator: "op") {
    verify(resource: "WJ-BIRTH-CERT", key: "${child}", claims: { motherIdNumber: "${mother}" }) { match } } }`);
  expect(verify.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['AUDIT_UNAVAILABLE']);
  const face = await t.query(t.tokens.zw, `{ access(purpose: "440000-CSYJS-001", caseId: "c-audit", operator: "op", consentRef: "CS-20261123-00000000") {
    person(idNumber: "${mother}") { facePhoto { photo } } } }`);
  expect(face.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['AUDIT_UNAVAILABLE']);
  expect(JSON.stringify(face.body.data)).not.toContain('SYNTHETIC-FACE');
}, 60_000);
