/**
 * Reading the access evidence: indexes, and search for auditors and data subjects. Records are
 * stored in evidence blocks (see writer.ts); search finds the blocks, then the records in them.
 */
import type { Db, Document, Filter } from 'mongodb';
import { accessRecordsOf, blocksWith, RECORDS_PROJECTION, type SummaryForm } from './encoding.ts';
import { unpackRecord, type AccessRecord, type EvidenceBlock } from './record.ts';
import { ACCESS_COLLECTION } from './writer.ts';

/**
 * The evidence indexes, where the server uses them. FerretDB 1.24 (SQLite backend) answers every
 * query by scanning the collection, whatever indexes exist (an `_id` equality in SQLite itself,
 * walking the table up to the match: tree.ts has figures), yet maintains each
 * index on every insert: there they would cost every evidence write for nothing (the audit-writer
 * micro-benchmark measures about a fifth of its throughput), so it gets none. Returns whether it
 * created them.
 */
export async function ensureAuditIndexes(db: Db): Promise<boolean> {
  if (await isFerretDB(db)) return false;
  await createAuditIndexes(db);
  return true;
}

const ferretServers = new WeakMap<Db, Promise<boolean>>();

/**
 * Whether the server is FerretDB (its buildInfo says so): asked once per database handle (start-up
 * asks it for the indexes and for the writer's summaries; searches for their filter). A server that
 * did not answer is asked again next time.
 */
export function isFerretDB(db: Db): Promise<boolean> {
  let ferret = ferretServers.get(db);
  if (ferret === undefined) {
    ferret = db.admin().command({ buildInfo: 1 }).then((info) => typeof info['ferretdbVersion'] === 'string');
    ferretServers.set(db, ferret);
    ferret.catch(() => ferretServers.delete(db));
  }
  return ferret;
}

/** How blocks keep their summaries on this server (audit/encoding.ts, SummaryForm). */
export async function summaryFormOf(db: Db): Promise<SummaryForm> {
  return (await isFerretDB(db)) ? 'text' : 'fields';
}

/** Creates the evidence indexes whatever the server (benchmarks compare with and without). */
export async function createAuditIndexes(db: Db): Promise<void> {
  const c = db.collection<EvidenceBlock>(ACCESS_COLLECTION);
  // One index per command: FerretDB 1.24 crashes the connection when a createIndexes with several
  // indexes meets indexes that already exist (every restart). MongoDB is indifferent.
  // Each index costs every write: time (auditors), and the searchable values of compact blocks
  // (data subjects by subject hash, auditors by system, case …; audit/encoding.ts). `subject_last`
  // serves blocks stored as documents before the compact encoding (a compact block adds one null
  // entry to it).
  // A record by id (`<log>#<seq>`: the block starting at or before it), the blocks of a range for
  // proofs (tree.ts), and reading a log onward from a point: without it each is a collection scan.
  await c.createIndex({ log: 1, seq: 1 }, { name: 'log_seq' });
  await c.createIndex({ last: -1 }, { name: 'last' });
  await c.createIndex({ keys: 1, last: -1 }, { name: 'keys_last' });
  await c.createIndex({ 'records.subject': 1, last: -1 }, { name: 'subject_last' });
  // The verification claims beside the blocks (writer.ts, Claims), by day, for their daily clean-up;
  // sparse: the blocks, which have no `day`, add nothing to it.
  await c.createIndex({ day: 1 }, { name: 'claims_day', sparse: true });
}

export interface AccessQuery {
  readonly subject?: string;
  readonly system?: string;
  readonly department?: string;
  readonly purpose?: string;
  readonly resource?: string;
  readonly requestId?: string;
  readonly decision?: AccessRecord['decision'];
  readonly from?: Date;
  readonly to?: Date;
  readonly limit?: number;
}

const EXACT = ['subject', 'system', 'department', 'purpose', 'resource', 'requestId', 'decision'] as const;

/** Records matching every given condition, newest first. */
export async function searchAccess(db: Db, q: AccessQuery, form?: SummaryForm): Promise<AccessRecord[]> {
  const limit = Math.min(q.limit ?? 100, 10_000);
  if (!(limit >= 1)) return [];
  const filter: Document = blocksWith(Object.fromEntries(EXACT.map((key) => [key, q[key]])), form ?? (await summaryFormOf(db)));
  // A block may hold records of the window when it ends after `from` and starts before `to`.
  if (q.from) filter['last'] = { $gte: q.from };
  if (q.to) filter['first'] = { $lt: q.to };
  const matches = (r: AccessRecord) =>
    EXACT.every((key) => q[key] === undefined || r[key] === q[key])
    && (!q.from || r.at >= q.from)
    && (!q.to || r.at < q.to);

  const out: AccessRecord[] = [];
  const newestFirst = (a: AccessRecord, b: AccessRecord) => b.at.getTime() - a.at.getTime();
  let oldestNeeded = -Infinity;
  const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION)
    .find(filter as Filter<EvidenceBlock>, { projection: RECORDS_PROJECTION })
    .sort({ last: -1 });
  for await (const block of blocks) {
    // Blocks come newest first by their latest record, but the blocks of several processes' logs
    // overlap in time: once `limit` records are found, only a block that ends before the oldest
    // of them cannot hold a newer one.
    if (out.length >= limit && block.last.getTime() < oldestNeeded) break;
    for (const stored of accessRecordsOf(block)) {
      const record = unpackRecord(stored);
      if (matches(record)) out.push(record);
    }
    if (out.length >= limit) {
      out.sort(newestFirst).length = limit;
      oldestNeeded = out[limit - 1]!.at.getTime();
    }
  }
  await blocks.close();
  return out.sort(newestFirst);
}
