/**
 * Catalogue resources (政务数据资源目录) in MongoDB: the only module that reads or writes `resources`.
 * The catalogue files seed them; a resource a data officer registered or updated through the API
 * (`origin: api`) is never overwritten by the files again, so MongoDB holds the truth.
 */
import type { Collection, Db } from 'mongodb';
import type { Resource } from '../schema/index.ts';
import { changeVersioned, DURABLE, type HistoryInput } from './versioned.ts';
import { retryOnDuplicate } from './duplicates.ts';

export const RESOURCES = 'resources';

/** A resource as stored: its definition plus who maintains it. */
export type StoredResource = Resource & {
  /** `id` = `code`, for the versioned-change helpers. */
  readonly id: string;
  readonly version: number;
  readonly origin: 'file' | 'api';
  readonly history?: readonly unknown[];
};

const resourcesOf = (db: Db): Collection<StoredResource> => db.collection<StoredResource>(RESOURCES);

/** Keys of a stored resource that are not part of its catalogue definition. */
const META = new Set(['_id', 'id', 'version', 'origin', 'history']);

export function definitionOf(stored: StoredResource | Resource): Resource {
  return Object.fromEntries(Object.entries(stored).filter(([k]) => !META.has(k))) as unknown as Resource;
}

export async function ensureResourceIndexes(db: Db): Promise<void> {
  await resourcesOf(db).createIndex({ code: 1 }, { unique: true, name: 'code' });
}

/**
 * Mirrors the catalogue files: file resources are inserted or updated unless an officer took them
 * over through the API; file resources no longer in the files are removed. Returns the codes changed.
 */
export async function syncResourcesFromFiles(db: Db, resources: readonly Resource[]): Promise<string[]> {
  const collection = resourcesOf(db);
  const existing = new Map((await collection.find({}, { projection: { _id: 0 } }).toArray()).map((r) => [r.code, r]));
  const changed: string[] = [];
  for (const r of resources) {
    const old = existing.get(r.code);
    if (old?.origin === 'api') continue;
    if (old && JSON.stringify(definitionOf(old)) === JSON.stringify(r)) continue;
    const doc: StoredResource = { ...r, id: r.code, version: (old?.version ?? 0) + 1, origin: 'file' };
    await retryOnDuplicate(() => collection.replaceOne({ code: r.code }, doc, { upsert: true, ...DURABLE }));
    changed.push(r.code);
  }
  const inFiles = new Set(resources.map((r) => r.code));
  const gone = [...existing.values()].filter((r) => r.origin === 'file' && !inFiles.has(r.code)).map((r) => r.code);
  if (gone.length > 0) await collection.deleteMany({ code: { $in: gone }, origin: 'file' });
  return [...changed, ...gone];
}

export async function loadResources(db: Db): Promise<StoredResource[]> {
  return resourcesOf(db).find({}, { projection: { _id: 0, history: 0 } }).sort({ code: 1 }).toArray();
}

export async function getResource(db: Db, code: string): Promise<StoredResource | null> {
  return resourcesOf(db).findOne({ code }, { projection: { _id: 0 } });
}

/** Registers a new resource; false when the code is taken. */
export async function insertResource(db: Db, resource: Resource, entry: HistoryInput): Promise<boolean> {
  try {
    await resourcesOf(db).insertOne({ ...resource, id: resource.code, version: 1, origin: 'api', history: [{ ...entry, at: new Date(), version: 1 }] }, DURABLE);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}

/** Replaces a resource's definition at the version the officer saw; null on a concurrent change. */
export async function replaceResource(db: Db, current: StoredResource, resource: Resource, entry: HistoryInput): Promise<StoredResource | null> {
  const removed = Object.keys(definitionOf(current)).filter((k) => !(k in resource));
  return changeVersioned(resourcesOf(db), current, { ...resource, origin: 'api' } as Partial<StoredResource>, entry, removed);
}
