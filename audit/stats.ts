/**
 * Statistics of the access trail per day, computed in the database with an aggregation pipeline
 * (unwind the evidence blocks, group by day and the chosen dimensions), never by loading records
 * into the hub. Days are the deployment's calendar days, stored on each record when written.
 */
import type { Db, Document } from 'mongodb';
import { ACCESS_COLLECTION } from './writer.ts';

export type StatDimension = 'department' | 'resource' | 'purpose' | 'decision';

export interface Statistic {
  readonly day: string;
  readonly department?: string | null;
  readonly resource?: string | null;
  readonly purpose?: string | null;
  readonly decision?: string | null;
  readonly count: number;
}

export async function auditStatistics(db: Db, from: string, to: string, by: readonly StatDimension[]): Promise<Statistic[]> {
  const group: Document = { day: '$records.day' };
  for (const d of by) group[d] = `$records.${d}`;
  const pipeline: Document[] = [
    // Blocks whose records may fall in the window (a block spans at most one group commit).
    { $match: { last: { $gte: new Date(Date.parse(`${from}T00:00:00Z`) - 86_400_000) } } },
    { $unwind: '$records' },
    { $match: { 'records.day': { $gte: from, $lte: to }, 'records.aborted': { $ne: true } } },
    { $group: { _id: group, count: { $sum: 1 } } },
  ];
  const rows = await db.collection(ACCESS_COLLECTION).aggregate<{ _id: Record<string, string | null>; count: number }>(pipeline).toArray();
  return rows
    .map((r) => ({ ...Object.fromEntries(by.map((d) => [d, r._id[d] ?? null])), day: r._id['day'] ?? '', count: r.count }) as Statistic)
    .sort((a, b) => a.day.localeCompare(b.day) || by.map((d) => String(a[d] ?? '').localeCompare(String(b[d] ?? ''))).find((x) => x !== 0) || 0);
}
