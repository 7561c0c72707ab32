/**
 * The hub's registry state in MongoDB at start-up: departments, systems, purposes and connector
 * names mirror the catalogue files; resources and grants are seeded from them (after that, data
 * officers maintain them through the hub and MongoDB holds the truth).
 */
import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { appendAdmin, lastAdmin } from '../audit/index.ts';
import type { Catalogue } from '../schema/index.ts';
import { ensureGrantIndexes, ensureResourceIndexes, retryOnDuplicate, seedGrants, syncResourcesFromFiles } from '../store/index.ts';

export const COLLECTIONS = {
  departments: 'departments',
  systems: 'systems',
  purposes: 'purposes',
  connectors: 'connectors',
} as const;

async function replaceAll(db: Db, name: string, key: string, docs: readonly Document[]): Promise<void> {
  const collection = db.collection(name);
  // Unique, so that hubs starting at once cannot both insert an entry; the loser's upsert is repeated.
  await collection.createIndex({ [key]: 1 }, { name: `${key}_unique`, unique: true });
  const ops: AnyBulkWriteOperation[] = docs.map((d) => ({ replaceOne: { filter: { [key]: d[key] }, replacement: { ...d }, upsert: true } }));
  if (ops.length > 0) await retryOnDuplicate(() => collection.bulkWrite(ops, { ordered: true }));
  await collection.deleteMany({ [key]: { $nin: docs.map((d) => d[key]) } });
}

/**
 * Writes the catalogue files' content into MongoDB. Departments, systems, purposes and connector
 * names mirror the files exactly. Resources from the files are added or updated unless an officer
 * maintains them through the API. Grants from the file are inserted when new, and replaced only
 * when the file carries a higher version (grants changed through the hub win).
 */
export async function syncCatalogue(db: Db, catalogue: Catalogue): Promise<void> {
  const digest = catalogueDigest(catalogue);
  const previous = await lastAdmin(db, 'catalogue.sync');
  await replaceAll(db, COLLECTIONS.departments, 'code', catalogue.departments as unknown as Document[]);
  await replaceAll(db, COLLECTIONS.systems, 'code', catalogue.systems as unknown as Document[]);
  await replaceAll(db, COLLECTIONS.purposes, 'code', catalogue.purposes as unknown as Document[]);
  // Connector configs may name environment variables; they never hold secrets themselves.
  await replaceAll(db, COLLECTIONS.connectors, 'name', catalogue.connectors.map((c) => ({ name: c.name, kind: c.config.kind })));
  await ensureResourceIndexes(db);
  const resources = await syncResourcesFromFiles(db, catalogue.resources);

  await ensureGrantIndexes(db);
  const providers = new Map(catalogue.resources.map((r) => [r.code, r.provider]));
  const { seeded, updated } = await seedGrants(db, catalogue.grants, (code) => providers.get(code) ?? '');
  if (previous?.target !== digest || seeded.length > 0 || updated.length > 0 || resources.length > 0) {
    await appendAdmin(db, {
      actor: 'config',
      role: 'config',
      action: 'catalogue.sync',
      target: digest,
      reason: 'catalogue files read at start-up',
      detail: {
        departments: catalogue.departments.length,
        systems: catalogue.systems.length,
        purposes: catalogue.purposes.length,
        resources: catalogue.resources.length,
        connectors: catalogue.connectors.length,
        changedResources: resources,
        seededGrants: seeded,
        updatedGrants: updated,
      },
    });
  }
}

/** A digest of what the catalogue files say, to record each change of the registry once. */
function catalogueDigest(c: Catalogue): string {
  const content = { ...c, connectors: c.connectors.map((x) => ({ name: x.name, kind: x.config.kind })) };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}
