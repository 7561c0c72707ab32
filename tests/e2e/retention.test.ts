/**
 * Retention of the access trail: records past the retention period (3 years at least) are archived
 * to an export that verifies by itself, then removed, and what remains still verifies, with proofs.
 * A log is cut only at a signed checkpoint; a second archive starts from the first one's frontier.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_COLLECTION, ADMIN_COLLECTION, archiveTrail, AuditWriter, CHECKPOINTS_COLLECTION, EvidenceLog, exportTrail, LOGS_COLLECTION,
  noteSigner, parseCheckpointText, parseVerifierKey, proveRecord, retentionCutoff, verifyExport, verifyInclusion, verifyTrail,
  type AccessRecord, type LogDoc, type TrailReport,
} from '../../audit/index.ts';
import { runHub as cli } from '../support/cli.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';
import { testDatabase, type TestDatabase } from '../support/mongo.ts';

const DAY = 86_400_000;
const SIGNING_KEY = 'a1'.repeat(32);
const signer = noteSigner('retention-test', SIGNING_KEY);
const verifier = parseVerifierKey(signer.verifierKey);

let t: TestDatabase;
let dir: string;
let log: EvidenceLog;
let writer: AuditWriter;
const now = Date.now();
const cutoff = retentionCutoff(new Date(now), 1096);

function record(at: Date, i: number): AccessRecord {
  return {
    at, day: at.toISOString().slice(0, 10), requestId: `req-${at.getTime()}-${i}`, action: 'read', system: 'mz-dibao', department: 'MZ', principalKind: 'system',
    operator: 'op-1', purpose: '440000-DIBAO-001', caseId: `DB-${i}`, resource: 'GA-HUKOU', provider: 'GA', subjectType: 'person', subject: `s${i % 7}`,
    itemsReturned: ['name'], itemsMasked: [], itemsRefused: [], itemsVerified: [], grants: [{ id: 'G-1', version: 1 }], decision: 'allow',
    code: null, denial: null, reason: null, consent: null, attempt: null,
  };
}

/** Writes `n` records dated `at` as one block; signs a checkpoint after it when asked. */
async function batch(at: Date, n: number, checkpoint: boolean): Promise<void> {
  await writer.appendMany(Array.from({ length: n }, (_, i) => record(new Date(at.getTime() + i * 1000), i)));
  await writer.flush();
  if (checkpoint) await log.checkpoint();
}

async function verifyFile(file: string): Promise<TrailReport> {
  return verifyExport(createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity }), verifier);
}

const seqs = async () => (await t.db.collection(ACCESS_COLLECTION).find({ log: log.origin }).sort({ seq: 1 }).toArray()).map((b) => b['seq'] as number);

beforeAll(async () => {
  t = await testDatabase('retention');
  dir = await mkdtemp(join(tmpdir(), 'hub-retention-'));
  log = new EvidenceLog(t.db, { origin: 'retention-test/host/1', signer, checkpointRecords: 1_000_000, checkpointSeconds: 3600 });
  await log.register();
  writer = new AuditWriter(t.db, { log, maxBatch: 100, writeConcern: { w: 1 } });
  await batch(new Date(now - 1400 * DAY), 10, true); // 0–9, checkpoint 10
  await batch(new Date(now - 1300 * DAY), 10, true); // 10–19, checkpoint 20
  await batch(new Date(now - 1200 * DAY), 10, false); // 20–29: past retention, but no checkpoint ends there
  await batch(new Date(now - 100 * DAY), 10, true); // 30–39, checkpoint 40
});
afterAll(async () => {
  await writer?.close();
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('archiving past the retention period', () => {
  it('refuses a retention period under 3 years', () => {
    expect(() => retentionCutoff(new Date(), 1095)).toThrow('the retention period is at least 1096 days (3 years); 1095 was given');
  });

  it('a dry run says what would go, and changes nothing', async () => {
    const planned = await archiveTrail(t.db, { before: cutoff, out: join(dir, 'never.jsonl'), verifier, actor: 'test', role: 'cli', dryRun: true });
    expect(planned.logs).toEqual([{ log: log.origin, from: 0, to: 20 }]);
    expect(planned.file).toBeNull();
    expect(await seqs()).toEqual([0, 10, 20, 30]);
  });

  it('archives up to the last signed checkpoint among the old records, to a file that verifies by itself', async () => {
    const out = join(dir, 'archive-1.jsonl');
    const result = await archiveTrail(t.db, { before: cutoff, out, verifier, actor: 'cli:tester', role: 'cli' });
    expect(result.logs).toEqual([{ log: log.origin, from: 0, to: 20 }]);
    expect(result.records).toBe(20);

    const report = await verifyFile(out);
    expect(report.ok).toBe(true);
    expect(report.logs[0]).toMatchObject({ log: log.origin, archived: 0, records: 20, verifiedSize: 20, uncheckpointed: 0 });
    // Records 20–29 are old too, but no checkpoint ends among them: they stay until one does.
    expect(await seqs()).toEqual([20, 30]);
    const stored = await t.db.collection<LogDoc>(LOGS_COLLECTION).findOne({ origin: log.origin });
    expect(stored?.archived).toMatchObject({ size: 20, file: 'archive-1.jsonl', sha256: result.sha256 });

    const admin = await t.db.collection(ADMIN_COLLECTION).findOne({ action: 'audit.archive' });
    expect(admin).toMatchObject({ actor: 'cli:tester', target: 'archive-1.jsonl', after: { records: 20, sha256: result.sha256 } });
  });

  it('what remains still verifies against every checkpoint from the cut on', async () => {
    const report = await verifyTrail(t.db, verifier);
    expect(report.ok).toBe(true);
    expect(report.logs[0]).toMatchObject({ archived: 20, records: 20, verifiedSize: 40, uncheckpointed: 0, problems: [] });
  });

  it('proves a remaining record against the latest checkpoint, with the archived prefix as subtree hashes', async () => {
    const proof = (await proveRecord(t.db, log.origin, 25))!;
    expect(proof.size).toBe(40);
    const checkpoint = parseCheckpointText(proof.checkpoint);
    const ok = verifyInclusion(Buffer.from(proof.leaf, 'base64'), 25, proof.size, proof.proof.map((h) => Buffer.from(h, 'base64')), checkpoint.root);
    expect(ok).toBe(true);
  });

  it('an export of the remainder carries the prefix frontier and verifies offline', async () => {
    const lines: string[] = [];
    for await (const line of exportTrail(t.db, 'jsonl')) lines.push(line);
    expect(JSON.parse(lines[1]!)).toMatchObject({ type: 'base', log: log.origin, size: 20 });
    const report = await verifyExport(Readable.from(lines.join('').split('\n')), verifier);
    expect(report.ok).toBe(true);
    expect(report.logs[0]).toMatchObject({ archived: 20, records: 20, verifiedSize: 40 });
  });

  it('a later archive starts from the first one’s frontier and verifies on its own', async () => {
    await batch(new Date(now - 50 * DAY), 10, true); // 40–49, checkpoint 50
    const out = join(dir, 'archive-2.jsonl');
    // Moving the cut-off to 60 days ago (the floor is the CLI's to enforce) takes records 20–39.
    const result = await archiveTrail(t.db, { before: new Date(now - 60 * DAY), out, verifier, actor: 'test', role: 'cli' });
    expect(result.logs).toEqual([{ log: log.origin, from: 20, to: 40 }]);
    const report = await verifyFile(out);
    expect(report.ok).toBe(true);
    expect(report.logs[0]).toMatchObject({ archived: 20, records: 20, verifiedSize: 40 });
    expect(await seqs()).toEqual([40]);
    expect((await verifyTrail(t.db, verifier)).logs[0]).toMatchObject({ archived: 40, records: 10, verifiedSize: 50, problems: [] });
  });

  it('an archive file that was altered does not verify', async () => {
    const file = join(dir, 'archive-2.jsonl');
    const text = await readFile(file, 'utf8');
    const altered = join(dir, 'altered.jsonl');
    await writeFile(altered, text.replace('"caseId":"DB-3"', '"caseId":"DB-X"'));
    const report = await verifyFile(altered);
    expect(report.ok).toBe(false);
    expect(report.logs[0]!.problems.map((p) => `${p.kind}@${p.at}`)).toEqual(['modified@40']);
  });

  it('a damaged prefix frontier in MongoDB is detected at the cut', async () => {
    const logs = t.db.collection<LogDoc>(LOGS_COLLECTION);
    const original = (await logs.findOne({ origin: log.origin }))!.archived!;
    const nodes = original.nodes.map((n, i) => (i === 0 ? { ...n, hash: Buffer.alloc(32, 7).toString('base64') } : n));
    await logs.updateOne({ origin: log.origin }, { $set: { 'archived.nodes': nodes } });
    const report = await verifyTrail(t.db, verifier);
    expect(report.logs[0]!.problems.map((p) => `${p.kind}@${p.at}`)).toEqual(['modified@40']);
    await logs.updateOne({ origin: log.origin }, { $set: { 'archived.nodes': original.nodes } });
    expect((await verifyTrail(t.db, verifier)).ok).toBe(true);
  });

  it('blocks left below the cut (an interrupted run) fail verification until the next run removes them', async () => {
    const leftover = record(new Date(now - 1400 * DAY), 0);
    await t.db.collection(ACCESS_COLLECTION).insertOne({
      at: new Date(), first: leftover.at, last: leftover.at, count: 1, log: log.origin, seq: 5, leaves: [], records: [{ ...leftover, log: log.origin, seq: 5 }],
    });
    expect((await verifyTrail(t.db, verifier)).logs[0]!.problems.map((p) => `${p.kind}@${p.at}`)).toEqual(['inserted@5']);
    const result = await archiveTrail(t.db, { before: cutoff, out: join(dir, 'archive-3.jsonl'), verifier, actor: 'test', role: 'cli' });
    expect(result.logs).toEqual([]);
    expect((await verifyTrail(t.db, verifier)).ok).toBe(true);
  });

  it('refuses to overwrite an existing archive file', async () => {
    await expect(archiveTrail(t.db, { before: cutoff, out: join(dir, 'archive-1.jsonl'), verifier, actor: 'test', role: 'cli' }))
      .rejects.toThrow(`${join(dir, 'archive-1.jsonl')} exists; choose another file`);
  });

  it('leaves the checkpoints in place', async () => {
    const sizes = (await t.db.collection(CHECKPOINTS_COLLECTION).find({ log: log.origin }).sort({ size: 1 }).toArray()).map((c) => c['size'] as number);
    expect(sizes).toEqual([10, 20, 40, 50]);
  });
});

describe('hub audit archive (CLI)', () => {
  let cliDb: TestDatabase;
  let configPath: string;
  let cliLog: EvidenceLog;


  beforeAll(async () => {
    cliDb = await testDatabase('retention_cli');
    await writeFile(join(dir, 'signing.key'), SIGNING_KEY);
    await writeFile(join(dir, 'subject.key'), 'b2'.repeat(32));
    const config = (retentionDays: number) => [
      `mongodb: { uri: "${cliDb.uri}", database: ${cliDb.name} }`, `catalogue: ${DEMO_CATALOGUE}`, 'subjectKey: { file: subject.key }',
      `audit: { signingKey: { file: signing.key }, keyName: retention-test, retentionDays: ${retentionDays} }`, '',
    ].join('\n');
    configPath = join(dir, 'hub.yaml');
    await writeFile(configPath, config(1096));
    await writeFile(join(dir, 'short.yaml'), config(365));
    cliLog = new EvidenceLog(cliDb.db, { origin: 'retention-test/host/2', signer, checkpointRecords: 1_000_000, checkpointSeconds: 3600 });
    await cliLog.register();
    const w = new AuditWriter(cliDb.db, { log: cliLog, maxBatch: 100, writeConcern: { w: 1 } });
    await w.appendMany(Array.from({ length: 12 }, (_, i) => record(new Date(now - 1500 * DAY + i * 1000), i)));
    await w.flush();
    await cliLog.checkpoint();
    await w.appendMany(Array.from({ length: 3 }, (_, i) => record(new Date(now - DAY + i * 1000), i)));
    await w.close();
  });
  afterAll(async () => {
    await cliDb?.drop();
  });

  it('refuses a retention period under 3 years in the config', async () => {
    const r = await cli(['audit', 'archive', '--config', join(dir, 'short.yaml'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/audit/retentionDays');
    expect(r.stderr).toContain('1096');
  });

  it('refuses --before later than the retention period allows', async () => {
    const r = await cli(['audit', 'archive', '--config', configPath, '--out', join(dir, 'cli.jsonl'), '--before', new Date(now - 30 * DAY).toISOString()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('records are kept 1096 days (audit.retentionDays; 3 years at least): --before must be');
  });

  it('needs --out unless it is a dry run', async () => {
    const r = await cli(['audit', 'archive', '--config', configPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('audit archive needs --out <file> (or --dry-run)');
  });

  it('archives, and the archive verifies with only the verifier key; the remainder verifies too', async () => {
    const out = join(dir, 'cli.jsonl');
    const r = await cli(['audit', 'archive', '--config', configPath, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`archived\tretention-test/host/2\trecords 0–11 (12)`);
    const offline = await cli(['audit', 'verify', '--file', out, '--key', signer.verifierKey]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('ok\tretention-test/host/2\t12 records, 1 checkpoints, verified to 12');
    const remainder = await cli(['audit', 'verify', '--config', configPath]);
    expect(remainder.code).toBe(0);
    // The access log's remainder, and the administrative log with the archive's own record, signed by the command.
    expect(remainder.stdout).toContain('ok\tadmin\t1 records, 1 checkpoints, verified to 1\n');
    expect(remainder.stdout).toContain('the trail verifies (2 logs)');
  });
});
