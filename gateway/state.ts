/**
 * The hub's registry state in MongoDB: catalogue entries synced from the catalogue files, and
 * grants (seeded from the catalogue's grants file; later managed by data officers).
 */
import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { appendAdmin, lastAdmin } from '../audit/index.ts';
import type { Catalogue, Grant } from '../schema/index.ts';

export const COLLECTIONS = {
  departments: 'departments',
  systems: 'systems',
  purposes: 'purposes',
  resources: 'resources',
  connectors: 'connectors',
  grants: 'grants',
} as const;

async function replaceAll(db: Db, name: string, key: string, docs: readonly Document[]): Promise<void> {
  const collection = db.collection(name);
  const ops: AnyBulkWriteOperation[] = docs.map((d) => ({ replaceOne: { filter: { [key]: d[key] }, replacement: { ...d }, upsert: true } }));
  if (ops.length > 0) await collection.bulkWrite(ops, { ordered: true });
  await collection.deleteMany({ [key]: { $nin: docs.map((d) => d[key]) } });
}

/**
 * Writes the catalogue files' content into MongoDB. Departments, systems, purposes, resources and
 * connector names mirror the files exactly. Grants from the file are inserted when new, and
 * replaced only when the file carries a higher version (grants changed through the hub win).
 */
export async function syncCatalogue(db: Db, catalogue: Catalogue): Promise<void> {
  const digest = catalogueDigest(catalogue);
  const previous = await lastAdmin(db, 'catalogue.sync');
  await replaceAll(db, COLLECTIONS.departments, 'code', catalogue.departments as unknown as Document[]);
  await replaceAll(db, COLLECTIONS.systems, 'code', catalogue.systems as unknown as Document[]);
  await replaceAll(db, COLLECTIONS.purposes, 'code', catalogue.purposes as unknown as Document[]);
  await replaceAll(db, COLLECTIONS.resources, 'code', catalogue.resources as unknown as Document[]);
  // Connector configs may name environment variables; they never hold secrets themselves.
  await replaceAll(db, COLLECTIONS.connectors, 'name', catalogue.connectors.map((c) => ({ name: c.name, kind: c.config.kind })));

  const grants = db.collection<Grant>(COLLECTIONS.grants);
  await grants.createIndex({ id: 1 }, { unique: true, name: 'id' });
  await grants.createIndex({ consumer: 1 }, { name: 'consumer' });
  const seededGrants: string[] = [];
  const updatedGrants: string[] = [];
  for (const g of catalogue.grants) {
    const seeded: Grant = { ...g, version: g.version ?? 1, status: g.status ?? 'approved' };
    const updated = await grants.updateOne({ id: g.id, version: { $lt: seeded.version } }, { $set: seeded }, { upsert: false });
    const inserted = await grants.updateOne({ id: g.id }, { $setOnInsert: seeded }, { upsert: true });
    if (updated.modifiedCount > 0) updatedGrants.push(g.id);
    if (inserted.upsertedCount > 0) seededGrants.push(g.id);
  }
  if (previous?.target !== digest || seededGrants.length > 0 || updatedGrants.length > 0) {
    await appendAdmin(db, {
      actor: 'config',
      action: 'catalogue.sync',
      target: digest,
      detail: {
        departments: catalogue.departments.length,
        systems: catalogue.systems.length,
        purposes: catalogue.purposes.length,
        resources: catalogue.resources.length,
        connectors: catalogue.connectors.length,
        seededGrants,
        updatedGrants,
      },
    });
  }
}

/** A digest of what the catalogue files say, to record each change of the registry once. */
function catalogueDigest(c: Catalogue): string {
  const content = { ...c, connectors: c.connectors.map((x) => ({ name: x.name, kind: x.config.kind })) };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * Grants in memory, per consumer department, refreshed from MongoDB periodically. `version` bumps
 * whenever the set changes, so compiled policies can be cached against it.
 */
export class GrantStore {
  readonly #db: Db;
  #byConsumer = new Map<string, Grant[]>();
  #digest = '';
  #timer: NodeJS.Timeout | undefined;
  version = 0;

  constructor(db: Db) {
    this.#db = db;
  }

  forDepartment(department: string): readonly Grant[] {
    return this.#byConsumer.get(department) ?? [];
  }

  async refresh(): Promise<void> {
    const all = await this.#db.collection<Grant>(COLLECTIONS.grants).find({}, { projection: { _id: 0 } }).sort({ id: 1 }).toArray();
    const digest = createHash('sha256').update(JSON.stringify(all)).digest('hex');
    if (digest === this.#digest) return;
    const byConsumer = new Map<string, Grant[]>();
    for (const g of all) {
      const list = byConsumer.get(g.consumer) ?? [];
      list.push(g);
      byConsumer.set(g.consumer, list);
    }
    this.#byConsumer = byConsumer;
    this.#digest = digest;
    this.version++;
  }

  /** Refreshes every `seconds`; a failed refresh keeps the last known grants and reports the error. */
  startRefresh(seconds: number, onError: (error: unknown) => void): void {
    this.stopRefresh();
    this.#timer = setInterval(() => this.refresh().catch(onError), seconds * 1000);
    this.#timer.unref();
  }

  stopRefresh(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
