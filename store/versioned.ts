/**
 * Optimistic, exclusive changes of versioned objects (applications, grants, demands): a change
 * applies only to the version the actor saw, bumps the version and appends a history entry in the
 * same single-document update, so no step is recorded without its effect.
 *
 * Exclusivity comes from a unique index, not from the update's filter: before updating, the change
 * claims `<collection>/<id>@<next version>` in `transitions` (the claimed id is unique). FerretDB
 * 1.24 does not isolate concurrent updates of one document (both could match `version: v`); a
 * unique insert it does enforce, on MongoDB too. So of two officers acting at once exactly one
 * succeeds and the other gets a conflict. No multi-document transaction is needed.
 */
import { MongoServerError, type Collection, type Document, type Filter, type UpdateFilter } from 'mongodb';
import type { HistoryEntry } from '../schema/index.ts';

export type HistoryInput = Omit<HistoryEntry, 'version' | 'at'>;

export const TRANSITIONS = 'transitions';

/** findOneAndUpdate results without MongoDB's `_id` (FerretDB 1.24 refuses a projection there). */
export function withoutId<T extends Document>(doc: T): Omit<T, '_id'> {
  const { _id: _ignored, ...rest } = doc;
  return rest;
}

export const DURABLE = { writeConcern: { w: 'majority' as const, journal: true } };

/** Applies `set` to the object at `version`; null when it changed meanwhile (or does not exist). */
export async function changeVersioned<T extends Document & { id: string; version: number }>(
  collection: Collection<T>,
  current: { readonly id: string; readonly version: number },
  set: Partial<T>,
  entry: HistoryInput,
  unset: readonly string[] = [],
): Promise<T | null> {
  try {
    await collection.db.collection<{ _id: string; at: Date }>(TRANSITIONS).insertOne(
      { _id: `${collection.collectionName}/${current.id}@${current.version + 1}`, at: new Date() },
      DURABLE,
    );
  } catch (error) {
    if (error instanceof MongoServerError && error.code === 11000) return null;
    throw error;
  }
  const history: HistoryEntry = { ...entry, at: new Date(), version: current.version + 1 };
  const update = {
    $set: set,
    $inc: { version: 1 },
    $push: { history },
    ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
  } as unknown as UpdateFilter<T>;
  const doc = await collection.findOneAndUpdate(
    { id: current.id, version: current.version } as Filter<T>,
    update,
    { returnDocument: 'after', ...DURABLE },
  );
  return doc ? (withoutId(doc) as unknown as T) : null;
}

export function historyEntry(entry: HistoryInput, version: number): HistoryEntry {
  return { ...entry, at: new Date(), version };
}
