/**
 * Data demands (需求清单) in MongoDB: the only module that reads or writes `demands`.
 */
import type { Collection, Db, Filter } from 'mongodb';
import type { Demand, DemandStatus } from '../schema/index.ts';
import { paginate, type Page } from './pagination.ts';
import { changeVersioned, DURABLE, type HistoryInput } from './versioned.ts';

export const DEMANDS = 'demands';

const demandsOf = (db: Db): Collection<Demand> => db.collection<Demand>(DEMANDS);

export async function ensureDemandIndexes(db: Db): Promise<void> {
  await demandsOf(db).createIndex({ id: 1 }, { unique: true, name: 'id' });
}

export async function insertDemand(db: Db, demand: Demand): Promise<void> {
  await demandsOf(db).insertOne({ ...demand }, DURABLE);
}

export async function getDemand(db: Db, id: string): Promise<Demand | null> {
  return demandsOf(db).findOne({ id }, { projection: { _id: 0 } });
}

export async function changeDemand(db: Db, current: Demand, set: Partial<Demand>, entry: HistoryInput): Promise<Demand | null> {
  return changeVersioned(demandsOf(db), current, set, entry);
}

export async function listDemands(
  db: Db,
  visible: Filter<Demand>,
  filter: { readonly status?: DemandStatus | null; readonly consumer?: string | null; readonly provider?: string | null },
  first: number,
  after?: string | null,
): Promise<Page<Demand>> {
  const where: Record<string, unknown> = {};
  for (const key of ['status', 'consumer', 'provider'] as const) if (filter[key]) where[key] = filter[key];
  return paginate(demandsOf(db), { $and: [visible, where] } as Filter<Demand>, { sortField: 'id', direction: 1, first, after });
}
