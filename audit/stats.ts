/**
 * Statistics of the access trail per day, computed in the database with aggregation pipelines
 * (unwind the blocks' tallies, group by day and the chosen dimensions, add up), never by loading
 * records into the hub. Days are the deployment's calendar days, stored on each record when written.
 */
import type { Db, Document } from 'mongodb';
import { tallyOf, type SummaryForm } from './encoding.ts';
import type { EvidenceBlock } from './record.ts';
import { summaryFormOf } from './store.ts';
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

type Row = { _id: Record<string, string | null>; count: number };

export async function auditStatistics(db: Db, from: string, to: string, by: readonly StatDimension[], form?: SummaryForm): Promise<Statistic[]> {
  // Blocks whose records may fall in the window (a block spans at most one group commit).
  const window = { last: { $gte: new Date(Date.parse(`${from}T00:00:00Z`) - 86_400_000) } };
  const groupBy = (field: string): Document => {
    const id: Document = { day: `$${field}.day` };
    for (const d of by) id[d] = `$${field}.${d}`;
    return id;
  };
  const access = db.collection(ACCESS_COLLECTION);
  // Compact blocks carry their counts (`tally`); blocks stored as documents are counted record by record.
  const [tallied, documents] = await Promise.all([
    (form ?? (await summaryFormOf(db))) === 'text' ? talliedInHub(db, window, from, to, by) : access.aggregate<Row>([
      { $match: { ...window, tally: { $exists: true } } },
      { $unwind: '$tally' },
      { $match: { 'tally.day': { $gte: from, $lte: to } } },
      { $group: { _id: groupBy('tally'), count: { $sum: '$tally.n' } } },
    ]).toArray(),
    access.aggregate<Row>([
      { $match: { ...window, records: { $exists: true } } },
      { $unwind: '$records' },
      { $match: { 'records.day': { $gte: from, $lte: to }, 'records.aborted': { $ne: true } } },
      { $group: { _id: groupBy('records'), count: { $sum: 1 } } },
    ]).toArray(),
  ]);
  const merged = new Map<string, Statistic>();
  for (const r of [...tallied, ...documents]) {
    const row = { ...Object.fromEntries(by.map((d) => [d, r._id[d] ?? null])), day: r._id['day'] ?? '', count: r.count } as Statistic;
    const key = JSON.stringify([row.day, ...by.map((d) => row[d])]);
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, count: seen.count + row.count } : row);
  }
  return [...merged.values()]
    .sort((a, b) => a.day.localeCompare(b.day) || by.map((d) => String(a[d] ?? '').localeCompare(String(b[d] ?? ''))).find((x) => x !== 0) || 0);
}

/**
 * The tallies' sums where blocks keep them as text (FerretDB, SummaryForm): each block's tally
 * read and added up here, a few rows a block, never its records.
 */
async function talliedInHub(db: Db, window: Document, from: string, to: string, by: readonly StatDimension[]): Promise<Row[]> {
  const groups = new Map<string, Row>();
  const blocks = db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({ ...window, tally: { $exists: true } }, { projection: { _id: 0, tally: 1 } });
  for await (const block of blocks) {
    for (const row of tallyOf(block)) {
      if (row.day === undefined || row.day < from || row.day > to) continue;
      const id: Record<string, string | null> = { day: row.day };
      for (const d of by) id[d] = row[d] ?? null;
      const key = JSON.stringify(id);
      const seen = groups.get(key);
      if (seen) seen.count += row.n;
      else groups.set(key, { _id: id, count: row.n });
    }
  }
  return [...groups.values()];
}
