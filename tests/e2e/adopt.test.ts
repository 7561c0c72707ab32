/**
 * The unsigned tail of a stopped hub's log (audit/adopt.ts): a log whose process gave no sign of
 * life for a while and was not closed is verified and signed up to its durable end by another hub,
 * once; a closed or live log is left alone; one that does not verify is not signed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ADOPT_LEASE_MS, ADOPTIONS_COLLECTION, adoptStoppedLogs, AuditWriter, CHECKPOINTS_COLLECTION, EvidenceLog, LOGS_COLLECTION, noteSigner, parseVerifierKey, subjectHash, verifyLog,
  type AccessRecord, type LeaseDoc, type LogDoc,
} from '../../audit/index.ts';
import { runHub } from '../support/cli.ts';
import { tamperBlock } from '../support/evidence.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const signer = noteSigner('adopt-test', '5a'.repeat(32));
const verifier = parseVerifierKey(signer.verifierKey);
const MINUTE = 60_000;

function record(i: number): AccessRecord {
  return {
    at: new Date(), requestId: `req-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ', principalKind: 'system',
    operator: 'op', purpose: 'P', caseId: `C-${i}`, resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person',
    subject: subjectHash(Buffer.alloc(32, 1), `id-${i}`), itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [],
    grants: [], decision: 'allow', code: null, denial: null, reason: null, consent: null, attempt: null,
  };
}

describe('adopting the logs of stopped hubs', () => {
  let t: TestDatabase;
  let db: Db;
  /** The clients of "processes" that are left as a killed one leaves them: not closed. */
  const clients: MongoClient[] = [];
  const logs = () => db.collection<LogDoc>(LOGS_COLLECTION);
  const leases = () => db.collection<LeaseDoc>(ADOPTIONS_COLLECTION);
  const later = () => new Date(Date.now() + 10 * MINUTE);

  beforeEach(async () => {
    t = await testDatabase('adopt');
    db = t.db;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await t?.drop();
  });

  /** A hub's log with `signed` records under a checkpoint and `unsigned` after it, written on a client of its own. */
  async function stoppedLog(origin: string, signed: number, unsigned: number): Promise<void> {
    const client = new MongoClient(t.uri);
    await client.connect();
    clients.push(client);
    const own = client.db(t.name);
    const log = new EvidenceLog(own, { origin, signer, checkpointSeconds: 3600, checkpointRecords: 1_000_000 });
    await log.register();
    const writer = new AuditWriter(own, { log, writeConcern: { w: 1 } });
    for (let i = 0; i < signed; i++) await writer.append(record(i));
    await log.checkpoint();
    for (let i = signed; i < signed + unsigned; i++) await writer.append(record(i));
    await writer.flush();
    // Killed here: neither the writer nor the log is closed.
  }

  it('signs what a killed hub left unsigned, once, and the log then verifies to its end', async () => {
    await stoppedLog('adopt-test/killed/1', 5, 3);
    expect(await verifyLog(db, 'adopt-test/killed/1', verifier)).toMatchObject({ records: 8, verifiedSize: 5, uncheckpointed: 3, problems: [] });
    // Not yet: it beat (registered) just now.
    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE })).toEqual([]);

    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() })).toEqual([{ log: 'adopt-test/killed/1', size: 8 }]);
    expect(await verifyLog(db, 'adopt-test/killed/1', verifier)).toEqual({ log: 'adopt-test/killed/1', archived: 0, records: 8, checkpoints: 2, verifiedSize: 8, uncheckpointed: 0, problems: [] });
    expect((await logs().findOne({ origin: 'adopt-test/killed/1' }))!.adopted).toEqual({ at: expect.any(Date), by: 'adopt-test/me/1', size: 8 });
    // Once: read again by no one.
    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() })).toEqual([]);
    expect(await db.collection(CHECKPOINTS_COLLECTION).countDocuments({ log: 'adopt-test/killed/1' })).toBe(2);
  });

  it('leaves alone its own log, a closed log, and a log whose process beats', async () => {
    await stoppedLog('adopt-test/me/1', 2, 2);
    const closed = new EvidenceLog(db, { origin: 'adopt-test/closed/1', signer, checkpointSeconds: 3600 });
    await closed.register();
    const writer = new AuditWriter(db, { log: closed, writeConcern: { w: 1 } });
    await writer.append(record(1));
    await writer.close();
    expect((await logs().findOne({ origin: 'adopt-test/closed/1' }))!.closed).toBeInstanceOf(Date);
    await stoppedLog('adopt-test/alive/1', 1, 1);
    await logs().updateOne({ origin: 'adopt-test/alive/1' }, { $set: { seen: later() } });

    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() })).toEqual([]);
  });

  it('two hubs looking at once: one reads and signs the stopped log, the other passes it by', async () => {
    await stoppedLog('adopt-test/killed/2', 5, 3);
    const [mine, theirs] = await Promise.all([
      adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() }),
      adoptStoppedLogs(db, { own: 'adopt-test/other/1', signer, idleMs: MINUTE, now: later() }),
    ]);
    expect([...mine, ...theirs]).toEqual([{ log: 'adopt-test/killed/2', size: 8 }]);
    expect((await logs().findOne({ origin: 'adopt-test/killed/2' }))!.adopted).toMatchObject({ by: mine.length === 1 ? 'adopt-test/me/1' : 'adopt-test/other/1', size: 8 });
    expect(await leases().countDocuments({})).toBe(0);
    expect(await db.collection(CHECKPOINTS_COLLECTION).countDocuments({ log: 'adopt-test/killed/2' })).toBe(2);
  });

  it('a log another hub is reading is left to it until its lease runs out (that hub died), then taken over', async () => {
    await stoppedLog('adopt-test/killed/3', 2, 2);
    const at = later();
    await leases().insertOne({ _id: 'adopt-test/killed/3#1', origin: 'adopt-test/killed/3', n: 1, by: 'adopt-test/dead-reader/1', until: new Date(at.getTime() + 30_000) });
    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: at })).toEqual([]);
    expect((await logs().findOne({ origin: 'adopt-test/killed/3' }))!.adopted).toBeUndefined();

    const afterLease = new Date(at.getTime() + ADOPT_LEASE_MS);
    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: afterLease })).toEqual([{ log: 'adopt-test/killed/3', size: 4 }]);
    expect((await logs().findOne({ origin: 'adopt-test/killed/3' }))!.adopted).toMatchObject({ by: 'adopt-test/me/1', size: 4 });
    expect(await leases().countDocuments({})).toBe(0);
  });

  it('holds a log it reads for no longer than a log\'s writer may be silent: a reader killed mid-read delays no one past that', async () => {
    await stoppedLog('adopt-test/killed/4', 2, 2);
    const watcher = new MongoClient(t.uri, { monitorCommands: true });
    const leases: Array<{ until: Date }> = [];
    watcher.on('commandStarted', (event) => {
      if (event.commandName === 'insert' && event.command['insert'] === ADOPTIONS_COLLECTION) leases.push(...(event.command['documents'] as Array<{ until: Date }>));
    });
    await watcher.connect();
    try {
      const now = later();
      expect(await adoptStoppedLogs(watcher.db(t.name), { own: 'adopt-test/me/1', signer, idleMs: 5_000, now })).toEqual([{ log: 'adopt-test/killed/4', size: 4 }]);
      expect(leases.map((l) => l.until.getTime() - now.getTime())).toEqual([5_000]);
    } finally {
      await watcher.close();
    }
  });

  it('marks a killed log whose records are all under its last checkpoint, signing nothing more', async () => {
    await stoppedLog('adopt-test/signed/1', 3, 0);
    expect(await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() })).toEqual([{ log: 'adopt-test/signed/1', size: 3 }]);
    expect(await db.collection(CHECKPOINTS_COLLECTION).countDocuments({ log: 'adopt-test/signed/1' })).toBe(1);
    expect((await logs().findOne({ origin: 'adopt-test/signed/1' }))!.adopted).toMatchObject({ size: 3 });
  });

  it('does not sign a log that does not verify, and says why', async () => {
    await stoppedLog('adopt-test/tampered/1', 4, 2);
    await tamperBlock(db, 'adopt-test/tampered/1', 2, (records) => {
      records[2 - (records[0]!['seq'] as number)]!['caseId'] = 'C-changed';
    });
    const [adoption] = await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() });
    expect(adoption).toEqual({ log: 'adopt-test/tampered/1', size: null, problem: 'modified at 2: record 2 does not match the hash written with it' });
    expect(await db.collection(CHECKPOINTS_COLLECTION).countDocuments({ log: 'adopt-test/tampered/1' })).toBe(1);
    expect((await logs().findOne({ origin: 'adopt-test/tampered/1' }))!.adopted).toMatchObject({ size: null, problem: adoption!.problem });
  });

  it('`hub audit logs` lists each log with its state: open, being adopted, closed, adopted and signed, adopted and not signed', async () => {
    await stoppedLog('adopt-test/killed/1', 2, 1);
    await stoppedLog('adopt-test/tampered/1', 2, 1);
    await tamperBlock(db, 'adopt-test/tampered/1', 0, (records) => {
      records[0]!['caseId'] = 'C-changed';
    });
    await adoptStoppedLogs(db, { own: 'adopt-test/me/1', signer, idleMs: MINUTE, now: later() });
    const closed = new EvidenceLog(db, { origin: 'adopt-test/closed/1', signer, checkpointSeconds: 3600 });
    await closed.register();
    await closed.close();
    await stoppedLog('adopt-test/open/1', 1, 0);
    await stoppedLog('adopt-test/reading/1', 1, 1);
    // A lease to a year from now: a hub reading it; an older, expired one says nothing.
    const until = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1));
    await leases().insertMany([
      { _id: 'adopt-test/reading/1#1', origin: 'adopt-test/reading/1', n: 1, by: 'adopt-test/dead-reader/1', until: new Date(0) },
      { _id: 'adopt-test/reading/1#2', origin: 'adopt-test/reading/1', n: 2, by: 'adopt-test/other/1', until },
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'hub-adopt-'));
    try {
      const config = join(dir, 'hub.yaml');
      await writeFile(config, `mongodb: { uri: "${t.uri}", database: ${t.name} }\ncatalogue: ${DEMO_CATALOGUE}\n`);
      const listed = await runHub(['audit', 'logs', '--config', config]);
      expect(listed.stderr).toBe('');
      expect(listed.code).toBe(0);
      const when = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
      const lines = listed.stdout.trim().split('\n');
      expect(lines).toHaveLength(5);
      expect(lines[0]).toMatch(new RegExp(`^adopt-test/closed/1\tclosed ${when}\tstarted ${when}$`));
      expect(lines[1]).toMatch(new RegExp(`^adopt-test/killed/1\tadopted, signed to 3 by adopt-test/me/1 ${when}\tstarted ${when}$`));
      expect(lines[2]).toMatch(new RegExp(`^adopt-test/open/1\topen\tstarted ${when}$`));
      expect(lines[3]).toMatch(new RegExp(`^adopt-test/reading/1\topen, being adopted by adopt-test/other/1 \\(lease to ${until.toISOString()}\\)\tstarted ${when}$`));
      expect(lines[4]).toMatch(new RegExp(`^adopt-test/tampered/1\tadopted, not signed \\(modified at 0: record 0 does not match the hash written with it\\) by adopt-test/me/1 ${when}\tstarted ${when}$`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a hub taken for stopped that beats again has its log back, to be adopted anew if it stops for good', async () => {
    const log = new EvidenceLog(db, { origin: 'adopt-test/paused/1', signer, checkpointSeconds: 0.1 });
    await log.register();
    await logs().updateOne({ origin: 'adopt-test/paused/1' }, { $set: { adopted: { at: new Date(), by: 'adopt-test/me/1', size: 0 } } });
    await expect.poll(async () => (await logs().findOne({ origin: 'adopt-test/paused/1' }))!.adopted, { timeout: 5_000 }).toBeUndefined();
    await log.close();
  });
});
