/**
 * Correction requests (数据纠错) in MongoDB: the only module that reads or writes `corrections`.
 *
 * One open request per disputed value: `openKey` (`<resource>|<subject hash>|<item>` while open,
 * `closed/<id>` once answered) is a unique index, which both MongoDB and FerretDB 1.24 enforce
 * atomically, so two requests filed at once for the same value cannot both open. Answers go through
 * the versioned-change helper (a unique claim in `transitions`), so of two answers at once exactly
 * one applies.
 *
 * Open requests are also held in memory by every hub process (`OpenCorrections`), reloaded when the
 * shared revision moves, so a served value is flagged as disputed without a query per request.
 */
import { MongoServerError, type Collection, type Db, type Filter } from 'mongodb';
import type { CorrectionRequest, CorrectionStatus } from '../schema/index.ts';
import { paginate, type Page } from './pagination.ts';
import { changeVersioned, DURABLE, type HistoryInput } from './versioned.ts';

export const CORRECTIONS = 'corrections';

const correctionsOf = (db: Db): Collection<CorrectionRequest> => db.collection<CorrectionRequest>(CORRECTIONS);

/** The value a request disputes, as the in-memory index and the unique `openKey` name it. */
export const disputedValueKey = (resource: string, subject: string, item: string): string => `${resource}|${subject}|${item}`;

export async function ensureCorrectionIndexes(db: Db): Promise<void> {
  // One index per command (FerretDB 1.24, see audit/store.ts).
  await correctionsOf(db).createIndex({ id: 1 }, { unique: true, name: 'id' });
  await correctionsOf(db).createIndex({ openKey: 1 }, { unique: true, name: 'openKey' });
  await correctionsOf(db).createIndex({ provider: 1, status: 1, deadline: 1 }, { name: 'provider_status_deadline' });
  await correctionsOf(db).createIndex({ consumer: 1 }, { name: 'consumer' });
}

/**
 * Stores a new request; when the value is already disputed by an open request, stores nothing and
 * returns that request instead.
 */
export async function insertCorrection(db: Db, request: CorrectionRequest): Promise<{ inserted: true } | { inserted: false; existing: CorrectionRequest }> {
  try {
    await correctionsOf(db).insertOne({ ...request }, DURABLE);
    return { inserted: true };
  } catch (error) {
    if (!(error instanceof MongoServerError) || error.code !== 11000) throw error;
    const existing = await correctionsOf(db).findOne({ openKey: request.openKey }, { projection: { _id: 0 } });
    if (existing) return { inserted: false, existing };
    throw error;
  }
}

export async function getCorrection(db: Db, id: string): Promise<CorrectionRequest | null> {
  return correctionsOf(db).findOne({ id }, { projection: { _id: 0 } });
}

export async function changeCorrection(db: Db, current: CorrectionRequest, set: Partial<CorrectionRequest>, entry: HistoryInput): Promise<CorrectionRequest | null> {
  return changeVersioned(correctionsOf(db), current, set, entry);
}

export interface CorrectionFilter {
  readonly status?: CorrectionStatus | null;
  readonly resource?: string | null;
  readonly provider?: string | null;
  readonly consumer?: string | null;
  /** Keyed hash of a subject: only requests about that subject. */
  readonly subject?: string | null;
  /** Only open requests whose deadline is before this day (overdue), or only those that are not. */
  readonly overdue?: { readonly today: string; readonly value: boolean } | null;
}

/** Requests matching the filter within `visible` (the caller's read rights), earliest deadline first. */
export async function listCorrections(db: Db, visible: Filter<CorrectionRequest>, filter: CorrectionFilter, first: number, after?: string | null): Promise<Page<CorrectionRequest>> {
  const where: Record<string, unknown> = {};
  for (const key of ['status', 'resource', 'provider', 'consumer', 'subject'] as const) if (filter[key]) where[key] = filter[key];
  if (filter.overdue?.value === true) {
    where['status'] = 'open';
    where['deadline'] = { $lt: filter.overdue.today };
  } else if (filter.overdue?.value === false) {
    where['$or'] = [{ status: { $ne: 'open' } }, { deadline: { $gte: filter.overdue.today } }];
  }
  const query = { $and: [visible, where] } as Filter<CorrectionRequest>;
  return paginate(correctionsOf(db), query, { sortField: 'deadline', direction: 1, first, after });
}

/** How many requests of a resource are open, and how many of those are past their deadline. */
export async function countOpenCorrections(db: Db, resource: string, today: string): Promise<{ open: number; overdue: number }> {
  const open = await correctionsOf(db).find({ resource, status: 'open' }, { projection: { _id: 0, deadline: 1 } }).toArray();
  return { open: open.length, overdue: open.filter((c) => c.deadline < today).length };
}

/** A value flagged as disputed in responses: the request that disputes it. */
export interface DisputedValue {
  readonly correction: string;
}

/**
 * The open requests, in memory: value key → the request disputing it. Reloaded on the shared
 * revision (a request filed or answered on any instance), so every instance flags a disputed value
 * within the propagation bound; between reloads, a look-up is a Map read.
 */
export class OpenCorrections {
  readonly #db: Db;
  #open = new Map<string, DisputedValue>();

  constructor(db: Db) {
    this.#db = db;
  }

  get size(): number {
    return this.#open.size;
  }

  /** The open request disputing this value, if any. */
  disputed(resource: string, subject: string, item: string): DisputedValue | undefined {
    return this.#open.size === 0 ? undefined : this.#open.get(disputedValueKey(resource, subject, item));
  }

  async refresh(): Promise<void> {
    const rows = await correctionsOf(this.#db)
      .find({ status: 'open' }, { projection: { _id: 0, id: 1, resource: 1, subject: 1, item: 1 } })
      .toArray();
    this.#open = new Map(rows.map((r) => [disputedValueKey(r.resource, r.subject, r.item), { correction: r.id }]));
  }
}
