/**
 * Writing the trail is crash-safe and needs no coordination between hubs, tested on real `hub
 * serve` processes under parallel load:
 * - a hub killed with SIGKILL loses no record of a response it sent, and its log (like every log)
 *   verifies after the restart, with no gap. The hub talks to MongoDB through a proxy that delays
 *   each connection by a random amount, and the kill comes when the server has got an evidence
 *   block sent after one it has not got yet (if that happens within 1 s), which it then never
 *   gets: the moment a writer with blocks in flight at once leaves a gap;
 * - two hubs writing one database at once each keep their own log: every log verifies, and the
 *   records equal the requests;
 * - verification attempts, counted by their records' claims, stay exact across a SIGKILL and a
 *   restart: the restarted hub finds the killed one's numbers taken and numbers past them, and
 *   every log verifies.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_COLLECTION, LOGS_COLLECTION, attemptCounter, recordsOf, isReadable, noteSigner, parseVerifierKey, verifyTrail, type ClaimDoc, type EvidenceBlock, type LogDoc, type TrailReport } from '../../audit/index.ts';
import { generateDemoData } from '../../demo/data.ts';
import { startDepartments, type DepartmentSystems } from '../../demo/environment.ts';
import { issueToken } from '../../gateway/credentials.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';
import { killHubProcesses, sleep, startHubProcess, startJitterProxy, type HubProcess, type JitterProxy, personReads, type ReadOutcome } from '../support/processes.ts';

const DIBAO = '440000-DIBAO-001';
/** One subject × one resource: exactly one access record per request, whatever its outcome. */
const READ = `query ($id: String!) { access(purpose: "${DIBAO}", caseId: "DB-DURABILITY", operator: "op-durability") { person(idNumber: $id) { hukou { gender } } } }`;
const KEY_NAME = 'yiwang-hub';

const data = generateDemoData({ households: 12 });
const subjects = data.dibaoApplicants;
let departments: DepartmentSystems;
let dir: string;
let departmentDb: TestDatabase;
const databases: TestDatabase[] = [];
const proxies: JitterProxy[] = [];
const catalogues: CatalogueCopy[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hub-durability-'));
  departmentDb = await testDatabase('durability_dept');
  departments = await startDepartments({ data, mongoUri: departmentDb.uri, filesDir: join(dir, 'files'), databasePrefix: `${departmentDb.name}_` });
  await writeFile(join(dir, 'subject.key'), randomBytes(32).toString('hex'));
});

afterAll(async () => {
  await killHubProcesses(); // even when a test failed half-way: no hub outlives the run
  await departments?.close();
  for (const d of Object.values(departments?.databases ?? {})) await departmentDb.client.db(d).dropDatabase();
  await departmentDb?.drop();
  await Promise.allSettled(proxies.map((p) => p.close()));
  await Promise.allSettled(databases.map((d) => d.drop()));
  await Promise.allSettled(catalogues.map((c) => c.remove()));
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  readonly db: TestDatabase;
  /** Between the hub and MongoDB, when asked for. */
  readonly proxy: JitterProxy | undefined;
  readonly configPath: string;
  readonly verifier: ReturnType<typeof parseVerifierKey>;
  start(): Promise<HubProcess>;
  token(): Promise<string>;
}

/** A database of its own, and a config for `hub serve` on it with a signing key in a file. */
async function setup(name: string, options: { audit?: Record<string, unknown>; jitterMs?: number; catalogue?: string } = {}): Promise<Setup> {
  const db = await testDatabase(name);
  databases.push(db);
  const proxy = options.jitterMs ? await startJitterProxy(db.uri, options.jitterMs) : undefined;
  if (proxy) proxies.push(proxy);
  const hubUri = proxy?.uri ?? db.uri;
  const signingKey = randomBytes(32).toString('hex');
  await writeFile(join(dir, `${name}.signing.key`), signingKey);
  const configPath = join(dir, `${name}.config.yaml`);
  await writeFile(configPath, [
    'server: { host: 127.0.0.1, port: 0, graphiql: false }',
    `mongodb: { uri: "${hubUri}", database: ${db.name} }`,
    `catalogue: ${options.catalogue ?? DEMO_CATALOGUE}`,
    'subjectKey: { file: subject.key }',
    'log: { level: info }',
    `audit: ${JSON.stringify({ signingKey: { file: `${name}.signing.key` }, keyName: KEY_NAME, checkpointSeconds: 0.2, ...options.audit })}`,
    '',
  ].join('\n'));
  return {
    db,
    proxy,
    configPath,
    verifier: parseVerifierKey(noteSigner(KEY_NAME, signingKey).verifierKey),
    start: () => startHubProcess(configPath, departments.env),
    token: () => issueToken(db.db, { kind: 'system', id: 'mz-dibao', department: 'MZ' }, 'durability test'),
  };
}

const { read, load } = personReads(READ, subjects);

/** Non-aborted records by request id, and the log each was written to. */
async function recordsByRequest(db: TestDatabase): Promise<{ byId: Map<string, string[]>; aborted: number; total: number }> {
  const blocks = await db.db.collection<EvidenceBlock>(ACCESS_COLLECTION)
    .find({}, { projection: { _id: 0, records: 1, lines: 1, deflated: 1 } }).toArray();
  const byId = new Map<string, string[]>();
  let aborted = 0;
  let total = 0;
  for (const block of blocks) {
    for (const r of recordsOf(block).filter(isReadable)) {
      if (r.aborted) {
        aborted++;
        continue;
      }
      total++;
      const logs = byId.get(r.requestId!) ?? [];
      logs.push(r.log!);
      byId.set(r.requestId!, logs);
    }
  }
  return { byId, aborted, total };
}

/** The log each process wrote, found by its pid in audit_logs. */
async function logOf(db: TestDatabase, p: HubProcess): Promise<string> {
  const docs = await db.db.collection<LogDoc>(LOGS_COLLECTION).find({ pid: p.pid }).toArray();
  expect(docs, `one log registered by process ${p.pid}`).toHaveLength(1);
  return docs[0]!.origin;
}

const problemsOf = (report: TrailReport) => report.logs.map((l) => ({ log: l.log, problems: l.problems }));

describe('a hub killed with SIGKILL under load', () => {
  it('loses no record of a response it sent, and every log verifies after the restart, the killed ones included', async () => {
    // Between the hub and MongoDB, a proxy that delays each connection's writes by 0–50 ms: blocks
    // written at once may reach the server in either order.
    // A killed hub's log is signed to its end by a hub still running once it has been silent 1 s.
    const s = await setup('durability_kill', { jitterMs: 50, audit: { adoptAfterSeconds: 1 } });
    const ROUNDS = 2;
    const WORKERS = 24;
    const served: Array<{ process: HubProcess; outcomes: ReadOutcome[]; reordered: boolean }> = [];
    let token: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const hub = await s.start();
      token ??= await s.token();
      let killed = false;
      const loading = load([hub.url], token, `kill${round}`, WORKERS, () => killed);
      // Kill after a while of load, at the worst moment if it comes within 1 s: the server has got
      // an evidence block sent after another it has not got yet. What the server has not got when
      // the hub dies, it never gets.
      await sleep(1000 + Math.random() * 500);
      const reordered = await Promise.race([s.proxy!.reordered(ACCESS_COLLECTION).then(() => true), sleep(1000).then(() => false)]);
      s.proxy!.freeze();
      hub.child.kill('SIGKILL');
      killed = true; // requests in flight fail; no new one is sent
      const exit = await hub.stop('SIGKILL', 10_000);
      expect(exit.signal).toBe('SIGKILL');
      served.push({ process: hub, outcomes: await loading, reordered });
    }

    // Restarted: a new process serves and writes a log of its own.
    const restarted = await s.start();
    const after = await read(restarted.url, token!, 'after-restart-0000');
    expect(after).toMatchObject({ status: 200, data: true });
    const killedLogs = await Promise.all(served.map(({ process }) => logOf(s.db, process)));
    const adoptedOf = async () => (await s.db.db.collection<LogDoc>(LOGS_COLLECTION).find({ origin: { $in: killedLogs } }).toArray()).map((l) => l.adopted ?? null);
    await expect.poll(async () => (await adoptedOf()).filter((a) => a !== null).length, { timeout: 20_000, interval: 250 }).toBe(ROUNDS);
    expect((await restarted.stop('SIGTERM')).code).toBe(0);

    const { byId, aborted, total } = await recordsByRequest(s.db);
    const logs = await Promise.all(served.map(({ process }) => logOf(s.db, process)));
    const finalLog = await logOf(s.db, restarted);
    expect(new Set([...logs, finalLog]).size).toBe(ROUNDS + 1);
    expect(byId.get(after.id)).toEqual([finalLog]);

    const lost: string[] = [];
    const misplaced: string[] = [];
    served.forEach(({ outcomes }, round) => {
      for (const o of outcomes.filter((x) => x.data)) {
        const where = byId.get(o.id);
        if (!where) lost.push(o.id);
        else if (where.length !== 1 || where[0] !== logs[round]) misplaced.push(`${o.id}: ${where.join(', ')}`);
      }
    });
    const figures = served.map(({ outcomes, reordered }, round) => ({
      round,
      killedAfterReorder: reordered,
      requests: outcomes.length,
      withData: outcomes.filter((o) => o.data).length,
      failed: outcomes.filter((o) => o.status === 'failed').length,
      records: [...byId.values()].filter((where) => where[0] === logs[round]).length,
    }));
    console.log(`SIGKILL: ${JSON.stringify(figures)}; ${total} records, ${aborted} aborted, ${ROUNDS + 1} logs`);
    for (const f of figures) expect(f.withData, `round ${f.round} served data before the kill`).toBeGreaterThan(0);
    expect(lost, 'responses with data whose access record is not in the trail').toEqual([]);
    expect(misplaced, 'records not exactly once in the log of the process that served them').toEqual([]);

    const report = await verifyTrail(s.db.db, s.verifier);
    // Each process's access log, then the administrative log they all wrote to (their catalogue syncs).
    expect(problemsOf(report)).toEqual([...[...logs, finalLog].sort(), 'admin'].map((log) => ({ log, problems: [] })));
    expect(report.ok).toBe(true);
    for (const [round, log] of logs.entries()) {
      const r = report.logs.find((l) => l.log === log)!;
      expect(r.records, `round ${round}: every record served is in its log`).toBeGreaterThanOrEqual(figures[round]!.withData);
      expect(r.verifiedSize, `round ${round}: the killed log was checkpointed while it ran`).toBeGreaterThan(0);
      expect(r.uncheckpointed, `round ${round}: what the killed hub left unsigned was signed by another`).toBe(0);
    }
    expect((await adoptedOf()).map((a) => a?.size)).toEqual(killedLogs.map((log) => report.logs.find((l) => l.log === log)!.records));
    // The restarted hub, stopped gracefully: its one record, covered by its last checkpoint.
    expect(report.logs.find((l) => l.log === finalLog)).toMatchObject({ records: 1, verifiedSize: 1, uncheckpointed: 0 });
  }, 120_000);
});

describe('two hub processes on one database under parallel load', () => {
  it('keep one log each; every log verifies, and the records equal the requests', async () => {
    // A generous deadline: every request's outcome is then determinate (served with its record, or
    // refused with its record); a write past its deadline may land after a refusal and blur the count.
    const s = await setup('durability_two', { audit: { deadlineMs: 15_000 } });
    const a = await s.start();
    const b = await s.start();
    const token = await s.token();
    const started = performance.now();
    const outcomes = await load([a.url, b.url], token, 'two', 12, () => performance.now() - started > 2500, 400);
    const [exitA, exitB] = await Promise.all([a.stop('SIGTERM'), b.stop('SIGTERM')]);
    expect(exitA.code).toBe(0);
    expect(exitB.code).toBe(0);

    const notServed = outcomes.filter((o) => o.status !== 200 || o.codes.includes('AUDIT_UNAVAILABLE'));
    expect(notServed, 'every request got a 200 that was audited').toEqual([]);
    const logA = await logOf(s.db, a);
    const logB = await logOf(s.db, b);
    expect(logA).not.toBe(logB);
    const { byId, aborted, total } = await recordsByRequest(s.db);
    const perProcess = [a, b].map((p, i) => ({
      log: [logA, logB][i]!,
      requests: outcomes.filter((o) => o.url === p.url).length,
      withData: outcomes.filter((o) => o.url === p.url && o.data).length,
    }));
    console.log(`two writers: ${JSON.stringify(perProcess.map((x) => ({ requests: x.requests, withData: x.withData })))}; ${total} records, ${aborted} aborted`);
    for (const x of perProcess) expect(x.requests).toBeGreaterThan(0);

    // Exactly one record per request, in the log of the process it was sent to; no other record.
    const wrong = outcomes.flatMap((o) => {
      const where = byId.get(o.id) ?? [];
      const expected = o.url === a.url ? logA : logB;
      return where.length === 1 && where[0] === expected ? [] : [`${o.id}: ${where.length} records in ${where.join(', ') || 'no log'}`];
    });
    expect(wrong).toEqual([]);
    expect(total).toBe(outcomes.length);

    const report = await verifyTrail(s.db.db, s.verifier);
    expect(problemsOf(report)).toEqual([...[logA, logB].sort(), 'admin'].map((log) => ({ log, problems: [] })));
    expect(report.ok).toBe(true);
    for (const x of perProcess) {
      // Stopped gracefully: the last checkpoint covers every record of the log.
      expect(report.logs.find((l) => l.log === x.log)).toMatchObject({ records: x.requests, uncheckpointed: 0 });
    }
  }, 120_000);
});

describe('verification attempts across a SIGKILL and a restart', () => {
  it('number every answered attempt once per subject, the restarted hub past the killed one\'s claims, and every log verifies', async () => {
    const catalogue = await copyDemoCatalogue();
    catalogues.push(catalogue);
    // 1 000 a day (the most a grant may allow): the load does not run into the limit, and the
    // restarted hub's first collisions take it to the counters' marks.
    await catalogue.edit('grants.yaml', (t) => t.replace('quota: { perDay: 5000, maxBatch: 20 }', 'quota: { perDay: 5000, maxBatch: 20, verifyPerDay: 1000 }'));
    // Writes delayed by up to 10 ms: a restarted hub probes up to 63 numbers past the mark, each a
    // write its request waits for, within the 2 s deadline.
    const s = await setup('durability_verify', { jitterMs: 10, catalogue: catalogue.dir });
    const token = await issueToken(s.db.db, { kind: 'system', id: 'zw-yichuang', department: 'ZW' }, 'durability test');
    const births = data.births;
    expect(births.length).toBeGreaterThan(0);
    const verify = async (url: string, id: string): Promise<{ id: string; answered: boolean }> => {
      const birth = births[Number.parseInt(id.slice(-4), 36) % births.length]!;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': id },
          body: JSON.stringify({ query: `query ($key: String!, $claims: Claims!) { access(purpose: "440000-CSYJS-001", caseId: "CSYJS-DURABILITY", operator: "op") {
            verify(resource: "WJ-BIRTH-CERT", key: $key, claims: $claims) { match } } }`, variables: { key: birth.child, claims: { motherIdNumber: birth.mother } } }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json()) as { data?: { access?: { verify?: { match?: boolean } } }; errors?: unknown[] };
        return { id, answered: res.status === 200 && !body.errors && body.data?.access?.verify?.match === true };
      } catch {
        return { id, answered: false };
      }
    };
    const answered: string[] = [];
    for (let round = 0; round < 2; round++) {
      const hub = await s.start();
      let killed = false;
      const loading = Promise.all(Array.from({ length: 12 }, async (_, w) => {
        for (let i = 0; i < 2000 && !killed; i++) {
          const o = await verify(hub.url, `v${round}-${w}-${i.toString(36).padStart(4, '0')}`);
          if (o.answered) answered.push(o.id);
        }
      }));
      await sleep(1000 + Math.random() * 500);
      s.proxy!.freeze();
      hub.child.kill('SIGKILL');
      killed = true;
      expect((await hub.stop('SIGKILL', 10_000)).signal).toBe('SIGKILL');
      await loading;
    }
    const last = await s.start();
    const after = await verify(last.url, 'v-after-0000');
    expect(after.answered).toBe(true);
    answered.push(after.id);
    expect((await last.stop('SIGTERM')).code).toBe(0);

    const blocks = await s.db.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({}, { projection: { records: 1, lines: 1, deflated: 1 } }).toArray();
    const records = blocks.flatMap((b) => recordsOf(b).filter(isReadable)).filter((r) => !r.aborted && r.action === 'verify');
    const byRequest = new Map<string, number>();
    for (const r of records) byRequest.set(r.requestId!, (byRequest.get(r.requestId!) ?? 0) + 1);
    expect(answered.filter((id) => byRequest.get(id) !== 1), 'answered verifications without exactly one record').toEqual([]);
    // Per subject, no attempt number twice, whichever process claimed it.
    const numbers = new Map<string, number[]>();
    for (const r of records) numbers.set(r.subject!, [...(numbers.get(r.subject!) ?? []), r.attempt!]);
    for (const [subject, list] of numbers) expect(new Set(list).size, `attempt numbers of ${subject.slice(0, 8)}…`).toBe(list.length);
    // Every attempt recorded holds its claim, written before it in the same insert (a claim without
    // a record is an attempt counted and never answered). Days left out of the names: a request
    // that crosses midnight counts on the day it began.
    const claimed = await s.db.db.collection<ClaimDoc>(ACCESS_COLLECTION).find({ day: { $exists: true }, log: { $exists: false } }).toArray();
    const undated = (id: string) => id.replace(/\|\d{4}-\d{2}-\d{2}#/, '#');
    const held = new Set(claimed.map((c) => undated(c._id)));
    const unclaimed = records.filter((r) => !held.has(undated(`${attemptCounter({ system: r.system!, resource: r.resource!, subject: r.subject! }, r.day!)}#${r.attempt}`)));
    expect(unclaimed.map((r) => r.requestId)).toEqual([]);
    // The last hub's one attempt comes after every number claimed before it for its subject.
    const mine = records.find((r) => r.requestId === after.id)!;
    expect(mine.attempt).toBe(Math.max(...numbers.get(mine.subject!)!));
    const report = await verifyTrail(s.db.db, s.verifier);
    expect(problemsOf(report).filter((l) => l.problems.length > 0)).toEqual([]);
    // Three access logs (the two killed hubs' and the last one's), then the administrative log.
    expect(report.logs.map((l) => l.log === 'admin')).toEqual([false, false, false, true]);
    console.log(`verify under SIGKILL: ${answered.length} answered, ${records.length} records, ${claimed.length} claims, ${numbers.size} subjects, highest attempt ${Math.max(...records.map((r) => r.attempt!))}`);
  }, 120_000);
});
