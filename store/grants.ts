/**
 * Grants (授权) in MongoDB: the only module that reads or writes the `grants` collection. Grants are
 * seeded from the catalogue's grants file on a fresh deployment; after that MongoDB holds the
 * truth and data officers change them through the hub.
 */
import type { Collection, Db, Filter } from 'mongodb';
import { assertGrantRules } from '../policies/index.ts';
import type { Grant, GrantStatus } from '../schema/index.ts';
import { paginate, type Page } from './pagination.ts';
import { changeVersioned, DURABLE, type HistoryInput } from './versioned.ts';
import { retryOnDuplicate } from './duplicates.ts';

export const GRANTS = 'grants';

const grantsOf = (db: Db): Collection<Grant> => db.collection<Grant>(GRANTS);

export async function ensureGrantIndexes(db: Db): Promise<void> {
  // One index per command (FerretDB 1.24, see audit/store.ts).
  await grantsOf(db).createIndex({ id: 1 }, { unique: true, name: 'id' });
  await grantsOf(db).createIndex({ consumer: 1 }, { name: 'consumer' });
  await grantsOf(db).createIndex({ provider: 1 }, { name: 'provider' });
}

/** Stores a new grant after checking the rules it compiles to (no manage/all, no wildcards …). */
export async function insertGrant(db: Db, grant: Grant): Promise<void> {
  assertGrantRules(grant);
  await grantsOf(db).insertOne({ ...grant }, DURABLE);
}

export async function getGrant(db: Db, id: string): Promise<Grant | null> {
  return grantsOf(db).findOne({ id }, { projection: { _id: 0 } });
}

export async function allGrants(db: Db): Promise<Grant[]> {
  return grantsOf(db).find({}, { projection: { _id: 0, history: 0 } }).sort({ id: 1 }).toArray();
}

export async function changeGrantStatus(db: Db, grant: Grant, status: GrantStatus, entry: HistoryInput): Promise<Grant | null> {
  return changeVersioned(grantsOf(db), grant, { status }, entry);
}

export interface GrantFilter {
  readonly consumer?: string | null;
  readonly provider?: string | null;
  readonly resource?: string | null;
  readonly status?: GrantStatus | null;
  readonly purpose?: string | null;
  readonly application?: string | null;
}

/** Grants matching the filter within `visible` (the caller's read rights as a MongoDB query). */
export async function listGrants(db: Db, visible: Filter<Grant>, filter: GrantFilter, first: number, after?: string | null): Promise<Page<Grant>> {
  const query: Filter<Grant> = { $and: [visible, exact(filter)] } as Filter<Grant>;
  return paginate(grantsOf(db), query, { sortField: 'id', direction: 1, first, after });
}

function exact(filter: GrantFilter): Filter<Grant> {
  const out: Record<string, unknown> = {};
  for (const key of ['consumer', 'provider', 'resource', 'status', 'application'] as const) {
    if (filter[key]) out[key] = filter[key];
  }
  if (filter.purpose) out['purposes'] = filter.purpose;
  return out as Filter<Grant>;
}

/**
 * Seeds grants from the catalogue file: a grant is inserted when its id is new, and replaced only
 * when the file carries a higher version (a grant changed through the hub keeps its own).
 */
export async function seedGrants(db: Db, grants: readonly Grant[], providerOf: (resource: string) => string): Promise<{ seeded: string[]; updated: string[] }> {
  const seeded: string[] = [];
  const updated: string[] = [];
  const collection = grantsOf(db);
  for (const g of grants) {
    const version = g.version ?? 1;
    const grant: Grant = { ...g, version, status: g.status ?? 'approved', provider: providerOf(g.resource) };
    assertGrantRules(grant);
    const entry = { at: new Date(), actor: 'config', role: 'config', department: null, action: 'seed', reason: g.reason ?? 'grants file', version };
    const replaced = await collection.updateOne({ id: g.id, version: { $lt: version } }, { $set: grant, $push: { history: entry } }, DURABLE);
    const inserted = await retryOnDuplicate(() => collection.updateOne({ id: g.id }, { $setOnInsert: { ...grant, history: [entry] } }, { upsert: true, ...DURABLE }));
    if (replaced.modifiedCount > 0) updated.push(g.id);
    if (inserted.upsertedCount > 0) seeded.push(g.id);
  }
  return { seeded, updated };
}

/**
 * Grants in memory, per consumer department, reloaded when the shared revision moves (and at a
 * slow interval as a safety net). `version` bumps whenever the set changes, so compiled policies
 * can be cached against it.
 */
export class GrantStore {
  readonly #db: Db;
  #byConsumer = new Map<string, Grant[]>();
  #fingerprint = '';
  version = 0;
  /** `Date.now()` of the last successful refresh, changed or not (metrics: how stale the grants may be). */
  refreshedAt = 0;

  constructor(db: Db) {
    this.#db = db;
  }

  forDepartment(department: string): readonly Grant[] {
    return this.#byConsumer.get(department) ?? [];
  }

  async refresh(): Promise<void> {
    const all = await allGrants(this.#db);
    // id@version identifies a grant's content: every change bumps the version.
    const fingerprint = all.map((g) => `${g.id}@${g.version}`).join(',');
    this.refreshedAt = Date.now();
    if (fingerprint === this.#fingerprint) return;
    const byConsumer = new Map<string, Grant[]>();
    for (const g of all) {
      const list = byConsumer.get(g.consumer) ?? [];
      list.push(g);
      byConsumer.set(g.consumer, list);
    }
    this.#byConsumer = byConsumer;
    this.#fingerprint = fingerprint;
    this.version++;
  }
}
