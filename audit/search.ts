/**
 * Searching the trail for auditors and data subjects: access records (inside evidence blocks) and
 * administrative changes, newest first, with opaque cursors. A record's id is `<log>#<seq>`.
 */
import type { Db, Document, Filter } from 'mongodb';
import { ADMIN_COLLECTION, ADMIN_LOG, ADMIN_PROJECTION, type AdminRecord } from './admin.ts';
import { accessRecordsOf, blocksWith, RECORDS_PROJECTION, isReadable, recordsOf, type SummaryForm } from './encoding.ts';
import { summaryFormOf } from './store.ts';
import { unpackRecord, type AccessRecord, type EvidenceBlock } from './record.ts';
import { withStoredTree } from './tree.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export type StoredAccess = AccessRecord & { readonly log: string; readonly seq: number };

export interface TrailFilter {
  readonly from?: Date | null;
  readonly to?: Date | null;
  readonly department?: string | null;
  readonly system?: string | null;
  readonly operator?: string | null;
  readonly resource?: string | null;
  readonly purpose?: string | null;
  readonly caseId?: string | null;
  readonly decision?: AccessRecord['decision'] | null;
  readonly code?: string | null;
  /** Keyed hash of the subject. */
  readonly subject?: string | null;
  /** Only these decisions (the data subject sees served accesses only). */
  readonly decisions?: readonly AccessRecord['decision'][];
}

const EXACT = ['department', 'system', 'operator', 'resource', 'purpose', 'caseId', 'decision', 'code', 'subject'] as const;

export class TrailCursorError extends Error {}

interface Position { readonly at: number; readonly id: string }

const encode = (p: Position) => Buffer.from(JSON.stringify([p.at, p.id])).toString('base64url');
function decode(cursor: string): Position {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return { at: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new TrailCursorError('`after` is not a cursor this search returned.');
}

/** Newest first; ties broken by id, descending. */
const before = (a: Position, b: Position) => a.at < b.at || (a.at === b.at && a.id < b.id);

export const recordId = (log: string, seq: number) => `${log}#${seq}`;

export function parseRecordId(id: string): { log: string; seq: number } | null {
  const i = id.lastIndexOf('#');
  const seq = Number(id.slice(i + 1));
  return i > 0 && Number.isInteger(seq) && seq >= 0 ? { log: id.slice(0, i), seq } : null;
}

/** Access records matching every condition, newest first, `first` of them after the cursor. */
export async function searchTrail(db: Db, filter: TrailFilter, first: number, after?: string | null, form?: SummaryForm): Promise<{ records: StoredAccess[]; endCursor: string | null; hasNextPage: boolean }> {
  const cursor = after ? decode(after) : undefined;
  const query: Document = { aborted: { $ne: true }, ...blocksWith(Object.fromEntries(EXACT.map((key) => [key, filter[key] ?? undefined])), form ?? (await summaryFormOf(db))) };
  if (filter.from) query['last'] = { $gte: filter.from };
  const upper = cursor ? new Date(Math.min(cursor.at, filter.to?.getTime() ?? Infinity)) : filter.to;
  if (upper) query['first'] = { $lte: upper };
  const matches = (r: StoredAccess) =>
    EXACT.every((key) => !filter[key] || r[key] === filter[key])
    && (!filter.decisions || filter.decisions.includes(r.decision))
    && (!filter.from || r.at >= filter.from)
    && (!filter.to || r.at < filter.to)
    && (!cursor || before({ at: r.at.getTime(), id: recordId(r.log, r.seq) }, cursor));

  const found: StoredAccess[] = [];
  let oldestNeeded = -Infinity;
  const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION).find(query as Filter<EvidenceBlock>, { projection: RECORDS_PROJECTION }).sort({ last: -1 });
  for await (const block of blocks) {
    // Blocks come newest first by their latest record; once enough records are found, a block that
    // ends before the oldest of them cannot hold a newer one.
    if (found.length > first && block.last.getTime() < oldestNeeded) break;
    for (const stored of accessRecordsOf(block)) {
      if (typeof stored.seq !== 'number') continue;
      const record = { ...unpackRecord(stored), log: block.log ?? '', seq: stored.seq } as StoredAccess;
      if (matches(record)) found.push(record);
    }
    if (found.length > first) {
      found.sort((a, b) => (before({ at: a.at.getTime(), id: recordId(a.log, a.seq) }, { at: b.at.getTime(), id: recordId(b.log, b.seq) }) ? 1 : -1));
      oldestNeeded = found[first]!.at.getTime();
    }
  }
  await blocks.close();
  found.sort((a, b) => (before({ at: a.at.getTime(), id: recordId(a.log, a.seq) }, { at: b.at.getTime(), id: recordId(b.log, b.seq) }) ? 1 : -1));
  const page = found.slice(0, first);
  const last = page.at(-1);
  return { records: page, endCursor: last ? encode({ at: last.at.getTime(), id: recordId(last.log, last.seq) }) : null, hasNextPage: found.length > first };
}

export async function getTrailRecord(db: Db, id: string): Promise<StoredAccess | null> {
  const ref = parseRecordId(id);
  if (!ref) return null;
  // Its block by `_id`, through the log's stored tree (audit/tree.ts); past a gap in the log (a
  // block missing), or where the log's archived prefix is damaged, by a query on the position (an
  // index on MongoDB, a scan on FerretDB): a record is shown whatever state the rest is in.
  const viaTree = await withStoredTree(db, ref.log, ref.seq + 1, (source) => source.blockOf(ref.seq)).catch(() => null);
  const block = viaTree
    ?? (await db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ log: ref.log, seq: { $lte: ref.seq } }, { projection: RECORDS_PROJECTION }).sort({ seq: -1 }).limit(1).next());
  const stored = block ? recordsOf(block).filter(isReadable).find((r) => r.seq === ref.seq) : undefined;
  if (!stored || stored.aborted) return null;
  return { ...unpackRecord(stored), log: ref.log, seq: ref.seq } as StoredAccess;
}

/** Administrative changes, newest first. */
export async function searchAdmin(db: Db, filter: { from?: Date | null; to?: Date | null; actor?: string | null; department?: string | null; target?: string | null }, first: number, after?: string | null): Promise<{ records: Array<AdminRecord & { id: string }>; endCursor: string | null; hasNextPage: boolean }> {
  const query: Document = {};
  if (filter.actor) query['actor'] = filter.actor;
  if (filter.department) query['department'] = filter.department;
  if (filter.target) query['target'] = filter.target;
  const time: Document = {};
  if (filter.from) time['$gte'] = filter.from;
  if (filter.to) time['$lt'] = filter.to;
  const cursor = after ? decode(after) : undefined;
  if (cursor) time['$lte'] = new Date(cursor.at);
  if (Object.keys(time).length) query['at'] = time;
  const docs = await db.collection<AdminRecord>(ADMIN_COLLECTION).find(query as Filter<AdminRecord>, { projection: { leaf: 0, frontier: 0 } }).sort({ at: -1, _id: -1 }).limit(first + 50).toArray();
  // A record's id is its place in the administrative log (`admin#<seq>`, as access records'
  // `<log>#<seq>`); the cursor goes by `_id`, the order the search sorts in.
  const rows = docs
    .map(({ _id, ...r }) => ({ record: { ...r, id: typeof r.seq === 'number' ? recordId(ADMIN_LOG, r.seq) : String(_id) }, position: { at: r.at.getTime(), id: String(_id) } }))
    .filter((r) => !cursor || before(r.position, cursor));
  const page = rows.slice(0, first);
  const last = page.at(-1);
  return { records: page.map((r) => r.record), endCursor: last ? encode(last.position) : null, hasNextPage: rows.length > first };
}

/** One administrative record by its place in the administrative log. */
export async function getAdminRecord(db: Db, seq: number): Promise<AdminRecord | null> {
  return db.collection<AdminRecord>(ADMIN_COLLECTION).findOne({ seq }, { projection: ADMIN_PROJECTION });
}

export const DISCLOSURES_COLLECTION = 'audit_disclosures';

/** Marks a confidential record as disclosed to its data subject. False when it already was. */
export async function disclose(db: Db, id: string, by: string, reason: string): Promise<boolean> {
  try {
    await db.collection<{ _id: string; at: Date; by: string; reason: string }>(DISCLOSURES_COLLECTION).insertOne({ _id: id, at: new Date(), by, reason }, { writeConcern: { w: 'majority', journal: true } });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}

export async function disclosed(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const docs = await db.collection<{ _id: string }>(DISCLOSURES_COLLECTION).find({ _id: { $in: [...ids] } }, { projection: { _id: 1 } }).toArray();
  return new Set(docs.map((d) => d._id));
}
