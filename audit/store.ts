/**
 * Reading the access evidence: indexes, and search for auditors and data subjects.
 */
import type { Db, Filter } from 'mongodb';
import type { AccessRecord } from './record.ts';
import { ACCESS_COLLECTION } from './writer.ts';

export async function ensureAuditIndexes(db: Db): Promise<void> {
  const c = db.collection<AccessRecord>(ACCESS_COLLECTION);
  // One index per command: FerretDB 1.24 crashes the connection when a createIndexes with several
  // indexes meets indexes that already exist (every restart). MongoDB is indifferent.
  await c.createIndex({ at: -1 }, { name: 'at' });
  await c.createIndex({ subject: 1, at: -1 }, { name: 'subject_at' });
  await c.createIndex({ system: 1, at: -1 }, { name: 'system_at' });
  await c.createIndex({ requestId: 1 }, { name: 'requestId' });
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

export async function searchAccess(db: Db, q: AccessQuery): Promise<AccessRecord[]> {
  const conditions: Record<string, unknown> = {};
  for (const key of ['subject', 'system', 'department', 'purpose', 'resource', 'requestId', 'decision'] as const) {
    if (q[key] !== undefined) conditions[key] = q[key];
  }
  if (q.from || q.to) conditions['at'] = { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lt: q.to } : {}) };
  const filter = conditions as Filter<AccessRecord>;
  return db
    .collection<AccessRecord>(ACCESS_COLLECTION)
    .find(filter, { projection: { _id: 0 } })
    .sort({ at: -1 })
    .limit(Math.min(q.limit ?? 100, 10_000))
    .toArray();
}
